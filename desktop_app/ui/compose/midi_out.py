"""Optional MIDI output: send the melody to a MIDI port (a hardware synth, a DAW listening).

Lives on the GUI thread: a 5 ms ``QTimer`` sends each note_on / note_off when its time comes
(timed with ``QElapsedTimer``), so no thread is needed. Only offered when mido has a working
backend (python-rtmidi): :func:`output_names` returns [] otherwise and the room hides the
port menu. ``open_port`` is injectable for tests.
"""

from __future__ import annotations

import logging

from PySide6.QtCore import QElapsedTimer, QObject, QTimer, Signal

from desktop_app.core.melody import Melody

log = logging.getLogger(__name__)


def output_names() -> list[str]:
    """MIDI output ports, or [] when no backend (python-rtmidi) is installed or it fails."""
    try:
        import mido
        return list(mido.get_output_names())
    except Exception as exc:  # noqa: BLE001 - ImportError, backend errors: no MIDI out
        log.info("MIDI out unavailable: %s", exc)
        return []


def _open(name: str):
    import mido
    return mido.open_output(name)


def schedule(melody: Melody, program: int = 0, channel: int = 0) -> list[tuple[float, object]]:
    """(seconds, mido message) pairs in time order: program change, then offs before ons."""
    import mido
    spq = 60.0 / melody.tempo
    events = [(0.0, 0, mido.Message("program_change", channel=channel, program=program))]
    for n in melody.notes:
        events.append((n.start * spq, 2, mido.Message("note_on", channel=channel, note=n.pitch,
                                                      velocity=n.velocity)))
        events.append((n.end * spq, 1, mido.Message("note_off", channel=channel, note=n.pitch)))
    events.sort(key=lambda e: (e[0], e[1]))
    return [(t, msg) for t, _, msg in events]


class MidiOutPlayer(QObject):
    """Plays a melody on a MIDI output port; GUI thread."""

    playing_changed = Signal(bool)
    error = Signal(str)

    def __init__(self, parent: QObject | None = None, *, open_port=_open) -> None:
        super().__init__(parent)
        self._open_port = open_port
        self._port = None
        self._events: list[tuple[float, object]] = []
        self._next = 0
        self._clock = QElapsedTimer()
        self._timer = QTimer(self, interval=5, timeout=self.tick)

    def is_playing(self) -> bool:
        return self._port is not None

    def play(self, melody: Melody, port_name: str, *, program: int = 0) -> bool:
        self.stop()
        try:
            self._port = self._open_port(port_name)
        except Exception as exc:  # noqa: BLE001 - any backend error is one message
            self.error.emit(f"Could not open the MIDI output “{port_name}”: {exc}")
            return False
        self._events, self._next = schedule(melody, program), 0
        self._clock.start()
        self._timer.start()
        self.tick()
        self.playing_changed.emit(True)
        return True

    def tick(self, now_s: float | None = None) -> None:
        """Send every event that is due (``now_s`` overrides the clock, for tests)."""
        if self._port is None:
            return
        now = self._clock.elapsed() / 1000.0 if now_s is None else now_s
        try:
            while self._next < len(self._events) and self._events[self._next][0] <= now:
                self._port.send(self._events[self._next][1])
                self._next += 1
        except Exception as exc:  # noqa: BLE001 - the port vanished mid-playback
            self._close()
            self.error.emit(f"The MIDI output stopped working ({exc}); your melody is unchanged.")
            return
        if self._next >= len(self._events):
            self.stop()

    def stop(self) -> None:
        if self._port is None:
            return
        try:
            import mido
            for ch in (0,):
                self._port.send(mido.Message("control_change", channel=ch, control=123,
                                             value=0))  # all notes off
        except Exception:  # noqa: BLE001 - closing anyway
            pass
        self._close()

    def _close(self) -> None:
        self._timer.stop()
        port, self._port = self._port, None
        try:
            port.close()
        except Exception:  # noqa: BLE001
            pass
        self.playing_changed.emit(False)
