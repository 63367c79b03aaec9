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

from PySide6.QtCore import QObject, Slot

from desktop_app.backends import registry
from desktop_app.backends.base import Handler
from desktop_app.core.jobs import Job, JobId
from desktop_app.engine.base import EngineBase
from desktop_app.engine.runner import TimedCancelToken, run_job


class SyncEngine(EngineBase):
    """Runs every job inline on the calling thread. Lives on (and is used from) the GUI thread."""

    def __init__(self, parent: QObject | None = None, *,
                 handler_for: Callable[[Job], Handler] = registry.handler_for,
                 memory_budget_bytes: int | None = None, num_threads: int | None = None,
                 coalesce_ms: int = 30) -> None:
        super().__init__(parent, handler_for=handler_for,
                         memory_budget_bytes=memory_budget_bytes, num_threads=num_threads)
        self._pending: deque[tuple[Job, TimedCancelToken]] = deque()
        self._running = False
        self.coalesce_ms = coalesce_ms  # accepted for API parity; nothing is coalesced

    def submit(self, job: Job, *, supersede: bool = False) -> JobId:
        token = self._admit(job, supersede)
        self._pending.append((job, token))
        self._update_busy()
        if not self._running:
            self._run_pending()
        return job.job_id

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
