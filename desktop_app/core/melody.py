"""The one canonical melody type of Reverie (pure Python, no Qt, no torch).

Every other format (MIDI, model tokens, the piano roll) converts to and from :class:`Melody` at
the edge, as note-seq does with its NoteSequence. Times and durations are in *quarter notes*
(not beats: a 6/8 beat is a dotted quarter); tempo is in quarter notes per minute.

``Key.parse("D major")``, ``Key.parse("f# Minor")``, ``Key.parse("Bb dorian")``;
``Meter.parse("6/8")``. Bad text raises :class:`UsageError` saying what is allowed.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field, replace

from desktop_app.core.errors import DataError, UsageError

#: Scale steps (semitones above the tonic) of each mode.
MODE_STEPS: dict[str, tuple[int, ...]] = {
    "major": (0, 2, 4, 5, 7, 9, 11),
    "minor": (0, 2, 3, 5, 7, 8, 10),
    "dorian": (0, 2, 3, 5, 7, 9, 10),
    "mixolydian": (0, 2, 4, 5, 7, 9, 10),
    "lydian": (0, 2, 4, 6, 7, 9, 11),
    "phrygian": (0, 1, 3, 5, 7, 8, 10),
    "locrian": (0, 1, 3, 5, 6, 8, 10),
}
MODES = tuple(MODE_STEPS)
#: The meters a melody may have (the melody models' vocabulary: its token ids follow this
#: order, so new meters go at the end).
METERS = ("2/4", "3/4", "4/4", "6/8", "2/2", "9/8", "3/8", "6/4", "12/8", "3/2")
#: Minor melodies raise the 7th as a leading tone all the time (harmonic minor), so it counts
#: as "in the scale" for minor keys: in_scale, in-key ratios and hard masking all agree on it.
_EXTRA_STEPS = {"minor": (11,)}
#: Semitones from the mode's tonic down to its relative major's tonic.
_TO_RELATIVE_MAJOR = {"major": 0, "minor": 3, "dorian": -2, "mixolydian": -7, "lydian": -5,
                      "phrygian": -4, "locrian": -11}
_ALIASES = {"ionian": "major", "aeolian": "minor", "maj": "major", "min": "minor"}
_LETTERS = {"C": 0, "D": 2, "E": 4, "F": 5, "G": 7, "A": 9, "B": 11}
_FLAT_NAMES = ("C", "Db", "D", "Eb", "E", "F", "Gb", "G", "Ab", "A", "Bb", "B")
_SHARP_NAMES = ("C", "C#", "D", "D#", "E", "F", "F#", "G", "G#", "A", "A#", "B")
#: Key-signature spelling of each major tonic (fewest accidentals; F# rather than Gb).
_MAJOR_SIG = ("C", "Db", "D", "Eb", "E", "F", "F#", "G", "Ab", "A", "Bb", "B")
_KEY_RE = re.compile(r"^\s*([A-Ga-g])\s*([#b♯♭]?)\s*(?:\s+([A-Za-z]+))?\s*$")
KEY_HELP = ("a key is a tonic (C, C#, Db, D, ... B; # or b for sharp/flat) and a mode "
            f"({', '.join(MODES)}), e.g. \"D major\", \"f# minor\", \"Bb dorian\"")


@dataclass(frozen=True)
class Key:
    """A tonic pitch class (0 = C) and a mode. ``name`` keeps the user's spelling of the tonic."""

    tonic: int = 0
    mode: str = "major"
    spelling: str = field(default="", compare=False)

    def __post_init__(self) -> None:
        if self.mode not in MODE_STEPS:
            raise UsageError(f"unknown mode {self.mode!r}: {KEY_HELP}")
        object.__setattr__(self, "tonic", int(self.tonic) % 12)

    @classmethod
    def parse(cls, text: str) -> "Key":
        m = _KEY_RE.match(text or "")
        if not m:
            raise UsageError(f"not a key: {text!r}; {KEY_HELP}")
        letter, acc, mode = m.group(1).upper(), m.group(2), (m.group(3) or "major").lower()
        mode = _ALIASES.get(mode, mode)
        if mode not in MODE_STEPS:
            raise UsageError(f"not a key: {text!r} (unknown mode {mode!r}); {KEY_HELP}")
        pc = _LETTERS[letter] + (1 if acc in ("#", "♯") else -1 if acc in ("b", "♭") else 0)
        spelling = letter + ("#" if acc in ("#", "♯") else "b" if acc in ("b", "♭") else "")
        return cls(pc % 12, mode, spelling)

    @property
    def tonic_name(self) -> str:
        """The user's spelling, else the spelling with the fewer accidentals in this mode."""
        if self.spelling:
            return self.spelling
        flat_side = _MAJOR_SIG[self.relative_major_tonic] in ("F", "Bb", "Eb", "Ab", "Db")
        return (_FLAT_NAMES if flat_side else _SHARP_NAMES)[self.tonic]

    @property
    def name(self) -> str:
        return f"{self.tonic_name} {self.mode}"

    def __str__(self) -> str:
        return self.name

    @property
    def pitch_classes(self) -> frozenset[int]:
        steps = MODE_STEPS[self.mode] + _EXTRA_STEPS.get(self.mode, ())
        return frozenset((self.tonic + s) % 12 for s in steps)

    def contains(self, pitch: int) -> bool:
        return pitch % 12 in self.pitch_classes

    @property
    def relative_major_tonic(self) -> int:
        return (self.tonic + _TO_RELATIVE_MAJOR[self.mode]) % 12

    def midi_key_signature(self) -> str:
        """The ``key_signature`` text mido writes: minor keys as minor, modes as their relative major."""
        if self.mode == "minor":
            return _minor_sig(self.tonic)
        return _MAJOR_SIG[self.relative_major_tonic]

    def transpose(self, semitones: int) -> "Key":
        return Key(self.tonic + semitones, self.mode)


