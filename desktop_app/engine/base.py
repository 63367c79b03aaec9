"""What the threaded and the synchronous engine share: signals, cancel tokens, busy state.

:class:`EngineBase` keeps one cancel token per unfinished job (by job id) and its supersede
group, answers ``cancel`` / ``cancel_all`` / ``is_busy``, and delivers events to the GUI
(dropping the bookkeeping of a job when its terminal event goes out). How a job is actually
run — on a worker thread or inline — is the subclass's business. Lives on the GUI thread.
"""

from __future__ import annotations

from typing import Callable

from PySide6.QtCore import QObject, Signal

from desktop_app.backends import registry
from desktop_app.backends.base import Handler
from desktop_app.core.events import TERMINAL_EVENTS, Event
from desktop_app.core.jobs import Job, JobId, WarmUpJob
from desktop_app.engine.model_cache import ModelCache
from desktop_app.engine.runner import TimedCancelToken


class EngineBase(QObject):
    """The engine API minus the running of jobs. Every method is called on the GUI thread."""

    event = Signal(object)
    busy_changed = Signal(bool)
    #: Whether ``submit`` returns at once and the job runs on a worker thread. False for
    #: :class:`SyncEngine`, where a job runs inside ``submit``: rooms then skip work that is
    #: only worth doing "in the background" (preloading a model), which would block the GUI.
    runs_in_background: bool = False

    def __init__(self, parent: QObject | None = None, *,
                 handler_for: Callable[[Job], Handler] = registry.handler_for,
                 memory_budget_bytes: int | None = None,
                 num_threads: int | None = None) -> None:
        super().__init__(parent)
        self._handler_for = handler_for
        self._models = ModelCache(memory_budget_bytes)
        self._num_threads = num_threads
        self._tokens: dict[JobId, TimedCancelToken] = {}  # unfinished jobs
        self._groups: dict[JobId, str] = {}
        self._busy = False
        self._closed = False

    def _admit(self, job: Job, supersede: bool) -> TimedCancelToken:
        """Check ``job`` may be submitted, supersede its group if asked, and give it a token."""
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
        return token

    def cancel(self, job_id: JobId) -> None:
        """Set ``job_id``'s cancel token (queued or running); unknown or finished ids are ignored."""
        token = self._tokens.get(job_id)
        if token is not None:
            token.cancel()

    def cancel_all(self) -> None:
        for token in list(self._tokens.values()):
            token.cancel()

    def warm_up(self) -> JobId:
        """Import torch on the worker and set its thread count (``WarmUpJob``)."""
        return self.submit(WarmUpJob(num_threads=self._num_threads))

    def submit(self, job: Job, *, supersede: bool = False) -> JobId:  # pragma: no cover
        raise NotImplementedError

    def is_busy(self) -> bool:
        return bool(self._tokens)

    @property
    def num_threads(self) -> int | None:
        """Torch threads the next ``warm_up`` sets (None: all cores but one)."""
        return self._num_threads

    def set_num_threads(self, n: int | None) -> None:
        self._num_threads = n

    @property
    def memory_budget_bytes(self) -> int:
        return self._models.budget_bytes

    def set_memory_budget(self, n_bytes: int) -> None:
        """Change the model cache's budget; it applies at the next model load."""
        self._models.budget_bytes = int(n_bytes)

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
