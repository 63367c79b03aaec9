"""A synchronous engine with the InferenceEngine API, for fast UI tests (no thread at all).

``submit`` runs the job inline and emits its events synchronously, in order, before it
returns (no coalescing: every ``TokenChunk`` is emitted as the handler produced it). A job
submitted from inside an event slot while another runs is queued and run right after it, so
FIFO order holds as in the threaded engine; ``cancel`` from a slot stops the running job at
its next token check. Picard's fake thread pool is the model for this.
"""

from __future__ import annotations

from collections import deque
from typing import Callable

from PySide6.QtCore import QObject, Signal, Slot

from desktop_app.backends import registry
from desktop_app.backends.base import Handler
from desktop_app.core.events import TERMINAL_EVENTS, Event
from desktop_app.core.jobs import Job, JobId, WarmUpJob
from desktop_app.engine.model_cache import ModelCache
from desktop_app.engine.runner import TimedCancelToken, run_job


class SyncEngine(QObject):
    """Runs every job inline on the calling thread. Lives on (and is used from) the GUI thread."""

    event = Signal(object)
    busy_changed = Signal(bool)

    def __init__(self, parent: QObject | None = None, *,
                 handler_for: Callable[[Job], Handler] = registry.handler_for,
                 memory_budget_bytes: int | None = None, num_threads: int | None = None,
                 coalesce_ms: int = 30) -> None:
        super().__init__(parent)
        self._handler_for = handler_for
        self._models = ModelCache(memory_budget_bytes)
        self._num_threads = num_threads
        self._tokens: dict[JobId, TimedCancelToken] = {}
        self._groups: dict[JobId, str] = {}
        self._pending: deque[tuple[Job, TimedCancelToken]] = deque()
        self._running = False
        self._busy = False
        self._closed = False
        self.coalesce_ms = coalesce_ms  # accepted for API parity; nothing is coalesced

    def submit(self, job: Job, *, supersede: bool = False) -> JobId:
        if self._closed:
            raise RuntimeError("the inference engine has been shut down")
        if job.job_id in self._tokens:
            raise ValueError(f"job {job.job_id} is already submitted")
        if supersede and job.supersede_group:
            for jid, group in list(self._groups.items()):
                if group == job.supersede_group:
                    self.cancel(jid)
        token = TimedCancelToken()
        self._tokens[job.job_id] = token
        self._groups[job.job_id] = job.supersede_group
        self._pending.append((job, token))
        self._update_busy()
        if not self._running:
            self._run_pending()
        return job.job_id

    def cancel(self, job_id: JobId) -> None:
        token = self._tokens.get(job_id)
        if token is not None:
            token.cancel()

    def cancel_all(self) -> None:
        for token in list(self._tokens.values()):
            token.cancel()

    def warm_up(self) -> JobId:
        return self.submit(WarmUpJob(num_threads=self._num_threads))

    def is_busy(self) -> bool:
        return bool(self._tokens)

    @property
    def num_threads(self) -> int | None:
        return self._num_threads

    def set_num_threads(self, n: int | None) -> None:
        self._num_threads = n

    @property
    def memory_budget_bytes(self) -> int:
        return self._models.budget_bytes

    def set_memory_budget(self, n_bytes: int) -> None:
        self._models.budget_bytes = int(n_bytes)

    @Slot()
    def shutdown(self, timeout_s: float = 5.0) -> None:
        """Cancel whatever is pending or running; idempotent. ``timeout_s`` is for parity."""
        if self._closed:
            return
        self._closed = True
        self.cancel_all()
        if not self._running:
            self._run_pending()  # deliver Cancelled for anything queued from a slot
            self._models.clear()

    def _run_pending(self) -> None:
        self._running = True
        try:
            while self._pending:
                job, token = self._pending.popleft()
                run_job(job, token, self._handler_for, self._models, self._deliver)
        finally:
            self._running = False

    def _deliver(self, event: Event) -> None:
        terminal = isinstance(event, TERMINAL_EVENTS)
        if terminal:
            self._tokens.pop(event.job_id, None)
            self._groups.pop(event.job_id, None)
        self.event.emit(event)
        if terminal:
            self._update_busy()

    def _update_busy(self) -> None:
        busy = bool(self._tokens)
        if busy != self._busy:
            self._busy = busy
            self.busy_changed.emit(busy)
