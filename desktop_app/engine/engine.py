"""The inference engine: one long-lived worker QThread that runs jobs and reports events.

Design (docs/ARCHITECTURE.md, design.md §3): the GUI submits frozen jobs; one worker thread,
started on the first ``submit``, runs them in FIFO order and owns the loaded models; events
come back to the GUI thread through the :class:`EventOutbox` and a queued wake-up signal,
with streamed ``TokenChunk``s coalesced to at most one per ``coalesce_ms`` per stream.

Cancellation: every job has its own cancel token, kept here by job id and set directly from
the GUI thread. A job cancelled while queued is skipped by the worker (only ``Cancelled``); a
running one stops when its handler next checks the token. Handlers are cooperative (they
check at every step), which is what lets ``shutdown`` — and so closing the window mid-job —
finish within a second; a handler stuck in one long uninterruptible call delays it.
"""

from __future__ import annotations

import logging
import math
import queue
import sys
import time
from collections import deque
from typing import Callable

from PySide6.QtCore import QCoreApplication, QObject, Qt, QThread, QTimer, Slot

from desktop_app.backends import registry
from desktop_app.backends.base import Handler
from desktop_app.core.events import Event
from desktop_app.core.jobs import Job, JobId, WarmUpJob
from desktop_app.engine.base import EngineBase
from desktop_app.engine.coalescing import EventOutbox
from desktop_app.engine.worker import STOP, Worker

#: the GIL switch interval of a process whose engine runs (Python's default is 5 ms)
GIL_SWITCH_INTERVAL_S = 0.001

log = logging.getLogger(__name__)


class InferenceEngine(EngineBase):
    """Submits jobs to the worker thread and re-emits their events. Lives on the GUI thread.

    Every public method must be called on the GUI thread. ``event`` carries every
    ``core.events.Event``; ``busy_changed`` is True while any job is queued or running.
    """

    runs_in_background = True

    def __init__(self, parent: QObject | None = None, *,
                 handler_for: Callable[[Job], Handler] = registry.handler_for,
                 memory_budget_bytes: int | None = None, num_threads: int | None = None,
                 coalesce_ms: int = 30) -> None:
        # The model cache (in the base) is used only on the worker thread.
        super().__init__(parent, handler_for=handler_for,
                         memory_budget_bytes=memory_budget_bytes, num_threads=num_threads)
        self._outbox = EventOutbox(coalesce_ms / 1000.0)
        self._jobs: queue.SimpleQueue = queue.SimpleQueue()
        self._thread: QThread | None = None
        self._worker: Worker | None = None
        self._ready: deque[Event] = deque()
        self._delivering = False
        self._flush_timer = QTimer(self)
        self._flush_timer.setSingleShot(True)
        self._flush_timer.timeout.connect(self._on_wake)
        app = QCoreApplication.instance()
        if app is not None:
            app.aboutToQuit.connect(self.shutdown)

    # -- public API (GUI thread) ------------------------------------------------------------

    def submit(self, job: Job, *, supersede: bool = False) -> JobId:
        """Queue ``job``; with ``supersede``, first cancel unfinished jobs of its group."""
        token = self._admit(job, supersede)
        self._ensure_thread()
        self._jobs.put((job, token))
        self._update_busy()
        return job.job_id

    def set_num_threads(self, n: int | None) -> None:
        """Remember ``n`` for ``warm_up``; if the engine runs already, apply it now."""
        self._num_threads = n
        if self._thread is not None and not self._closed:
            self.submit(WarmUpJob(num_threads=n, compile_text=self._compile_text))

    def set_compile_text(self, on: bool) -> None:
        """Remember the switch; if the engine runs already, apply it now (next loads)."""
        self._compile_text = bool(on)
        if self._thread is not None and not self._closed:
            self.submit(WarmUpJob(num_threads=self._num_threads, compile_text=self._compile_text))

    @Slot()
    def shutdown(self, timeout_s: float = 5.0) -> None:
        """Cancel everything, stop the worker and wait for it (at most ``timeout_s``).

        Idempotent; safe when the worker was never started. The ``Cancelled`` events of the
        jobs it stopped are delivered before it returns.
        """
        if self._closed:
            return
        self._closed = True
        self.cancel_all()
        self._flush_timer.stop()
        thread = self._thread
        if thread is not None:
            self._jobs.put(STOP)
            thread.quit()
            t0 = time.perf_counter()
            if thread.wait(max(1, int(timeout_s * 1000))):
                log.debug("engine stopped in %.3f s", time.perf_counter() - t0)
                self._thread = self._worker = None
            else:  # keep the objects alive: destroying a running QThread aborts the process
                log.error("the engine's worker did not stop within %.1f s "
                          "(a job does not check its cancel token)", timeout_s)
        self._flush(force=True)

    # -- plumbing ---------------------------------------------------------------------------

    def _ensure_thread(self) -> None:
        if self._thread is not None:
            return
        # A thread waiting for the GIL gets it after the switch interval; the GUI thread takes
        # and drops it many times per event, each wait up to one interval while the worker
        # runs Python (a model load). Measured in the Write room loading SmolLM2: largest GUI
        # gap 42-43 ms at 1 ms against 59-76 ms at Python's default 5 ms, tokens/s unchanged.
        sys.setswitchinterval(min(sys.getswitchinterval(), GIL_SWITCH_INTERVAL_S))
        thread = QThread()
        thread.setObjectName("reverie-engine")
        worker = Worker(self._jobs, self._outbox, self._handler_for, self._models)
        worker.moveToThread(thread)
        worker.wake.connect(self._on_wake, Qt.ConnectionType.QueuedConnection)
        thread.started.connect(worker.run)
        self._thread, self._worker = thread, worker
        thread.start()

    @Slot()
    def _on_wake(self) -> None:
        self._flush(force=False)

    def _flush(self, *, force: bool) -> None:
        """Take the events that may go out now and emit them in order (re-entrancy safe)."""
        events, retry_in = self._outbox.take_ready(time.perf_counter(), force=force)
        self._ready.extend(events)
        if retry_in is not None:
            self._flush_timer.start(max(1, math.ceil(retry_in * 1000)))
        if self._delivering:  # a slot called back into us: the outer loop delivers these
            return
        self._delivering = True
        try:
            while self._ready:
                self._deliver(self._ready.popleft())
        finally:
            self._delivering = False
