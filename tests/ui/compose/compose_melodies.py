"""Melodies for the Compose tests (a module of its own, not conftest: every test folder has a
conftest, and ``from conftest import`` picks whichever was imported first in one run)."""

from __future__ import annotations

from desktop_app.core.melody import Key, Melody, Meter, Note


def scale_melody(key: str = "D major", meter: str = "4/4", tempo: float = 96.0) -> Melody:
    """Two bars: a D major scale up and a held tonic (8 quarter notes)."""
    k = Key.parse(key)
    base = 62 if k.tonic == 2 else 60 + k.tonic
    steps = [0, 2, 4, 5, 7, 9, 11, 12]
    notes = [Note(start=float(i), pitch=base + s, duration=1.0, velocity=80 + i)
             for i, s in enumerate(steps)]
    return Melody(notes=tuple(notes), key=k, meter=Meter.parse(meter), tempo=tempo, title="Scale")
