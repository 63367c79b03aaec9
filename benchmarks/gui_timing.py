"""GUI-thread timing helpers shared by the benchmarks that drive a real Qt event loop.

``wait_for`` runs the event loop until a condition holds (no busy polling, no sleeps);
``TickGaps`` measures how regularly the GUI thread gets to run while work goes on.
"""

from __future__ import annotations

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
    ticks in ms (10 when the GUI thread is free, more when something blocks it)."""

    def __init__(self) -> None:
        self.ticks: list[float] = []
        self.timer = QTimer()
        self.timer.setTimerType(Qt.TimerType.PreciseTimer)
        self.timer.setInterval(10)
        self.timer.timeout.connect(lambda: self.ticks.append(time.perf_counter()))

    def start(self) -> None:
        self.ticks.clear()
        self.timer.start()

    def stop(self) -> list[float]:
        self.timer.stop()
        return [(b - a) * 1000 for a, b in zip(self.ticks, self.ticks[1:])]
