"""A small built-in synthesizer: renders a :class:`Melody` to PCM audio, and writes WAV files.

Pure numpy (no Qt, no torch, no SoundFont). Each note is a handful of additive harmonics whose
upper partials fade faster than the fundamental (a soft plucked / keyboard colour), shaped by
an ADSR envelope. The General MIDI program picks one of a few timbres (keys, pluck, sustained).
An optional metronome clicks every beat (accented on the downbeat); the buffer covers whole
bars, so playing it in a loop keeps time. WAV export uses the stdlib ``wave`` module and an
atomic write.

Buffers are mono float32 in [-1, 1]; :func:`to_int16` converts for playback and WAV files.
"""

from __future__ import annotations

import io
import wave
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from desktop_app.core.atomic import atomic_write_bytes
from desktop_app.core.errors import UsageError
from desktop_app.core.melody import Melody, Meter

SAMPLE_RATES = (44_100, 48_000)
#: The longest audio :func:`render` makes: 10 minutes at 48 kHz is ~0.7 GB of working buffers.
MAX_RENDER_SECONDS = 600
DEFAULT_RATE = 44_100
#: Seconds of release tail after the last bar when not looping.
TAIL_S = 0.6


@dataclass(frozen=True)
class Timbre:
    """Partial amplitudes, per-partial decay rates (1/s, scaled by partial number) and ADSR."""

    partials: tuple[float, ...]
    decay: float          # fundamental's decay rate; partial k decays k**0.7 times faster
    attack: float         # seconds
    release: float        # seconds
    sustain: float        # level the envelope settles at (0..1), reached after ``hold``
    hold: float           # seconds of the decay phase from 1 to ``sustain``
    vibrato: float = 0.0  # vibrato depth in semitones (5.5 Hz)


TIMBRES = {
    "keys": Timbre((1.0, 0.45, 0.22, 0.12, 0.06, 0.03), decay=1.1, attack=0.004,
                   release=0.12, sustain=0.45, hold=0.35),
    "pluck": Timbre((1.0, 0.6, 0.35, 0.2, 0.1), decay=2.4, attack=0.002, release=0.08,
                    sustain=0.2, hold=0.25),
    "sustain": Timbre((1.0, 0.35, 0.25, 0.1, 0.05), decay=0.15, attack=0.035, release=0.16,
                      sustain=0.8, hold=0.15, vibrato=0.08),
}


def timbre_for_program(program: int) -> str:
    """Which built-in timbre stands in for a General MIDI program (0-127)."""
    family = int(program) // 8  # 0 piano, 1 chromatic percussion, 3 guitar, 4 bass, 13 ethnic...
    if family in (3, 4, 13) or program in (45, 46):            # plucked strings, pizz., harp
        return "pluck"
    if family in (0, 1, 14):                                   # pianos, mallets, percussive
        return "keys"
    return "sustain"                                           # organs, strings, winds, synths


def beat_quarters(meter: Meter) -> float:
    """Length of one metronome beat in quarter notes (6/8, 9/8, 12/8 count dotted quarters)."""
    if meter.denominator >= 8 and meter.numerator % 3 == 0 and meter.numerator > 3:
        return 3 * 4.0 / meter.denominator
    return 4.0 / meter.denominator


def melody_quarters(melody: Melody) -> float:
    """The rendered length in quarter notes: whole bars covering every note (at least one bar)."""
    bar = melody.meter.bar_quarters
    return max(1, melody.n_bars) * bar


def seconds_per_quarter(melody: Melody) -> float:
    return 60.0 / melody.tempo


def buffer_length(melody: Melody, sample_rate: int = DEFAULT_RATE, *, loops: int = 1,
                  tail: bool = True) -> int:
    """Number of samples :func:`render` returns for these arguments."""
    body = round(melody_quarters(melody) * seconds_per_quarter(melody) * sample_rate)
    return body * loops + (round(TAIL_S * sample_rate) if tail else 0)


