"""Face recognition embedders: a registry of named models, batching, caching, datasets."""
