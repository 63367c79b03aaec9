"""The built-in synth: buffer length, sound in it, metronome, loops, WAV files."""

from __future__ import annotations

import os
import wave

import numpy as np
import pytest

from desktop_app.core import synth
from desktop_app.core.errors import ReverieError, UsageError
from desktop_app.core.melody import Key, Melody, Meter, Note

# "Twinkle twinkle": C C G G A A G- in 4/4 at 120 quarter notes per minute (2 bars).
TWINKLE = Melody(notes=tuple(Note(start=float(i), pitch=p, duration=1.0 if i < 6 else 2.0)
                             for i, p in enumerate([60, 60, 67, 67, 69, 69, 67])),
                 key=Key.parse("C major"), meter=Meter(4, 4), tempo=120.0)


def test_buffer_has_the_right_length_and_sound_in_it():
    buf = synth.render(TWINKLE)
    # 2 bars of 4/4 at 120 q/min = 4 s, plus the release tail.
    assert len(buf) == 4 * 44_100 + round(synth.TAIL_S * 44_100)
    assert buf.dtype == np.float32
    assert synth.rms(buf) > 0.03
    assert np.max(np.abs(buf)) <= 0.98 + 1e-6
    # Every note sounds: the RMS of each beat's first half is well above silence.
    spb = 22_050
    for beat in range(7):
        assert synth.rms(buf[beat * spb: beat * spb + spb // 2]) > 0.02, beat


def test_pitch_of_a_rendered_note_is_right():
    a4 = Melody(notes=(Note(start=0.0, pitch=69, duration=4.0),), tempo=60.0)
    buf = synth.render(a4, sample_rate=48_000, program=48)  # strings: sustained
    seg = buf[48_000:48_000 + 32_768].astype(np.float64)
    spectrum = np.abs(np.fft.rfft(seg * np.hanning(len(seg))))
    peak_hz = np.argmax(spectrum) * 48_000 / len(seg)
    assert abs(peak_hz - 440.0) < 3.0


def test_silence_where_there_are_no_notes_and_metronome_clicks():
    rest = Melody(notes=(Note(start=3.0, pitch=72, duration=1.0),), meter=Meter(6, 8), tempo=90)
    quiet = synth.render(rest)
    assert synth.rms(quiet[: int(44_100 * 1.5)]) == 0.0
    clicks = synth.render(rest, metronome=True)
    # 6/8 clicks on each dotted quarter: beat 2 starts 1.5 quarters = 1.0 s in.
    assert synth.beat_quarters(Meter(6, 8)) == 1.5
    assert synth.rms(clicks[44_100: 44_100 + 1000]) > 0.02
    assert synth.rms(clicks[30_000: 40_000]) == 0.0


def test_loop_buffer_is_whole_bars_times_loops():
    buf = synth.render(TWINKLE, loops=3, tail=False)
    assert len(buf) == synth.buffer_length(TWINKLE, loops=3, tail=False) == 3 * 4 * 44_100
    assert np.allclose(buf[44_100:88_200], buf[4 * 44_100 + 44_100: 4 * 44_100 + 88_200],
                       atol=1e-4)


def test_bad_arguments_raise_usage_errors():
    with pytest.raises(UsageError):
        synth.render(TWINKLE, sample_rate=22_050)
    with pytest.raises(UsageError):
        synth.render(TWINKLE, loops=0)


def test_empty_melody_renders_one_silent_bar():
    buf = synth.render(Melody(), tail=False)
    assert len(buf) == 2 * 44_100 and synth.rms(buf) == 0.0


def test_wav_file_is_written_atomically_and_reads_back(tmp_path):
    path = synth.write_wav(TWINKLE, tmp_path / "twinkle.wav", sample_rate=48_000)
    with wave.open(str(path)) as w:
        assert (w.getnchannels(), w.getsampwidth(), w.getframerate()) == (1, 2, 48_000)
        assert w.getnframes() == synth.buffer_length(TWINKLE, 48_000)
        data = np.frombuffer(w.readframes(w.getnframes()), dtype="<i2")
    assert np.sqrt(np.mean(data.astype(np.float64) ** 2)) > 1000
    assert [p.name for p in tmp_path.iterdir()] == ["twinkle.wav"]  # no temp file left


@pytest.mark.skipif(os.geteuid() == 0, reason="root ignores folder permissions")
def test_wav_into_a_read_only_folder_says_so(tmp_path):
    folder = tmp_path / "ro"
    folder.mkdir()
    folder.chmod(0o500)
    try:
        with pytest.raises(ReverieError, match="read-only|permission"):
            synth.write_wav(TWINKLE, folder / "x.wav")
    finally:
        folder.chmod(0o700)
