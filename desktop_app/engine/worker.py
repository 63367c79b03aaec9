"""The engine's worker: a loop that runs queued jobs one at a time on the worker QThread.

Only :class:`~desktop_app.engine.engine.InferenceEngine` creates a worker. The engine puts
``(job, token)`` pairs (or :data:`STOP`) on a ``queue.SimpleQueue``; the worker posts every
event into the engine's :class:`~desktop_app.engine.coalescing.EventOutbox` and emits ``wake``
(a queued signal to the GUI thread) only when the outbox asks for it.
"""

from __future__ import annotations

import logging
import queue
import traceback
from typing import Callable

from PySide6.QtCore import QCoreApplication, QObject, QThread, Signal, Slot

from desktop_app.backends.base import Handler
from desktop_app.core.events import Event, Failed
from desktop_app.core.jobs import Job
from desktop_app.engine.coalescing import EventOutbox
from desktop_app.engine.model_cache import ModelCache
from desktop_app.engine.runner import run_job

log = logging.getLogger(__name__)

#: Put on the job queue to end the worker's loop.
STOP = object()


class Worker(QObject):
    """Runs jobs in FIFO order. Lives on the engine's worker thread (moved there before start).

    ``run`` is connected to ``QThread.started`` and loops until it takes :data:`STOP`; then
    the worker frees the models it loaded (on the thread that loaded them) and moves itself
    back to the application's main (GUI) thread, so it can be deleted there safely.
    """

    wake = Signal()

    def __init__(self, jobs: queue.SimpleQueue, outbox: EventOutbox,
                 handler_for: Callable[[Job], Handler], models: ModelCache) -> None:
        super().__init__()
        self._jobs = jobs
        self._outbox = outbox
        self._handler_for = handler_for
        self._models = models

    @Slot()
    def run(self) -> None:
        while (item := self._jobs.get()) is not STOP:
            job, token = item
            try:
                run_job(job, token, self._handler_for, self._models, self._post)
            except Exception as exc:  # a bug in the engine itself: keep the thread alive
                log.exception("engine error while running job %s", job.job_id)
                self._post(Failed(job.job_id, message=f"Internal engine error: {exc!r}",
                                  detail=traceback.format_exc()))
        self._models.clear()
        self.moveToThread(QCoreApplication.instance().thread())
        QThread.currentThread().quit()  # exec() returns at once once run() is done

    def _post(self, event: Event) -> None:
        if self._outbox.post(event):
            self.wake.emit()
