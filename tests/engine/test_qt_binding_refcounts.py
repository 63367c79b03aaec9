"""Guard against a broken Qt binding: the engine emits a signal for every event it delivers.

PySide6 6.12.0 on Python 3.11 drops one reference to ``True`` on every ``Signal.emit`` and one
to ``None`` on every call of a void method (``QTimer.start``, ``processEvents``...), so an app
aborts with "Fatal Python error: deallocating None/True" after a few thousand events.
PySide6 6.11.3 does not. This test fails on such a binding instead of the app crashing later.
"""

from __future__ import annotations

import sys

from PySide6.QtCore import QObject, QTimer, Signal, Slot


class _Emitter(QObject):
    fired = Signal(object)

    def __init__(self) -> None:
        super().__init__()
        self.count = 0
        self.fired.connect(self._on_fired)

    @Slot(object)
    def _on_fired(self, _value) -> None:
        self.count += 1


def test_signal_emit_and_void_calls_keep_reference_counts(qapp):
    emitter, timer = _Emitter(), QTimer()
    before = sys.getrefcount(True), sys.getrefcount(None)
    for i in range(200):
        emitter.fired.emit(i)
        timer.start(1000)
    timer.stop()
    after = sys.getrefcount(True), sys.getrefcount(None)
    assert emitter.count == 200
    # A few references may come and go with the interpreter's own work; 200 may not.
    assert after[0] - before[0] > -50, f"Signal.emit leaks references to True: {before} -> {after}"
    assert after[1] - before[1] > -50, f"void Qt calls leak references to None: {before} -> {after}"
