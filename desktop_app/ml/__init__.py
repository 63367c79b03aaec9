"""Torch models, loaders, generation loops and training. Imported only in the engine worker."""
