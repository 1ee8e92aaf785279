"""Dataset generation: contexts -> negatives -> sampler loop -> PNGs + manifest, resumable."""
