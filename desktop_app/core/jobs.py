"""Frozen job requests that cross from the GUI thread to the engine's worker thread.

A job holds everything its work needs, captured on the GUI thread when it is made. Nothing in a
job is mutated after construction; numpy arrays inside a job are owned by it and must not be
written to by the submitter afterwards.

Each job has a unique ``job_id`` (assigned at construction) and, once submitted, its own
:class:`CancelToken`. A Stop pressed while the job is still queued sets that token, so the
worker skips the job when it reaches it (unlike a shared stop flag, which loses such a press).

``supersede_group``: jobs with the same non-empty group replace each other when submitted
with ``supersede=True`` (latest request wins, e.g. a latent slider being dragged).
"""

from __future__ import annotations

import itertools
import threading
from dataclasses import dataclass, field
from typing import ClassVar

JobId = int

_job_ids = itertools.count(1)
_job_ids_lock = threading.Lock()


def new_job_id() -> JobId:
    """Return a process-wide unique, increasing job id (thread-safe)."""
    with _job_ids_lock:
        return next(_job_ids)


class JobCancelled(Exception):
    """Raised inside work when its cancel token is set; the engine turns it into ``Cancelled``."""


class CancelToken:
    """Per-job cancellation flag. Set from any thread; checked by the worker at every step.

    Lives on no particular thread: it wraps a :class:`threading.Event`. Work that blocks
    outside Python's control (a socket read from a remote server) registers a callback with
    :meth:`on_cancel` that unblocks it; callbacks run on the thread that calls :meth:`cancel`
    (usually the GUI thread), so they must be quick and must not touch widgets.
    """

    __slots__ = ("_event", "_lock", "_callbacks")

    def __init__(self) -> None:
        self._event = threading.Event()
        self._lock = threading.Lock()
        self._callbacks: list = []

    def cancel(self) -> None:
        with self._lock:
            self._event.set()
            callbacks, self._callbacks = self._callbacks, []
        for callback in callbacks:
            callback()

    def on_cancel(self, callback):
        """Call ``callback()`` once when the token is cancelled (at once if it already is).
        Returns a function that unregisters it (harmless to call twice)."""
        with self._lock:
            if not self._event.is_set():
                self._callbacks.append(callback)
                registered = True
            else:
                registered = False
        if not registered:
            callback()

        def remove() -> None:
            with self._lock:
                if callback in self._callbacks:
                    self._callbacks.remove(callback)
        return remove

    @property
    def cancelled(self) -> bool:
        return self._event.is_set()

    def raise_if_cancelled(self) -> None:
        if self._event.is_set():
            raise JobCancelled()

    def wait(self, timeout: float | None = None) -> bool:
        """Block until cancelled or ``timeout`` passes; return whether it was cancelled."""
        return self._event.wait(timeout)


@dataclass(frozen=True)
class Job:
    """Base of every job. Subclasses are frozen dataclasses with keyword fields."""

    job_id: JobId = field(default_factory=new_job_id, kw_only=True)
    supersede_group: ClassVar[str] = ""
    #: Short human label for the status bar ("Generating text", "Decoding image").
    label: ClassVar[str] = "Working"


@dataclass(frozen=True)
class LoadModelJob(Job):
    """Load (or fetch from the cache) the model in ``model_dir``; reports progress."""

    model_dir: str
    kind: str  # "text" | "image" | "music"
    precision: str = "auto"
    label: ClassVar[str] = "Loading model"


@dataclass(frozen=True, kw_only=True)
class WarmUpJob(Job):
    """Import torch in the worker and set its thread count, once, right after the window shows.

    ``num_threads`` None means "all cores but one", so one core stays free for the GUI.
    """

    num_threads: int | None = None
    label: ClassVar[str] = "Starting the engine (loading torch)"