def _decays(n: int, timbre: Timbre, sr: int) -> list[np.ndarray]:
    """Each partial's fade curve (shared by every pitch), float32."""
    t = (np.arange(n, dtype=np.float64) / sr).astype(np.float32)
    return [np.exp(t * np.float32(-timbre.decay * k ** 0.7))
            for k in range(1, len(timbre.partials) + 1)]


def _partials(freq: float, n: int, timbre: Timbre, sr: int, decays) -> np.ndarray:
    """The note's raw tone (harmonics, each fading at its own rate), ``n`` samples, float32.

    Phases are wrapped to one cycle in float64 before the float32 sine, so long notes keep
    their pitch exactly while the heavy maths runs in single precision.
    """
    t64 = np.arange(n, dtype=np.float64) / sr
    phase = freq * t64
    if timbre.vibrato:
        depth = freq * (2 ** (timbre.vibrato / 12) - 1)
        ramp = np.clip(t64 / 0.25, 0.0, 1.0)           # vibrato fades in over 250 ms
        phase = phase + depth * ramp * np.sin(2 * np.pi * 5.5 * t64) / (2 * np.pi * 5.5)
    out = np.zeros(n, dtype=np.float32)
    for k, amp in enumerate(timbre.partials, start=1):
        if k * freq >= sr / 2 * 0.9:
            break
        cycles = k * phase
        cycles = (cycles - np.floor(cycles)).astype(np.float32)  # np.mod is ~10x slower
        out += np.float32(amp) * decays[k - 1][:n] * np.sin(np.float32(2 * np.pi) * cycles)
    return out


def _envelope(n: int, timbre: Timbre, sr: int) -> np.ndarray:
    """Attack and decay towards the sustain level (what a held note follows), float32."""
    t = np.arange(n, dtype=np.float64) / sr
    env = timbre.sustain + (1 - timbre.sustain) * np.exp(
        -np.maximum(t - timbre.attack, 0) / max(timbre.hold, 1e-3) * 3)
    a = min(n, max(1, int(timbre.attack * sr)))
    env[:a] *= np.linspace(0.0, 1.0, a, endpoint=False)
    return env.astype(np.float32)


def _note_wave(tone: np.ndarray, env: np.ndarray, n_on: int, rel: int,
               velocity: int) -> np.ndarray:
    """One note from its pitch's tone and the shared envelope: held ``n_on``, then released."""
    shape = np.empty(n_on + rel, dtype=np.float32)
    shape[:n_on] = env[:n_on]
    shape[n_on:] = env[n_on - 1] * np.linspace(1.0, 0.0, rel, dtype=np.float32)
    return tone[: n_on + rel] * shape * np.float32(velocity / 127.0 * 0.32)


def _click(sr: int, accent: bool) -> np.ndarray:
    n = int(0.03 * sr)
    t = np.arange(n) / sr
    freq = 2000.0 if accent else 1400.0
    return (0.35 if accent else 0.22) * np.sin(2 * np.pi * freq * t) * np.exp(-t * 160)


