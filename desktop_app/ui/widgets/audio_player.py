"""Audio preview of a melody: the built-in synth's buffer played through QtMultimedia.

Lives on the GUI thread (``QAudioSink`` runs its own audio thread inside Qt). Push mode: a
15 ms timer writes as much PCM as the sink will take, wrapping round when looping, and reports
the playhead in quarter notes from the sink's processed time. Where the machine has no audio
output (the offscreen platform, a server, a muted container) :meth:`AudioPlayer.output_available`
is False and the room says so; export still works. If the output device disappears or fails
mid-playback, playback stops with one readable message and nothing else changes.

``sink_factory``, ``default_device`` and ``list_outputs`` are injectable so the playback logic is testable on
machines without sound.
"""

from __future__ import annotations

import logging

import numpy as np
from PySide6.QtCore import QObject, QTimer, Signal
from PySide6.QtMultimedia import QAudio, QAudioFormat, QAudioSink, QMediaDevices

from desktop_app.core import synth
from desktop_app.core.errors import ReverieError
from desktop_app.core.melody import Melody

log = logging.getLogger(__name__)

NO_OUTPUT = ("No audio output was found on this computer, so the preview cannot play; "
             "you can still export the melody as .mid or .wav.")
FEED_MS = 15


def _default_device():
    device = QMediaDevices.defaultAudioOutput()
    return None if device.isNull() else device


class AudioPlayer(QObject):
    """Plays one melody at a time; GUI thread."""

    #: Playhead position in quarter notes, or None when playback stops.
    position_changed = Signal(object)
    #: True while playing.
    playing_changed = Signal(bool)
    #: A readable sentence when playback cannot start or stops on an error.
    error = Signal(str)
    #: The system's audio outputs changed (one plugged in or removed).
    outputs_changed = Signal()

    def __init__(self, parent: QObject | None = None, *, sink_factory=None,
                 default_device=_default_device, list_outputs=None) -> None:
        super().__init__(parent)
        self._sink_factory = sink_factory or (lambda device, fmt, parent:
                                              QAudioSink(device, fmt, parent))
        self._default_device = default_device
        self._list_outputs = list_outputs or QMediaDevices.audioOutputs
        self._devices = QMediaDevices(self)
        self._devices.audioOutputsChanged.connect(self._on_outputs_changed)
        self._sink = None
        self._io = None
        self._device = None
        self._pcm = b""
        self._written = 0
        self._loop = False
        self._frame_bytes = 2
        self._rate = synth.DEFAULT_RATE
        self._seconds_per_quarter = 0.5
        self._body_seconds = 0.0
        self._start_s = 0.0
        self._timer = QTimer(self, interval=FEED_MS, timeout=self._tick)

    # -- state -----------------------------------------------------------------------------

    def output_available(self) -> bool:
        return self._default_device() is not None

    def is_playing(self) -> bool:
        return self._sink is not None

    def set_loop(self, loop: bool) -> None:
        """Change looping while playing (takes effect when the written data runs out)."""
        self._loop = bool(loop)

    # -- play / stop -----------------------------------------------------------------------

    def play(self, melody: Melody, *, program: int = 0, metronome: bool = False,
             loop: bool = False, start_quarters: float = 0.0) -> bool:
        """Play ``melody`` from ``start_quarters``; False (and ``error``) if it cannot."""
        self.stop()
        device = self._default_device()
        if device is None:
            self.error.emit(NO_OUTPUT)
            return False
        fmt, channels = self._format(device)
        try:
            buf = synth.render(melody, sample_rate=fmt.sampleRate(), program=program,
                               metronome=metronome, tail=not loop)
        except ReverieError as exc:  # e.g. longer than synth.MAX_RENDER_SECONDS
            self.error.emit(str(exc))
            return False
        pcm = synth.to_int16(buf)
        if channels > 1:
            pcm = np.repeat(pcm[:, None], channels, axis=1).reshape(-1)
        self._frame_bytes, self._rate = 2 * channels, fmt.sampleRate()
        self._seconds_per_quarter = synth.seconds_per_quarter(melody)
        start_frame = min(len(pcm) // channels - 1,
                          max(0, round(start_quarters * self._seconds_per_quarter * self._rate)))
        self._start_s = start_frame / self._rate
        self._pcm, self._loop = pcm.tobytes(), loop
        self._written = start_frame * self._frame_bytes
        self._body_seconds = synth.buffer_length(melody, self._rate, tail=False) / self._rate
        sink = self._sink_factory(device, fmt, self)
        sink.stateChanged.connect(self._on_sink_state_changed)
        self._sink, self._device = sink, device
        self._io = sink.start()
        if self._io is None or sink.error() != QAudio.Error.NoError:
            self._fail(f"The audio output {self._device_name()} could not be opened.")
            return False
        self._tick()
        self._timer.start()
        self.playing_changed.emit(True)
        return True

    def stop(self) -> None:
        if self._sink is None:
            return
        self._timer.stop()
        sink, self._sink, self._io = self._sink, None, None
        sink.stateChanged.disconnect(self._on_sink_state_changed)
        sink.stop()
        sink.deleteLater()
        self.position_changed.emit(None)
        self.playing_changed.emit(False)

    def _format(self, device) -> tuple[QAudioFormat, int]:
        fmt = QAudioFormat()
        fmt.setSampleFormat(QAudioFormat.SampleFormat.Int16)
        for rate in synth.SAMPLE_RATES:
            for channels in (1, 2):
                fmt.setSampleRate(rate)
                fmt.setChannelCount(channels)
                if device.isFormatSupported(fmt):
                    return fmt, channels
        fmt.setSampleRate(synth.DEFAULT_RATE)
        fmt.setChannelCount(2)
        return fmt, 2

    # -- feeding and the playhead ----------------------------------------------------------

    def _tick(self) -> None:
        if self._sink is None:
            return
        free = self._sink.bytesFree()
        free -= free % self._frame_bytes
        total = len(self._pcm)
        while free > 0 and (self._loop or self._written < total):
            offset = self._written % total if self._loop else self._written
            chunk = self._pcm[offset: offset + min(free, total - offset)]
            wrote = self._io.write(chunk)
            if wrote <= 0:
                break
            self._written += wrote
            free -= wrote
        seconds = self._start_s + self._sink.processedUSecs() / 1e6
        if self._loop:
            seconds %= max(self._body_seconds, 1e-6)
        elif self._written >= total and seconds >= total / self._frame_bytes / self._rate - 0.01:
            self.stop()
            return
        self.position_changed.emit(seconds / self._seconds_per_quarter)

    def _device_name(self) -> str:
        return f"“{self._device.description()}”" if self._device is not None else ""

    def _fail(self, message: str) -> None:
        log.warning("audio preview: %s", message)
        self.stop()
        self.error.emit(message + " Your melody is unchanged; you can still export it.")

    def _on_sink_state_changed(self, state) -> None:
        if self._sink is None:
            return
        err = self._sink.error()
        if err in (QAudio.Error.OpenError, QAudio.Error.IOError, QAudio.Error.FatalError):
            self._fail(f"Audio playback stopped: the output {self._device_name()} failed or "
                       f"was disconnected.")

    def _on_outputs_changed(self) -> None:
        self.outputs_changed.emit()
        if self._sink is None or self._device is None:
            return
        ids = {bytes(d.id()) for d in self._list_outputs()}
        if bytes(self._device.id()) not in ids:
            self._fail(f"Audio playback stopped: the output {self._device_name()} "
                       f"disappeared.")