def _minor_sig(tonic: int) -> str:
    names = ("Cm", "C#m", "Dm", "D#m", "Em", "Fm", "F#m", "Gm", "G#m", "Am", "Bbm", "Bm")
    return names[tonic % 12]


METER_HELP = ("a meter is NUMERATOR/DENOMINATOR with a numerator from 1 to 32 and a "
              "denominator of 1, 2, 4, 8 or 16, e.g. 4/4, 3/4, 6/8")


@dataclass(frozen=True)
class Meter:
    numerator: int = 4
    denominator: int = 4

    def __post_init__(self) -> None:
        if not (1 <= self.numerator <= 32) or self.denominator not in (1, 2, 4, 8, 16):
            raise UsageError(f"not a meter: {self.numerator}/{self.denominator}; {METER_HELP}")

    @classmethod
    def parse(cls, text: str) -> "Meter":
        m = re.match(r"^\s*(\d{1,3})\s*/\s*(\d{1,3})\s*$", text or "")
        if not m:
            raise UsageError(f"not a meter: {text!r}; {METER_HELP}")
        return cls(int(m.group(1)), int(m.group(2)))

    @property
    def bar_quarters(self) -> float:
        """Length of one bar in quarter notes (6/8 -> 3.0)."""
        return self.numerator * 4.0 / self.denominator

    def __str__(self) -> str:
        return f"{self.numerator}/{self.denominator}"


@dataclass(frozen=True, order=True)
class Note:
    """One note: MIDI pitch (0-127), start and duration in quarter notes, velocity (1-127)."""

    start: float
    pitch: int
    duration: float
    velocity: int = 90

    def __post_init__(self) -> None:
        if not 0 <= self.pitch <= 127:
            raise ValueError(f"MIDI pitch {self.pitch} is outside 0-127")
        if not (math.isfinite(self.start) and math.isfinite(self.duration)):
            raise ValueError(f"note start and duration must be finite numbers, got "
                             f"{self.start} and {self.duration}")
        if self.duration <= 0:
            raise ValueError(f"note duration must be positive, got {self.duration}")
        if self.start < 0:
            raise ValueError(f"note start must not be negative, got {self.start}")

    @property
    def end(self) -> float:
        return self.start + self.duration


TEMPO_RANGE = (20.0, 400.0)
#: Bounds on a melody read from any file (MIDI, autosave, session): the longest tune in the
#: training corpus is 696 quarter notes and 725 notes, so these leave room for any real
#: melody while a hostile file (one note 2^28 ticks long) cannot become a 134-million-bar one.
MAX_NOTES = 8192
MAX_QUARTERS = 4096.0


