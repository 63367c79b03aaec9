"""Running one job: the life cycle of events around a handler call (no Qt, no threads).

Shared by the threaded :class:`~desktop_app.engine.engine.InferenceEngine` (called on its
worker thread) and the inline :class:`~desktop_app.engine.sync_engine.SyncEngine`.

For each job: ``Started`` → whatever the handler emits → exactly one of ``Finished`` /
``Failed`` / ``Cancelled``; a job whose token was set before it started gets only
``Cancelled``. A handler raising :class:`ReverieError` gives ``Failed(message=str(exc))``;
any other exception gives ``Failed("<ExcType>: <msg>", detail=traceback)`` — unless the
token was set by then: whatever a cancelled job raises ends it ``Cancelled``. Nothing a
handler raises escapes, so the worker thread lives on.
"""

from __future__ import annotations

import logging
import time
import traceback
from typing import Any, Callable

from desktop_app.backends.base import Handler
from desktop_app.core.errors import ReverieError
from desktop_app.core.events import Cancelled, Event, Failed, Finished, Progress, Started
from desktop_app.core.jobs import CancelToken, Job, JobCancelled
from desktop_app.engine.model_cache import BoundModelCache, ModelCache

log = logging.getLogger(__name__)


class TimedCancelToken(CancelToken):
    """A cancel token that remembers when it was first cancelled (for ``Cancelled.latency_s``).

    Set from the GUI thread, read on the worker thread; the timestamp is written before the
    underlying ``threading.Event`` is set, so whoever sees the flag also sees the time.
    """

    __slots__ = ("cancelled_at",)

    def __init__(self) -> None:
        super().__init__()
        self.cancelled_at: float | None = None

    def cancel(self) -> None:
        if self.cancelled_at is None:
            self.cancelled_at = time.perf_counter()
        super().cancel()

    def latency_s(self) -> float | None:
        """Seconds since the first cancel request, or None if it was never cancelled."""
        return None if self.cancelled_at is None else time.perf_counter() - self.cancelled_at


class Context:
    """The ``backends.base.JobContext`` handed to a handler; used on the thread running it."""

    def __init__(self, job: Job, token: CancelToken, models: ModelCache,
                 emit: Callable[[Event], None]) -> None:
        self.job = job
        self.token = token
        self._emit = emit

        def loading(fraction: float, message: str) -> None:  # no reference to self: no cycle
            emit(Progress(job.job_id, fraction=fraction, message=message))

        self.models = BoundModelCache(models, loading)

    def emit(self, event: Event) -> None:
        self._emit(event)

    def progress(self, fraction: float | None, message: str = "",
                 rate: tuple[float, str] | None = None) -> None:
        self._emit(Progress(self.job.job_id, fraction=fraction, message=message, rate=rate))


def failure_message(exc: BaseException) -> str:
    """One readable line: a ReverieError's own message, else ``"<ExcType>: <msg>"``."""
    if isinstance(exc, ReverieError):
        return str(exc) or type(exc).__name__
    text = str(exc)
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


def _latency(token: CancelToken) -> float | None:
    return token.latency_s() if isinstance(token, TimedCancelToken) else None


def run_job(job: Job, token: CancelToken, handler_for: Callable[[Job], Handler],
            models: ModelCache, emit: Callable[[Event], None]) -> None:
    """Run ``job`` on the calling thread, reporting its whole life cycle through ``emit``.

    If the token is set by the time the handler returns, the result is dropped and the job
    ends ``Cancelled`` (latest-wins callers must never see a superseded result).
    """
    jid = job.job_id
    if token.cancelled:
        emit(Cancelled(jid, latency_s=_latency(token)))
        return
    emit(Started(jid, label=job.label))
    t0 = time.perf_counter()
    try:
        handler = handler_for(job)
        result: Any = handler(job, Context(job, token, models, emit))
    except Exception as exc:  # every failure becomes an event; the thread lives on
        if isinstance(exc, JobCancelled) or token.cancelled:
            emit(Cancelled(jid, latency_s=_latency(token)))
        else:
            emit(_failed(job, exc))
        return
    if token.cancelled:
        emit(Cancelled(jid, latency_s=_latency(token)))
    else:
        emit(Finished(jid, result=result, elapsed_s=time.perf_counter() - t0))


def _failed(job: Job, exc: Exception) -> Failed:
    if isinstance(exc, ReverieError):
        detail = ""
        log.info("job %s (%s) failed: %s", job.job_id, type(job).__name__, exc)
    else:
        detail = traceback.format_exc()
        log.error("job %s (%s) crashed:\n%s", job.job_id, type(job).__name__, detail)
    return Failed(job.job_id, message=failure_message(exc), detail=detail)
