"""The Imagine room: sample images from a seed and move through a latent space.

The panel itself lives in :mod:`desktop_app.ui.imagine.panel` (with its widgets in
``desktop_app/ui/imagine/``); this module keeps the one-file-per-room entry the main window's
``room_classes()`` imports.
"""

from __future__ import annotations

from desktop_app.ui.imagine.panel import ImaginePanel

__all__ = ["ImaginePanel"]
