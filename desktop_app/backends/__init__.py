"""Job handlers the engine runs on its worker thread.

A handler is ``handler(job, ctx) -> result``: it does the work for one job type, streams
events through ``ctx.emit``, reports progress with ``ctx.progress``, checks
``ctx.token`` at every step, and returns the result that becomes ``Finished.result``.
Torch-based handlers import torch lazily, inside the worker, never at module import time.
"""
