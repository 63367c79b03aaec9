"""Image jobs: frozen requests for the image engine (no Qt, no torch).

Each job names its model (a name under ``models/image/`` or a folder path) and carries all its
inputs; latents are float32 numpy arrays owned by the job. Handlers live in
``desktop_app.backends.image`` and send ``ImageReady`` events (uint8 pixels (H, W, 3) or
(H, W)) as images are decoded; their return value is the job's ``Finished.result``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, ClassVar

import numpy as np

from desktop_app.core.jobs import Job

DEFAULT_IMAGE_MODEL = "emoji"

#: Categories a learned prior can be asked for: (key used by the CLI and files, label shown in
#: the Imagine room, the Unicode emoji group the model was conditioned on).
CATEGORIES: tuple[tuple[str, str, str], ...] = (
    ("smileys", "Smileys", "Smileys & Emotion"),
    ("people", "People", "People & Body"),
    ("animals", "Animals", "Animals & Nature"),
    ("food", "Food", "Food & Drink"),
    ("travel", "Travel", "Travel & Places"),
    ("activities", "Activities", "Activities"),
    ("objects", "Objects", "Objects"),
    ("symbols", "Symbols", "Symbols"),
    ("flags", "Flags", "Flags"),
)
STYLES: tuple[tuple[str, str], ...] = (("twemoji", "Twemoji"), ("noto", "Noto"))
#: Classifier-free guidance strength used when none is given (1 = plain conditional).
DEFAULT_GUIDANCE = 4.0
GUIDANCE_RANGE = (0.0, 8.0)


def category_label(key: str | None) -> str:
    """``"animals"`` -> "Animals"; None -> "Any"."""
    for k, label, _ in CATEGORIES:
        if k == key:
            return label
    return "Any"


def check_category(key: str | None, style: str | None = None) -> None:
    """ValueError naming the choices when ``key`` / ``style`` is not one of them."""
    if key is not None and key not in {k for k, _, _ in CATEGORIES}:
        raise ValueError(f"unknown category {key!r}; choose one of: "
                         + ", ".join(k for k, _, _ in CATEGORIES))
    if style is not None and style not in {k for k, _ in STYLES}:
        raise ValueError(f"unknown style {style!r}; choose one of: "
                         + ", ".join(k for k, _ in STYLES))


@dataclass(frozen=True)
class LatentSource:
    """Where a morph end comes from: an image file (encoded) or a seed (sampled)."""

    image_path: str | None = None
    seed: int | None = None
    latent: Any = None        # an explicit (D,) latent wins over the others
    temperature: float = 1.0
    category: str | None = None   # a key of CATEGORIES (seeded sources of a learned prior)
    style: str | None = None
    guidance: float = DEFAULT_GUIDANCE

    def __post_init__(self) -> None:
        if self.image_path is None and self.seed is None and self.latent is None:
            raise ValueError("a latent source needs an image, a seed or a latent")


@dataclass(frozen=True)
class ImageModelInfoJob(Job):
    """Load the model; result: :class:`ImageModelInfo`."""

    model: str = DEFAULT_IMAGE_MODEL
    label: ClassVar[str] = "Loading image model"


@dataclass(frozen=True)
class ImageModelInfo:
    model_dir: str
    image_size: int
    channels: int
    latent_dim: int
    directions: tuple[tuple[str, str, str], ...]   # (name, kind, description)
    has_atlas: bool
    categories: tuple[str, ...] = ()               # CATEGORIES keys its prior can be asked for


@dataclass(frozen=True)
class SampleImagesJob(Job):
    """Sample ``count`` images from seed ``seed``; ImageReady per image; result: latents (N, D)."""

    model: str = DEFAULT_IMAGE_MODEL
    seed: int = 0
    count: int = 1
    temperature: float = 1.0
    category: str | None = None
    style: str | None = None
    guidance: float = DEFAULT_GUIDANCE
    label: ClassVar[str] = "Sampling images"


@dataclass(frozen=True)
class DecodeLatentJob(Job):
    """Decode one latent moved along named directions (slider drags supersede each other)."""

    model: str = DEFAULT_IMAGE_MODEL
    latent: Any = None                                   # (D,) float32
    directions: tuple[tuple[str, float], ...] = ()       # (name, amount in std devs)
    supersede_group: ClassVar[str] = "image-decode"
    label: ClassVar[str] = "Decoding image"


@dataclass(frozen=True)
class EncodeImageJob(Job):
    """Encode an image file; ImageReady with its reconstruction; result: mu (D,) float32."""

    model: str = DEFAULT_IMAGE_MODEL
    path: str = ""
    label: ClassVar[str] = "Encoding image"


@dataclass(frozen=True)
class MorphJob(Job):
    """Frames from ``start`` to ``end`` (both included); ImageReady per frame (``index``)."""

    model: str = DEFAULT_IMAGE_MODEL
    start: LatentSource = field(default_factory=lambda: LatentSource(seed=0))
    end: LatentSource = field(default_factory=lambda: LatentSource(seed=1))
    frames: int = 16
    method: str = "slerp"
    label: ClassVar[str] = "Morphing"


@dataclass(frozen=True)
class DecodePathJob(Job):
    """Decode a given path of latents ``(N, D)`` (e.g. drawn on the Explore map)."""

    model: str = DEFAULT_IMAGE_MODEL
    latents: Any = None
    supersede_group: ClassVar[str] = "image-path"
    label: ClassVar[str] = "Decoding path"


def as_latent(v: Any, dim: int | None = None) -> np.ndarray:
    """A (D,) float32 copy of ``v``; ValueError if it is not one finite vector of size ``dim``."""
    arr = np.array(v, dtype=np.float32).ravel()
    if dim is not None and arr.size != dim:
        raise ValueError(f"latent has {arr.size} values, the model expects {dim}")
    if not np.all(np.isfinite(arr)):
        raise ValueError("latent contains NaN or infinite values")
    return arr