@dataclass(frozen=True)
class Melody:
    """A monophonic (or at least ordered) line of notes with its key, meter and tempo."""

    notes: tuple[Note, ...] = ()
    key: Key = Key()
    meter: Meter = Meter()
    tempo: float = 120.0  # quarter notes per minute
    title: str = ""

    def __post_init__(self) -> None:
        if len(self.notes) > MAX_NOTES:
            raise DataError(f"the melody has {len(self.notes)} notes; Reverie works with at "
                            f"most {MAX_NOTES}")
        object.__setattr__(self, "notes", tuple(sorted(self.notes)))
        if self.notes and max(n.end for n in self.notes) > MAX_QUARTERS:
            raise DataError(f"the melody lasts {self.end:.0f} quarter notes; Reverie works with "
                            f"at most {MAX_QUARTERS:.0f} (1024 bars of 4/4)")
        if not TEMPO_RANGE[0] <= self.tempo <= TEMPO_RANGE[1]:
            raise UsageError(f"tempo {self.tempo:g} is outside {TEMPO_RANGE[0]:g}-"
                             f"{TEMPO_RANGE[1]:g} quarter notes per minute")

    @property
    def end(self) -> float:
        return max((n.end for n in self.notes), default=0.0)

    @property
    def n_bars(self) -> int:
        bar = self.meter.bar_quarters
        return int(-(-round(self.end / bar, 6) // 1)) if self.notes else 0

    @property
    def pitches(self) -> list[int]:
        return [n.pitch for n in self.notes]

    def with_notes(self, notes) -> "Melody":
        return replace(self, notes=tuple(notes))

    def transpose(self, semitones: int) -> "Melody":
        """Shift every note and the key by ``semitones`` (notes clipped to MIDI 0-127 raise)."""
        return replace(self, key=self.key.transpose(semitones),
                       notes=tuple(replace(n, pitch=n.pitch + semitones) for n in self.notes))

    def in_scale(self, pitch: int) -> bool:
        return self.key.contains(pitch)

    def bars(self) -> list[tuple[Note, ...]]:
        """Notes grouped by the bar their start falls in (empty bars included), in order."""
        bar = self.meter.bar_quarters
        out: list[list[Note]] = [[] for _ in range(self.n_bars)]
        for n in self.notes:
            out[min(int(n.start / bar + 1e-9), len(out) - 1)].append(n)
        return [tuple(b) for b in out]

    def slice_bars(self, first: int, count: int) -> "Melody":
        """Bars ``first .. first+count-1``, shifted to start at 0."""
        bar = self.meter.bar_quarters
        lo, hi = first * bar, (first + count) * bar
        notes = [replace(n, start=n.start - lo, duration=min(n.duration, hi - n.start))
                 for n in self.notes if lo - 1e-9 <= n.start < hi - 1e-9]
        return replace(self, notes=tuple(notes))


# -- plain data (the Compose room's autosave, JSON exports) ------------------------------------

def melody_to_dict(melody: Melody) -> dict:
    """JSON-ready: key, meter, tempo, title and notes as ``[pitch, start, duration, velocity]``."""
    return {"key": melody.key.name, "meter": str(melody.meter), "tempo": melody.tempo,
            "title": melody.title,
            "notes": [[n.pitch, n.start, n.duration, n.velocity] for n in melody.notes]}


def melody_from_dict(data) -> Melody:
    """Read :func:`melody_to_dict`'s form back; :class:`DataError` (one sentence) on anything
    malformed, so a damaged snapshot is reported instead of crashing the room."""
    try:
        notes = tuple(Note(start=float(s), pitch=int(p), duration=float(d), velocity=int(v))
                      for p, s, d, v in data["notes"])
        return Melody(notes=notes, key=Key.parse(str(data["key"])),
                      meter=Meter.parse(str(data["meter"])), tempo=float(data["tempo"]),
                      title=str(data.get("title", "")))
    except (KeyError, TypeError, ValueError, UsageError) as exc:
        raise DataError(f"a saved melody could not be read ({type(exc).__name__}: {exc})") from None


def describe(melody: Melody) -> str:
    """One line for lists and status text: "8 bars · 31 notes · D major · 6/8 · 110 q/min"."""
    return (f"{melody.n_bars} bars · {len(melody.notes)} notes · {melody.key.name} · "
            f"{melody.meter} · {melody.tempo:g} q/min")
