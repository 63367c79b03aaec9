"""MIDI files <-> :class:`Melody`, with mido, at the edge of the app (no Qt, no torch).

Export writes what DAWs and notation programs expect: a type-1 file at 480 ticks per quarter
note; track 0 (the conductor) holds ``track_name`` (the title), ``set_tempo``,
``time_signature`` and ``key_signature`` at tick 0; track 1 holds the melody's name, a
``program_change`` (General MIDI program 0-127 on channel 1, never the drum channel 10), the
notes with every ``note_off`` written before a ``note_on`` at the same tick, and
``end_of_track``. Modal keys are written with the key signature of their relative major.

Import reads a file as a primer: picks the melodic track (the non-drum track with most notes,
or the one asked for), keeps the top voice of chords, quantises to a grid, and keeps tempo,
meter and key when the file has them. Unusable files raise :class:`DataError` with one sentence.
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from pathlib import Path

import mido

from desktop_app.core.atomic import atomic_write_bytes
from desktop_app.core.errors import DataError, UsageError
from desktop_app.core.melody import (MAX_NOTES, MAX_QUARTERS, TEMPO_RANGE, Key, Melody, Meter,
                                     Note)
from desktop_app.core.melody_stats import estimate_key

TICKS_PER_BEAT = 480
MAX_TRACKS = 256
#: mido turns every event into a Python object (~0.3 KB), so the file size bounds the memory a
#: file can take; melodic MIDI files are kilobytes, whole orchestral scores a few MB.
MAX_FILE_BYTES = 8 * 1024 * 1024
#: Notes collected over all tracks before choosing the melody (a bound before allocating).
MAX_RAW_NOTES = 200_000
DRUM_CHANNEL = 9  # "channel 10" counted from 1


def melody_to_midi(melody: Melody, *, program: int = 0, channel: int = 0) -> mido.MidiFile:
    if not 0 <= program <= 127:
        raise UsageError(f"instrument {program} is not a General MIDI program: use 0-127")
    if channel == DRUM_CHANNEL or not 0 <= channel <= 15:
        raise UsageError("the melody channel must be 0-15 and not the drum channel (10)")
    mid = mido.MidiFile(type=1, ticks_per_beat=TICKS_PER_BEAT)
    title = midi_text(melody.title or "Reverie melody")
    conductor = mido.MidiTrack([
        mido.MetaMessage("track_name", name=title, time=0),
        mido.MetaMessage("set_tempo", tempo=mido.bpm2tempo(melody.tempo), time=0),
        mido.MetaMessage("time_signature", numerator=melody.meter.numerator,
                         denominator=melody.meter.denominator, clocks_per_click=24,
                         notated_32nd_notes_per_beat=8, time=0),
        mido.MetaMessage("key_signature", key=melody.key.midi_key_signature(), time=0),
    ])
    conductor.append(mido.MetaMessage("end_of_track", time=0))
    events: list[tuple[int, int, mido.Message]] = []  # (tick, 0 = off / 1 = on, message)
    for n in melody.notes:
        on = round(n.start * TICKS_PER_BEAT)
        off = max(on + 1, round(n.end * TICKS_PER_BEAT))
        events.append((on, 1, mido.Message("note_on", channel=channel, note=n.pitch,
                                           velocity=max(1, min(127, n.velocity)))))
        events.append((off, 0, mido.Message("note_off", channel=channel, note=n.pitch,
                                            velocity=64)))
    events.sort(key=lambda e: (e[0], e[1]))
    track = mido.MidiTrack([
        mido.MetaMessage("track_name", name="Melody", time=0),
        mido.Message("program_change", channel=channel, program=program, time=0),
    ])
    now = 0
    for tick, _, msg in events:
        track.append(msg.copy(time=tick - now))
        now = tick
    track.append(mido.MetaMessage("end_of_track", time=0))
    mid.tracks.extend([conductor, track])
    return mid


_TYPOGRAPHY = str.maketrans({"\u2013": "-", "\u2014": "-", "\u2018": "'", "\u2019": "'",
                             "\u201c": '"', "\u201d": '"', "\u2026": "..."})


def midi_text(text: str) -> str:
    """Text as MIDI meta events carry it (Latin-1, which DAWs read): typographic dashes and
    quotes become ASCII, and anything else outside Latin-1 becomes '?' instead of failing."""
    text = text.translate(_TYPOGRAPHY)
    return text.encode("latin-1", "replace").decode("latin-1")


def write_midi(melody: Melody, path: str | Path, *, program: int = 0) -> Path:
    """Export ``melody`` to ``path`` atomically (temporary file + rename)."""
    path = Path(path)
    buf = io.BytesIO()
    melody_to_midi(melody, program=program).save(file=buf)
    atomic_write_bytes(path, buf.getvalue())
    return path


@dataclass(frozen=True)
class _Raw:
    track: int
    channel: int
    pitch: int
    start: int
    end: int
    velocity: int


def _open(path: Path) -> mido.MidiFile:
    try:
        size = path.stat().st_size
    except OSError as exc:
        raise DataError(f"cannot read MIDI file {path}: {exc.strerror or exc}") from None
    if size > MAX_FILE_BYTES:
        raise DataError(f"{path.name} is {size // 1_000_000} MB; Reverie reads MIDI files "
                        f"up to {MAX_FILE_BYTES // 1_000_000} MB")
    try:
        data = path.read_bytes()
        if data[:4] != b"MThd":
            raise DataError(f"{path.name} is not a MIDI file (it does not start with 'MThd')")
        return mido.MidiFile(file=io.BytesIO(data), clip=True)
    except DataError:
        raise
    except EOFError:
        raise DataError(f"{path.name} is truncated: the MIDI data ends in the middle of a "
                        f"track") from None
    except Exception as exc:  # mido raises OSError, ValueError, KeyError, IndexError...
        raise DataError(f"{path.name} is not a readable MIDI file ({type(exc).__name__}: "
                        f"{exc})") from None


def _collect(mid: mido.MidiFile, name: str):
    notes: list[_Raw] = []
    tempos: list[tuple[int, int]] = []
    meter = key = None
    for ti, track in enumerate(mid.tracks):
        now = 0
        held: dict[tuple[int, int], tuple[int, int]] = {}
        for msg in track:
            now += msg.time
            if len(notes) > MAX_RAW_NOTES:
                raise DataError(f"{name} has more than {MAX_RAW_NOTES} notes; Reverie reads "
                                f"melodies, not files this large")
            if msg.type == "set_tempo":
                if msg.tempo > 0:  # a tempo of 0 microseconds per beat means nothing: ignore
                    tempos.append((now, msg.tempo))
            elif msg.type == "time_signature" and meter is None:
                meter = (msg.numerator, msg.denominator)
            elif msg.type == "key_signature" and key is None:
                key = msg.key
            elif msg.type == "note_on" and msg.velocity > 0:
                k = (msg.channel, msg.note)
                if k in held:  # re-struck without a note_off: end the old one here
                    s, v = held.pop(k)
                    notes.append(_Raw(ti, k[0], k[1], s, now, v))
                held[k] = (now, msg.velocity)
            elif msg.type in ("note_off", "note_on"):
                k = (msg.channel, msg.note)
                if k in held:
                    s, v = held.pop(k)
                    notes.append(_Raw(ti, k[0], k[1], s, now, v))
        for (ch, p), (s, v) in held.items():  # never released: end at the track's end
            notes.append(_Raw(ti, ch, p, s, max(now, s + 1), v))
    return notes, tempos, meter, key


def read_midi(path: str | Path, *, track: int | None = None, grid: float = 0.25) -> Melody:
    """Read the melody of a MIDI file (see the module docstring); raise DataError if unusable."""
    path = Path(path)
    mid = _open(path)
    if mid.type == 2:
        raise DataError(f"{path.name} is a type-2 MIDI file (independent sequences); save it "
                        f"as type 0 or 1")
    if len(mid.tracks) > MAX_TRACKS:
        raise DataError(f"{path.name} has {len(mid.tracks)} tracks; Reverie reads files with "
                        f"at most {MAX_TRACKS}")
    if mid.ticks_per_beat <= 0:
        raise DataError(f"{path.name} uses SMPTE time code, not ticks per quarter note"
                        if mid.ticks_per_beat < 0 else
                        f"{path.name} has 0 ticks per quarter note; the file is damaged")
    notes, tempos, meter, key_text = _collect(mid, path.name)
    if not notes:
        raise DataError(f"{path.name} has no notes")
    melodic = [n for n in notes if n.channel != DRUM_CHANNEL]
    if not melodic:
        raise DataError(f"{path.name} has only drum notes (channel 10); a primer needs a melody")
    last = max(n.end for n in melodic)
    distinct = {t for tick, t in tempos if tick < last}
    if len(distinct) > 1:
        raise DataError(f"{path.name} changes tempo {len(distinct)} times; Reverie needs one "
                        f"tempo for a primer (remove the tempo changes in your DAW)")
    counts: dict[int, int] = {}
    for n in melodic:
        counts[n.track] = counts.get(n.track, 0) + 1
    if track is None:
        track = max(counts, key=lambda t: (counts[t], -t))
    elif track not in counts:
        raise DataError(f"{path.name}: track {track} has no melodic notes; tracks with notes: "
                        f"{', '.join(map(str, sorted(counts)))}")
    chosen = [n for n in melodic if n.track == track]
    tpb = mid.ticks_per_beat
    # Bound the sizes the file sets before the melody is built from them (a single note
    # 2**28 ticks long would otherwise become a melody of 134 million bars).
    quarters = max(n.end for n in chosen) / tpb
    if quarters > MAX_QUARTERS:
        raise DataError(f"{path.name} lasts {quarters:.0f} quarter notes; Reverie reads "
                        f"melodies up to {MAX_QUARTERS:.0f} (1024 bars of 4/4)")
    if len(chosen) > MAX_NOTES:
        raise DataError(f"{path.name}: track {track} has {len(chosen)} notes; Reverie reads "
                        f"melodies of up to {MAX_NOTES}")
    tempo = mido.tempo2bpm(tempos[0][1]) if tempos else 120.0
    tempo = min(max(round(tempo, 3), TEMPO_RANGE[0]), TEMPO_RANGE[1])
    try:
        m = Meter(*meter) if meter else Meter()
    except UsageError:
        m = Meter()
    return Melody(notes=_top_voice(chosen, tpb, grid), key=_key_from_text(key_text, chosen),
                  meter=m, tempo=tempo, title=path.stem)


def _top_voice(raw: list[_Raw], tpb: int, grid: float) -> tuple[Note, ...]:
    """Quantise starts/ends to ``grid`` quarter notes, keep the highest note of each onset."""
    by_start: dict[float, _Raw] = {}
    ends: dict[float, float] = {}
    for n in raw:
        s = round(n.start / tpb / grid) * grid
        e = max(s + grid, round(n.end / tpb / grid) * grid)
        if s not in by_start or n.pitch > by_start[s].pitch:
            by_start[s], ends[s] = n, e
    starts = sorted(by_start)
    out = []
    for i, s in enumerate(starts):
        e = ends[s] if i + 1 == len(starts) else min(ends[s], starts[i + 1])
        n = by_start[s]
        out.append(Note(start=s, pitch=n.pitch, duration=e - s, velocity=n.velocity))
    return tuple(out)


def _key_from_text(text: str | None, raw: list[_Raw]) -> Key:
    if text:
        minor = text.endswith("m")
        try:
            return Key.parse(text[:-1] + " minor" if minor else text + " major")
        except UsageError:
            pass
    return estimate_key([n.pitch for n in raw], [n.end - n.start for n in raw])
