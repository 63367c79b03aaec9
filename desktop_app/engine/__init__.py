"""The inference engine: the only package that knows about threads."""
