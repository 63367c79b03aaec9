"""The Compose room: generate melodies and export them as MIDI (placeholder).

When built it will generate melodies in a key, meter and tempo, continue a primer, preview
audio and export MIDI. Until then it says so plainly and generates nothing.
"""

from __future__ import annotations

from desktop_app.ui.rooms.base import PlaceholderRoom


class ComposePanel(PlaceholderRoom):
    """Compose room panel (GUI thread)."""

    room_id = "compose"
    title = "Compose"
    tagline = "Generate melodies, listen to them and export MIDI."
    model_kind = "music"
    generates = True
    coming = (
        "Generate a melody in the key, meter and tempo you choose.",
        "Continue a primer melody you play in or open from a MIDI file.",
        "Preview the melody as audio on a piano roll.",
        "Export the result as a standard MIDI file.",
    )
