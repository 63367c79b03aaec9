"""Whether a loaded model is in use right now, so that background work can wait for quiet.

A generation or the inspector's forward pass holds :meth:`ModelUse.using` while it runs (on
the engine's worker); the background build and load of a text model's compiled decode step
(``ml/text/compiled.py``) call :meth:`ModelUse.wait_idle` first, so that neither runs beside
text that streams: the building child process takes a core (the first generation after a
load ran at 16 tokens/s beside it instead of 23).
"""

from __future__ import annotations

import contextlib
import threading
import time


class ModelUse:
    """Whether a loaded model is in use (a generation, the inspector's forward pass), from any
    thread: background work that would slow it (the decode step's compile) waits for a quiet
    moment with :meth:`wait_idle`."""

    def __init__(self) -> None:
        self._count = 0
        self._last_end = time.monotonic()  # a load counts as use: quiet is measured from it
        self._changed = threading.Condition()

    @contextlib.contextmanager
    def using(self):
        """Held for the length of one use."""
        with self._changed:
            self._count += 1
        try:
            yield
        finally:
            with self._changed:
                self._count -= 1
                self._last_end = time.monotonic()
                self._changed.notify_all()

    def wait_idle(self, quiet_s: float = 0.0) -> None:
        """Block until nothing has used the model for ``quiet_s`` seconds."""
        with self._changed:
            while True:
                self._changed.wait_for(lambda: self._count == 0)
                left = self._last_end + quiet_s - time.monotonic()
                if left <= 0:
                    return
                self._changed.wait(left)  # a new use wakes it early; the loop looks again
