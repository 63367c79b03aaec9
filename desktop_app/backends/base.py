"""The contract between the engine and the job handlers (no Qt, no torch).

Handlers run on the engine's worker thread. They never touch widgets; they talk back only
through the :class:`JobContext` they are given.
"""

from __future__ import annotations

from typing import Any, Callable, Protocol

from desktop_app.core.events import Event
from desktop_app.core.jobs import CancelToken, Job


class ModelCache(Protocol):
    """Models kept loaded in the worker, evicted least-recently-used past a memory budget."""

    def get(self, key: str, loader: Callable[[Callable[[float, str], None]], Any],
            size_bytes: Callable[[Any], int] | None = None) -> Any:
        """Return the cached model for ``key``, or call ``loader(progress)`` to load it.

        ``progress(fraction, message)`` reports loading progress as ``Progress`` events.
        """
        ...

    def evict(self, key: str) -> None: ...


class JobContext(Protocol):
    token: CancelToken
    models: ModelCache

    def emit(self, event: Event) -> None:
        """Send an event to the GUI thread (``TokenChunk`` events are coalesced)."""
        ...

    def progress(self, fraction: float | None, message: str = "",
                 rate: tuple[float, str] | None = None) -> None: ...


Handler = Callable[[Job, JobContext], Any]
