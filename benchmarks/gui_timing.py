"""GUI-thread timing helpers shared by the benchmarks that drive a real Qt event loop.

``wait_for`` runs the event loop until a condition holds (no busy polling, no sleeps);
``TickGaps`` measures how regularly the GUI thread gets to run while work goes on.
"""

from __future__ import annotations

import os
import time

from PySide6.QtCore import QEventLoop, Qt, QTimer


def wait_for(predicate, timeout_s: float = 120.0,
             message: str = "the engine did not answer in time") -> None:
    """Run the GUI event loop until ``predicate()`` holds (polled every 5 ms).

    A QEventLoop rather than ``QApplication.processEvents()`` in a Python loop: PySide6 6.12
    drops a reference to None on every call of a void static such as processEvents()."""
    deadline = time.perf_counter() + timeout_s
    loop = QEventLoop()
    poll = QTimer()
    poll.setInterval(5)
    poll.timeout.connect(lambda: (predicate() or time.perf_counter() > deadline) and loop.quit())
    if not predicate():
        poll.start()
        loop.exec()
        poll.stop()
    if not predicate():
        raise TimeoutError(message)


class TickGaps:
    """A 10 ms precise QTimer on the GUI thread; ``stop()`` returns the gaps between its
    ticks in ms (10 when the GUI thread is free, more when something blocks it).

    On Linux it also reads the GUI thread's run-queue delay at each tick (schedstat: time it
    was ready to run but had no CPU), so :meth:`blocked` can tell a gap caused inside the
    process (the GIL, the thread's own work) from one a loaded machine's scheduler caused."""

    def __init__(self) -> None:
        self.ticks: list[float] = []
        self.queued: list[int] = []  # run-queue delay in ns at each tick (Linux)
        self.timer = QTimer()
        self.timer.setTimerType(Qt.TimerType.PreciseTimer)
        self.timer.setInterval(10)
        self.timer.timeout.connect(self._tick)
        self._fd: int | None = None

    def _tick(self) -> None:
        self.ticks.append(time.perf_counter())
        if self._fd is not None:
            self.queued.append(int(os.pread(self._fd, 128, 0).split()[1]))

    def start(self) -> None:
        self.ticks.clear()
        self.queued.clear()
        try:
            self._fd = os.open("/proc/thread-self/schedstat", os.O_RDONLY)
        except OSError:
            self._fd = None
        self.timer.start()

    def blocked(self) -> list[float] | None:
        """Each gap less the time the GUI thread waited for a CPU (ms); None off Linux."""
        if len(self.queued) != len(self.ticks):
            return None
        return [(b - a) * 1000 - (qb - qa) / 1e6 for a, b, qa, qb in
                zip(self.ticks, self.ticks[1:], self.queued, self.queued[1:])]

    def stop(self) -> list[float]:
        self.timer.stop()
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None
        return [(b - a) * 1000 for a, b in zip(self.ticks, self.ticks[1:])]
