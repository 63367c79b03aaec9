"""The Compose room: generate melodies, hear them, edit them on a piano roll, export MIDI.

The room lives in :mod:`desktop_app.ui.compose` (piano roll, variations, audio preview,
drag-out, controls, files); this module gives the main window its panel class.
"""

from __future__ import annotations

from desktop_app.ui.compose.panel import ComposePanel

__all__ = ["ComposePanel"]
