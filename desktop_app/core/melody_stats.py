"""Quality figures of a melody (pure Python + numpy): the numbers issue 8 compares with the corpus.

- ``in_key_ratio``: share of notes whose pitch class is in the key (minor counts its leading tone)
- ``pitch_class_entropy``: entropy in bits of the note-count pitch-class histogram (max 3.58)
- ``pitch_range``: highest minus lowest pitch, in semitones
- ``notes_per_bar``
- ``repeated_bar_share``: share of non-empty bars that repeat an earlier bar exactly or
  transposed (same rhythm, all pitches shifted by one interval)
- ``ends_on_tonic``: whether the last note's pitch class is the key's tonic
- ``out_of_mode_count``: notes whose pitch class is outside the key's mode
- ``estimate_key``: Krumhansl–Schmuckler key finding (duration-weighted), major or minor.
"""

from __future__ import annotations

import math
from collections import Counter

import numpy as np

from desktop_app.core.melody import Key, Melody

# Krumhansl & Kessler (1982) probe-tone profiles.
_MAJOR = np.array([6.35, 2.23, 3.48, 2.33, 4.38, 4.09, 2.52, 5.19, 2.39, 3.66, 2.29, 2.88])
_MINOR = np.array([6.33, 2.68, 3.52, 5.38, 2.60, 3.53, 2.54, 4.75, 3.98, 2.69, 3.34, 3.17])


def estimate_key(pitches, durations=None) -> Key:
    """The major or minor key whose profile correlates best with the pitch-class weights."""
    w = np.zeros(12)
    for i, p in enumerate(pitches):
        w[int(p) % 12] += 1.0 if durations is None else float(durations[i])
    if w.sum() == 0:
        return Key()
    best, best_r = Key(), -2.0
    for tonic in range(12):
        for mode, prof in (("major", _MAJOR), ("minor", _MINOR)):
            r = np.corrcoef(w, np.roll(prof, tonic))[0, 1]
            if r > best_r + 1e-12:
                best, best_r = Key(tonic, mode), r
    return best


def in_key_ratio(melody: Melody, key: Key | None = None) -> float:
    key = key or melody.key
    if not melody.notes:
        return 0.0
    return sum(key.contains(n.pitch) for n in melody.notes) / len(melody.notes)


def pitch_class_entropy(melody: Melody) -> float:
    counts = Counter(n.pitch % 12 for n in melody.notes)
    total = sum(counts.values())
    return -sum(c / total * math.log2(c / total) for c in counts.values()) if total else 0.0


def pitch_range(melody: Melody) -> int:
    ps = melody.pitches
    return max(ps) - min(ps) if ps else 0


def notes_per_bar(melody: Melody) -> float:
    return len(melody.notes) / melody.n_bars if melody.n_bars else 0.0


def _bar_shape(notes, bar_start: float):
    if not notes:
        return None
    base = notes[0].pitch
    rhythm = tuple((round(n.start - bar_start, 4), round(n.duration, 4)) for n in notes)
    return rhythm, tuple(n.pitch - base for n in notes), base


def repeated_bar_share(melody: Melody) -> float:
    """Share of non-empty bars equal to an earlier bar exactly or transposed."""
    bar = melody.meter.bar_quarters
    seen: set = set()
    repeats = filled = 0
    for i, notes in enumerate(melody.bars()):
        shape = _bar_shape(notes, i * bar)
        if shape is None:
            continue
        filled += 1
        key = shape[:2]
        if key in seen:
            repeats += 1
        seen.add(key)
    return repeats / filled if filled else 0.0


def summary(melody: Melody, key: Key | None = None) -> dict[str, float]:
    """All figures at once, rounded for printing / JSON."""
    return {
        "in_key_ratio": round(in_key_ratio(melody, key), 4),
        "pitch_class_entropy": round(pitch_class_entropy(melody), 4),
        "pitch_range": pitch_range(melody),
        "notes_per_bar": round(notes_per_bar(melody), 3),
        "repeated_bar_share": round(repeated_bar_share(melody), 4),
    }


def ends_on_tonic(melody: Melody, key: Key | None = None) -> bool:
    """True when the last-starting note (the last of a final chord) is on the tonic."""
    key = key or melody.key
    if not melody.notes:
        return False
    last = max(melody.notes, key=lambda n: (n.start, n.pitch))
    return (last.pitch - key.tonic) % 12 == 0


def out_of_mode_count(melody: Melody, key: Key | None = None) -> int:
    key = key or melody.key
    return sum(not key.contains(n.pitch) for n in melody.notes)
