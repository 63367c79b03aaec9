"""Shared widgets (randomness controls, ...)."""
