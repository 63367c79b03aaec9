"""The inference engine: the only package that knows about threads.

``InferenceEngine`` (one worker QThread) and ``SyncEngine`` (inline, for UI tests) share one
API; see docs/ARCHITECTURE.md and engine.py's docstring.
"""
