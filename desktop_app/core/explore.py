"""Explore room jobs and data (no Qt, no torch).

* :class:`MapData` — what a map shows: one code per item (image atlas means, phrase means,
  word embeddings), names, colour categories, thumbnails or melodies.
* :class:`BuildMapJob` — load the map data of a model in the engine (handler in
  ``desktop_app.backends.explore``).
* :class:`ProjectJob` — a t-SNE layout of the codes with progress and cancel, cached per model
  on disk under the user data folder (``explore/cache``).
* :func:`path_latents` — the latents of a morph along waypoints drawn on the map.

Clicks on image maps reuse ``desktop_app.core.imaging.DecodeLatentJob`` / ``DecodePathJob``.
"""

from __future__ import annotations

import hashlib
import io
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

import numpy as np

from desktop_app.core import paths
from desktop_app.core.atomic import atomic_write_bytes
from desktop_app.core.jobs import Job

KINDS = ("image", "music", "text")
#: What each kind of map needs, said when a model cannot give it.
NEEDS = {
    "image": "an image model folder with an atlas (atlas.json + atlas.safetensors: the encoded "
             "training images); models trained in the Train room write one",
    "music": f"the phrase VAE (models/music/{paths.PHRASE_MODEL}) to encode melody phrases",
    "text": "a text model whose weights hold a token-embedding matrix and a tokenizer.json",
}


@dataclass(frozen=True)
class MapData:
    """The items of one map. Arrays are owned by this object and never written to."""

    kind: str                                    # "image" | "music" | "text"
    model: str                                   # model name or folder
    codes: np.ndarray                            # (N, D) float32
    names: tuple[str, ...]                       # one label per item
    categories: dict[str, tuple[str, ...]] = field(default_factory=dict)  # colour-by choices
    thumbs: np.ndarray | None = None             # (N, h, w, C) uint8 for images
    melodies: tuple[Any, ...] = ()               # core.melody.Melody per item for phrases
    directions: dict[str, np.ndarray] = field(default_factory=dict)  # attribute axes
    held_out: np.ndarray | None = None           # (N,) bool
    note: str = ""                               # e.g. "10,000 of 70,000 images"

    def __len__(self) -> int:
        return len(self.codes)

    def fingerprint(self) -> str:
        """A short hash of the codes: the cache key of layouts computed from them."""
        h = hashlib.sha256()
        h.update(f"{self.kind}:{self.model}:{self.codes.shape}".encode())
        h.update(np.ascontiguousarray(self.codes, np.float32).tobytes())
        return h.hexdigest()[:20]


@dataclass(frozen=True, kw_only=True)
class BuildMapJob(Job):
    """Load the map data of ``model`` (a name under models/<kind>/ or a folder)."""

    kind: str = "image"
    model: str = paths.FASHION_MODEL
    max_points: int = 20000
    seed: int = 0
    supersede_group: ClassVar[str] = "explore-map"
    label: ClassVar[str] = "Building the map"


@dataclass(frozen=True, kw_only=True)
class ProjectJob(Job):
    """A t-SNE layout of ``codes`` (N, D); result (N, 2) float32. Cached under ``cache_key``."""

    codes: Any = None
    cache_key: str = ""
    perplexity: float = 30.0
    n_iter: int = 375
    seed: int = 0
    use_cache: bool = True
    supersede_group: ClassVar[str] = "explore-project"
    label: ClassVar[str] = "Computing the t-SNE map"


def cache_dir() -> Path:
    return paths.user_data_dir() / "explore" / "cache"


def cache_path(cache_key: str, method: str = "tsne") -> Path:
    safe = "".join(ch for ch in cache_key if ch.isalnum() or ch in "-_") or "unnamed"
    return cache_dir() / f"{method}-{safe}.npy"


def load_cached_layout(cache_key: str, n: int, method: str = "tsne") -> np.ndarray | None:
    """The cached (n, 2) layout for ``cache_key``, or None if absent or unreadable."""
    if not cache_key:
        return None
    path = cache_path(cache_key, method)
    try:
        xy = np.load(path, allow_pickle=False)
    except (OSError, ValueError):
        return None
    if xy.shape != (n, 2) or not np.all(np.isfinite(xy)):
        return None
    return xy.astype(np.float32)


def save_cached_layout(cache_key: str, xy: np.ndarray, method: str = "tsne") -> None:
    buf = io.BytesIO()
    np.save(buf, np.asarray(xy, np.float32), allow_pickle=False)
    atomic_write_bytes(cache_path(cache_key, method), buf.getvalue())


def path_latents(waypoints: np.ndarray, frames_per_segment: int = 8) -> np.ndarray:
    """Linear morph through ``waypoints`` (K, D): ``(K-1)·f + 1`` latents, ends included."""
    w = np.asarray(waypoints, np.float32)
    if w.ndim != 2 or len(w) < 2:
        raise ValueError("a path needs at least two points")
    f = max(1, int(frames_per_segment))
    out = [w[0][None]]
    for a, b in zip(w[:-1], w[1:]):
        t = (np.arange(1, f + 1, dtype=np.float32) / f)[:, None]
        out.append(a + t * (b - a))
    return np.concatenate(out).astype(np.float32)
