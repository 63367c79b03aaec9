"""Image data sets for the VAE: any folder of pictures, plus the built-in ones by name.

``load_folder`` reads PNG, JPEG, WebP, GIF (first frame), BMP and TIFF files of any mode and
size: alpha is composited on white, 16-bit and palette images are converted, CMYK goes to RGB;
each picture is centre-cropped to a square and resized. Unreadable or truncated files are
skipped and counted; a file over Pillow's decompression-bomb limit is skipped with its own
count (it is never decoded). A folder with no usable image raises :class:`DataError`.

The built-in sets (and the ``builtin:NAME`` / folder choice) are in :mod:`.sources`, which
imports this module and the built-in sets' own, so none of them imports another in a circle.

``ImageSet`` holds uint8 pixels ``(N, H, W, C)`` plus optional per-image labels, so the same
training task, directions and atlas code serve a user's folder and the built-in sets.
No torch here: the training task turns the arrays into tensors.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from PIL import Image

from desktop_app.core.errors import DataError

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".webp", ".gif", ".bmp", ".tif", ".tiff")


@dataclass
class ImageSet:
    """Pixels ``(N, H, W, C)`` uint8 plus labels (``NaN`` = the image does not carry it)."""

    pixels: np.ndarray
    names: list[str]
    #: attribute -> float array (N,), NaN where unlabelled (e.g. "smile", "skin_tone")
    labels: dict[str, np.ndarray] = field(default_factory=dict)
    #: categorical label -> list of N strings (e.g. "group", "style", "class")
    categories: dict[str, list[str]] = field(default_factory=dict)
    #: whether a horizontal flip keeps the picture meaningful (text and flags do not)
    flip_ok: np.ndarray | None = None
    skipped: dict[str, int] = field(default_factory=dict)

    def __len__(self) -> int:
        return int(self.pixels.shape[0])

    @property
    def channels(self) -> int:
        return int(self.pixels.shape[3])

    def subset(self, idx: np.ndarray) -> "ImageSet":
        idx = np.asarray(idx)
        return ImageSet(
            pixels=self.pixels[idx], names=[self.names[i] for i in idx],
            labels={k: v[idx] for k, v in self.labels.items()},
            categories={k: [v[i] for i in idx] for k, v in self.categories.items()},
            flip_ok=None if self.flip_ok is None else self.flip_ok[idx])


def split(n: int, held_out: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Seeded random (train, held-out) index split; at least one held-out image when n >= 2."""
    order = np.random.default_rng(seed).permutation(n)
    k = int(round(n * held_out))
    if n >= 2:
        k = min(max(k, 1), n - 1)
    return np.sort(order[k:]), np.sort(order[:k])


def to_square(img: Image.Image, size: int, channels: int) -> np.ndarray:
    """Any PIL image -> ``(size, size, channels)`` uint8: alpha on white, centre crop, resize."""
    img = flatten_mode(img)
    w, h = img.size
    side = min(w, h)
    left, top = (w - side) // 2, (h - side) // 2
    img = img.crop((left, top, left + side, top + side))
    if side != size:
        img = img.resize((size, size), Image.Resampling.LANCZOS, reducing_gap=3.0)
    if channels == 1:
        img = img.convert("L")
    arr = np.asarray(img, dtype=np.uint8)
    return arr.reshape(size, size, channels)


def flatten_mode(img: Image.Image) -> Image.Image:
    """Return an RGB image: palette/LA/RGBA alpha composited on white, 16-bit scaled, CMYK converted."""
    if img.mode in ("I;16", "I;16B", "I;16L", "I;16N", "I"):
        arr = np.asarray(img, dtype=np.float64)
        peak = 65535.0 if arr.max(initial=0) > 255 or img.mode.startswith("I;16") else 255.0
        img = Image.fromarray(np.clip(arr / peak * 255.0 + 0.5, 0, 255).astype(np.uint8), "L")
    elif img.mode == "F":
        arr = np.asarray(img, dtype=np.float64)
        peak = 1.0 if arr.max(initial=0) <= 1.0 else 255.0
        img = Image.fromarray(np.clip(arr / peak * 255.0 + 0.5, 0, 255).astype(np.uint8), "L")
    if img.mode == "P":
        img = img.convert("RGBA") if "transparency" in img.info else img.convert("RGB")
    if img.mode in ("LA", "La", "PA", "RGBa"):
        img = img.convert("RGBA")
    if img.mode == "RGBA":
        white = Image.new("RGBA", img.size, (255, 255, 255, 255))
        return Image.alpha_composite(white, img).convert("RGB")
    return img.convert("RGB")  # CMYK, YCbCr, L, 1, ... (Pillow handles Adobe CMYK JPEGs)


def open_image(path: Path, size: int, channels: int) -> np.ndarray:
    """Read one picture (GIF/WebP: first frame). Raises DataError with a readable reason."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(path) as img:
                img.seek(0)
                img.load()
                return to_square(img, size, channels)
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        raise DataError(f"{path.name} is too large to open safely ({exc}); shrink it or "
                        f"leave it out") from None
    except FileNotFoundError:
        raise DataError(f"{path} does not exist") from None
    except (OSError, ValueError, SyntaxError) as exc:
        raise DataError(f"cannot read {path.name} as an image ({exc})") from None


def load_folder(folder: str | Path, size: int, channels: int, *, recursive: bool = True,
                limit: int | None = None, progress=None) -> ImageSet:
    """Every readable picture under ``folder`` as an :class:`ImageSet` (unreadable ones counted)."""
    folder = Path(folder)
    if not folder.is_dir():
        raise DataError(f"{folder} is not a folder of images")
    pattern = "**/*" if recursive else "*"
    files = sorted(p for p in folder.glob(pattern)
                   if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES)
    if limit is not None:
        files = files[:limit]
    pixels, names = [], []
    skipped = {"unreadable": 0, "too_large": 0}
    for i, path in enumerate(files):
        try:
            pixels.append(open_image(path, size, channels))
            names.append(str(path.relative_to(folder)))
        except DataError as exc:
            skipped["too_large" if "too large" in str(exc) else "unreadable"] += 1
        if progress is not None and i % 200 == 0:
            progress(i / max(len(files), 1), f"reading images {i}/{len(files)}")
    if not pixels:
        raise DataError(
            f"no usable images in {folder} (looked for {', '.join(IMAGE_SUFFIXES)}; "
            f"{skipped['unreadable']} unreadable, {skipped['too_large']} too large)")
    arr = np.stack(pixels)
    return ImageSet(pixels=arr, names=names, flip_ok=np.ones(len(names), bool),
                    skipped=skipped)
