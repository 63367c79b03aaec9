"""Plain-data helpers of the Compose room (no Qt, no torch): melodies to and from JSON.

The room's autosave snapshot stores melodies with :func:`melody_to_dict`; :func:`melody_from_dict`
reads them back and raises :class:`DataError` (one sentence) on anything malformed, so a damaged
snapshot is reported instead of crashing the room.
"""

from __future__ import annotations

from typing import Any

from desktop_app.core.errors import DataError, UsageError
from desktop_app.core.melody import Key, Melody, Meter, Note


def melody_to_dict(melody: Melody) -> dict[str, Any]:
    return {"key": melody.key.name, "meter": str(melody.meter), "tempo": melody.tempo,
            "title": melody.title,
            "notes": [[n.pitch, n.start, n.duration, n.velocity] for n in melody.notes]}


def melody_from_dict(data: Any) -> Melody:
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


def in_key_ratio(melody: Melody) -> float:
    if not melody.notes:
        return 1.0
    return sum(melody.key.contains(n.pitch) for n in melody.notes) / len(melody.notes)
