"""Face datasets on disk: layouts, RecordIO, manifests, image IO, subsets and alignment."""
