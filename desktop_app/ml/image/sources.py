"""Where an image data set comes from: ``builtin:emoji``, ``builtin:fashion`` or a folder.

The one module that knows every source, above :mod:`.datasets` (folders, :class:`ImageSet`)
and the built-in sets (:mod:`.emoji_data`, :mod:`.fashion_data`), which import
:mod:`.datasets` themselves; keeping the choice here removes their import circle.
"""

from __future__ import annotations

from desktop_app.core.errors import DataError
from desktop_app.ml.image.datasets import ImageSet, load_folder


def load_dataset(spec: str, *, size: int | None = None, channels: int = 3,
                 progress=None) -> ImageSet:
    """``builtin:emoji``, ``builtin:fashion`` or a folder path -> :class:`ImageSet`."""
    if spec == "builtin:fashion":
        from desktop_app.ml.image.fashion_data import load_fashion  # its files load on use
        return load_fashion()
    if spec == "builtin:emoji":
        from desktop_app.ml.image.emoji_data import load_emoji      # needs the emoji fonts
        return load_emoji(progress=progress)
    if spec.startswith("builtin:"):
        raise DataError(f"unknown built-in data set {spec!r}; use builtin:emoji or "
                        f"builtin:fashion or a folder of images")
    return load_folder(spec, size or 64, channels, progress=progress)
