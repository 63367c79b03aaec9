"""Writing image sequences: animated GIF / WebP and numbered PNG frame folders (no Qt, no torch).

One implementation for the ``reverie morph`` command and the Imagine room's morph export.
Frames are uint8 numpy arrays ``(H, W, 3)`` or ``(H, W)``. Writes are atomic
(:mod:`desktop_app.core.atomic`), so an existing file is never left half-written.
"""

from __future__ import annotations

import io
from pathlib import Path
from typing import Sequence

import numpy as np
from PIL import Image

from desktop_app.core.atomic import atomic_write_bytes
from desktop_app.core.errors import DataError, UsageError

MAX_SCALE = 16


def scaled(pixels: np.ndarray, scale: int = 1, smooth: bool = False) -> Image.Image:
    """A PIL image of ``pixels``, ``scale`` times larger (nearest, or bicubic when ``smooth``)."""
    if not 1 <= scale <= MAX_SCALE:
        raise UsageError(f"the scale must be 1..{MAX_SCALE}, not {scale}")
    pil = Image.fromarray(np.ascontiguousarray(pixels, np.uint8))
    if scale > 1:
        method = Image.Resampling.BICUBIC if smooth else Image.Resampling.NEAREST
        pil = pil.resize((pil.width * scale, pil.height * scale), method)
    return pil


def save_animation(path: str | Path, frames: Sequence[np.ndarray], *, duration_ms: int = 80,
                   scale: int = 1, smooth: bool = False) -> None:
    """An endlessly looping animated GIF or (lossless) WebP with every frame.

    Pillow merges identical consecutive GIF frames (adding their durations), so a morph from
    an image to itself gives a one-frame GIF that still plays for the whole duration.
    """
    path = Path(path)
    pils = [scaled(f, scale, smooth).convert("RGB") for f in frames]
    if not pils:
        raise UsageError("there are no frames to export; make a morph first")
    buf = io.BytesIO()
    suffix = path.suffix.lower()
    if suffix == ".gif":
        pals = [p.quantize(colors=256, method=Image.Quantize.MEDIANCUT,
                           dither=Image.Dither.NONE) for p in pils]
        pals[0].save(buf, format="GIF", save_all=True, append_images=pals[1:],
                     duration=duration_ms, loop=0, optimize=False, disposal=1)
    elif suffix == ".webp":
        pils[0].save(buf, format="WEBP", save_all=True, append_images=pils[1:],
                     duration=duration_ms, loop=0, lossless=True)
    else:
        raise UsageError(f"an animation must be a .gif or .webp file, not {path.name}")
    atomic_write_bytes(path, buf.getvalue())


def save_frames(folder: str | Path, frames: Sequence[np.ndarray], *, scale: int = 1,
                smooth: bool = False) -> list[Path]:
    """Numbered PNGs ``frame-001.png`` … in ``folder`` (created); the first is the start."""
    folder = Path(folder)
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise DataError(f"cannot create the folder {folder}: {exc.strerror or exc}") from None
    width = max(3, len(str(len(frames))))
    out = []
    for i, frame in enumerate(frames, 1):
        p = folder / f"frame-{i:0{width}d}.png"
        buf = io.BytesIO()
        scaled(frame, scale, smooth).save(buf, format="PNG")
        atomic_write_bytes(p, buf.getvalue())
        out.append(p)
    return out
