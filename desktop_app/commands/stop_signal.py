"""Ctrl+C / SIGTERM handling shared by the ``reverie train …`` commands.

The first signal asks the training loop to stop after the current step, saving a checkpoint
(the Train room's Pause sends SIGINT for exactly this); a second one interrupts at once.
The loop polls ``stop.cancelled``, so this object is the run's cancel token.
"""

from __future__ import annotations

import signal
import sys


class StopOnSignal:
    """Context manager installing the handlers for SIGINT and SIGTERM; restores them on exit."""

    SIGNALS = (signal.SIGINT, signal.SIGTERM)

    def __init__(self) -> None:
        self.cancelled = False
        self._previous: dict = {}

    def handler(self, signum, frame) -> None:  # noqa: ARG002 - signal API
        if self.cancelled:
            raise KeyboardInterrupt
        self.cancelled = True
        print("reverie: stopping after this step (saving a checkpoint)...", file=sys.stderr,
              flush=True)

    def __enter__(self) -> "StopOnSignal":
        self._previous = {s: signal.signal(s, self.handler) for s in self.SIGNALS}
        return self

    def __exit__(self, *exc) -> None:
        for sig, previous in self._previous.items():
            signal.signal(sig, previous)