def render(melody: Melody, *, sample_rate: int = DEFAULT_RATE, program: int = 0,
           metronome: bool = False, loops: int = 1, tail: bool = True,
           cancel=None) -> np.ndarray:
    """Render ``melody`` to mono float32 PCM, ``buffer_length(...)`` samples long.

    ``loops`` repeats the bars seamlessly (notes ringing past the loop end wrap around);
    ``tail`` adds :data:`TAIL_S` seconds after the last bar so the final note can fade out.
    ``cancel``, if given, is a CancelToken checked between notes.
    """
    if sample_rate not in SAMPLE_RATES:
        raise UsageError(f"sample rate {sample_rate} Hz is not supported: use 44100 or 48000")
    if not 1 <= loops <= 64:
        raise UsageError(f"loops must be 1-64, got {loops}")
    sr, spq = sample_rate, seconds_per_quarter(melody)
    body = buffer_length(melody, sr, tail=False)
    total = buffer_length(melody, sr, loops=loops, tail=tail)
    if total > MAX_RENDER_SECONDS * sr:  # checked before allocating (~24 bytes per sample)
        raise UsageError(f"the audio would last {total / sr / 60:.0f} minutes; Reverie renders "
                         f"at most {MAX_RENDER_SECONDS // 60} minutes (shorten the melody, "
                         f"raise the tempo or play fewer loops)")
    timbre = TIMBRES[timbre_for_program(program)]
    rel = int(timbre.release * sr)
    one = np.zeros(body + rel + int(TAIL_S * sr), dtype=np.float64)
    spans = []  # (start sample, samples held, note)
    for note in melody.notes:
        start = int(round(note.start * spq * sr))
        if start < body:
            spans.append((start, max(1, int(round(note.duration * spq * sr))), note))
    longest = max((n_on for _, n_on, _ in spans), default=1) + rel
    env = _envelope(longest, timbre, sr)
    decays = _decays(longest, timbre, sr)
    tones: dict[int, np.ndarray] = {}  # a tune reuses few pitches: synthesise each once
    for pitch in {note.pitch for _, _, note in spans}:
        n = max(n_on for _, n_on, note in spans if note.pitch == pitch) + rel
        tones[pitch] = _partials(440.0 * 2 ** ((pitch - 69) / 12), n, timbre, sr, decays)
        if cancel is not None:
            cancel.raise_if_cancelled()
    for start, n_on, note in spans:
        w = _note_wave(tones[note.pitch], env, n_on, rel, note.velocity)
        end = min(len(one), start + len(w))
        one[start:end] += w[: end - start]
    if metronome:
        beat = beat_quarters(melody.meter)
        bar = melody.meter.bar_quarters
        q = 0.0
        while q < melody_quarters(melody) - 1e-9:
            s = int(round(q * spq * sr))
            c = _click(sr, accent=abs((q / bar) - round(q / bar)) < 1e-6)
            one[s:s + len(c)] += c[: len(one) - s]
            q += beat
    out = np.zeros(total, dtype=np.float64)
    for i in range(loops):  # each loop's ringing carries into the next one
        lo = i * body
        seg = one[: total - lo]
        out[lo:lo + len(seg)] += seg
    if not tail:  # a loop buffer: the last loop's ringing wraps round to the start
        spill = one[body: body + rel]
        out[: len(spill)] += spill
    peak = float(np.max(np.abs(out))) if total else 0.0
    if peak > 0.98:  # keep headroom without distorting: scale the whole buffer down
        out *= 0.98 / peak
    return out.astype(np.float32)


def to_int16(buffer: np.ndarray) -> np.ndarray:
    return (np.clip(buffer, -1.0, 1.0) * 32767.0).round().astype("<i2")


def rms(buffer: np.ndarray) -> float:
    return float(np.sqrt(np.mean(np.square(buffer, dtype=np.float64)))) if len(buffer) else 0.0


def wav_bytes(buffer: np.ndarray, sample_rate: int = DEFAULT_RATE) -> bytes:
    """A mono 16-bit PCM WAV file holding ``buffer``."""
    out = io.BytesIO()
    with wave.open(out, "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(sample_rate)
        w.writeframes(to_int16(buffer).tobytes())
    return out.getvalue()


def write_wav(melody: Melody, path: str | Path, *, sample_rate: int = DEFAULT_RATE,
              program: int = 0, metronome: bool = False) -> Path:
    """Render ``melody`` and write it to ``path`` as WAV, atomically (ReverieError on failure)."""
    buffer = render(melody, sample_rate=sample_rate, program=program, metronome=metronome)
    atomic_write_bytes(path, wav_bytes(buffer, sample_rate))
    return Path(path)
