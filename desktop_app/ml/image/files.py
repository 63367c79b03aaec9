"""Writing decoded images: PNG files and a square grid (animations: :mod:`core.animation`).

All writes are atomic (temporary file in the target folder + ``os.replace``), so an existing
file is never left half-written. Images are uint8 numpy arrays ``(H, W, 3)`` or ``(H, W)``.
"""

from __future__ import annotations

import io
import math
from pathlib import Path

import numpy as np
from PIL import Image

from desktop_app.core.errors import ReverieError, UsageError
from desktop_app.ml.checkpoints import atomic_write_bytes

FORMATS = {".png": "PNG", ".gif": "GIF", ".webp": "WEBP", ".jpg": "JPEG", ".jpeg": "JPEG"}


def to_pil(img: np.ndarray, scale: int = 1) -> Image.Image:
    pil = Image.fromarray(np.asarray(img, np.uint8))
    if scale > 1:
        pil = pil.resize((pil.width * scale, pil.height * scale), Image.Resampling.NEAREST)
    return pil


def _write(path: Path, pil: Image.Image, **kw) -> None:
    fmt = FORMATS.get(path.suffix.lower())
    if fmt is None:
        raise UsageError(f"cannot write {path.name}: use a .png, .gif, .webp or .jpg name")
    buf = io.BytesIO()
    if fmt == "JPEG" and pil.mode not in ("RGB", "L"):
        pil = pil.convert("RGB")
    pil.save(buf, format=fmt, **kw)
    try:
        atomic_write_bytes(path, buf.getvalue())
    except OSError as exc:
        raise ReverieError(f"cannot write {path}: {exc.strerror or exc}") from None


def save_image(path: str | Path, img: np.ndarray, scale: int = 1) -> None:
    _write(Path(path), to_pil(img, scale))


def grid(images: np.ndarray, cols: int | None = None, pad: int = 2) -> np.ndarray:
    """Tile ``(N, H, W[, C])`` images into one image on a white background."""
    images = np.asarray(images, np.uint8)
    n, h, w = images.shape[:3]
    cols = cols or math.ceil(math.sqrt(n))
    rows = math.ceil(n / cols)
    shape = (rows * h + (rows + 1) * pad, cols * w + (cols + 1) * pad) + images.shape[3:]
    out = np.full(shape, 255, np.uint8)
    for i, img in enumerate(images):
        r, c = divmod(i, cols)
        y, x = pad + r * (h + pad), pad + c * (w + pad)
        out[y:y + h, x:x + w] = img
    return out
