"""The image medium: its jobs and pure types (no Qt, no torch).

Each job names its model (a name under ``models/image/`` or a folder path) and carries all its
inputs; latents are float32 numpy arrays owned by the job. Handlers live in
``desktop_app.backends.image`` and send ``ImageReady`` events (uint8 pixels (H, W, 3) or
(H, W)) as images are decoded; their return value is the job's ``Finished.result``.

* :class:`LoadImageModelJob` — load a model and describe it (:class:`ImageModelInfo`);
* :class:`SeedGridJob` — one image per seed (the Imagine room's grid, the CLI's samples);
* :class:`DecodeLatentJob` — a latent moved along named directions (sliders);
* :class:`EncodePictureJob` — a person's picture: its latent, its reconstruction and what was
  converted (:class:`EncodedPicture`);
* :class:`MorphJob`, :class:`DecodePathJob` — frames between two latents, or along a path.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, ClassVar

import numpy as np

from desktop_app.core.jobs import Job
from desktop_app.core.paths import IMAGE_MODEL

DEFAULT_IMAGE_MODEL = IMAGE_MODEL

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
class DecodeLatentJob(Job):
    """Decode one latent moved along named directions (slider drags supersede each other)."""

    model: str = DEFAULT_IMAGE_MODEL
    latent: Any = None                                   # (D,) float32
    directions: tuple[tuple[str, float], ...] = ()       # (name, amount in std devs)
    supersede_group: ClassVar[str] = "image-decode"
    label: ClassVar[str] = "Decoding image"


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


@dataclass(frozen=True)
class SeedGridJob(Job):
    """Sample one image per seed; ImageReady per cell; result: latents ``(N, D)`` float32.

    Cell ``i`` is exactly what ``reverie generate image --seed seeds[i]`` draws."""

    model: str = DEFAULT_IMAGE_MODEL
    seeds: tuple[int, ...] = (0,)
    temperature: float = 1.0
    category: str | None = None      # a key of CATEGORIES, None = any
    style: str | None = None
    guidance: float = DEFAULT_GUIDANCE
    supersede_group: ClassVar[str] = "imagine-grid"
    label: ClassVar[str] = "Sampling a grid of images"


@dataclass(frozen=True)
class LoadImageModelJob(Job):
    """Load ``model`` (name or folder); result: :class:`ImageModelInfo`."""

    model: str = DEFAULT_IMAGE_MODEL
    label: ClassVar[str] = "Loading image model"


@dataclass(frozen=True)
class ImageDirection:
    name: str          # as stored, e.g. "skin_tone" or "pc1"
    kind: str          # "supervised" | "pca"
    description: str
    scale: float       # one standard deviation along it


@dataclass(frozen=True)
class ImageModelInfo:
    """A loaded model as the Imagine room shows it: its directions with their scales and a
    content fingerprint of the weights (a PNG's stored latent is only restored on the same
    model)."""

    model_dir: str
    name: str
    image_size: int
    channels: int
    latent_dim: int
    directions: tuple[ImageDirection, ...]
    fingerprint: str   # sha256 of model.safetensors (hex, first 16 chars)
    categories: tuple[str, ...] = ()   # CATEGORIES keys its learned prior knows


@dataclass(frozen=True)
class EncodePictureJob(Job):
    """Encode the picture at ``path``; ImageReady(reconstruction); result: EncodedPicture."""

    model: str = DEFAULT_IMAGE_MODEL
    path: str = ""
    label: ClassVar[str] = "Encoding your picture"


@dataclass(frozen=True)
class EncodedPicture:
    path: str
    latent: Any            # (D,) float32 posterior mean
    original: Any          # uint8 (H, W[, 3]) at the model's size, as the model saw it
    reconstruction: Any    # uint8, same shape
    mse: float             # per-pixel mean squared error, pixels in [0, 1]
    notes: tuple[str, ...] = ()   # readable remarks ("converted from CMYK", ...)


def direction_label(name: str) -> str:
    """What a slider is called: ``pc3`` -> "Direction 3", ``skin_tone`` -> "Skin tone"."""
    if name.startswith("pc") and name[2:].isdigit():
        return f"Direction {int(name[2:])}"
    text = name.replace("_", " ").strip()
    return text[:1].upper() + text[1:]


def slider_object_name(name: str) -> str:
    """``slider_<label in lower case, spaces as underscores>``: slider_skin_tone, slider_direction_1."""
    return "slider_" + direction_label(name).lower().replace(" ", "_")


def as_latent(v: Any, dim: int | None = None) -> np.ndarray:
    """A (D,) float32 copy of ``v``; ValueError if it is not one finite vector of size ``dim``."""
    arr = np.array(v, dtype=np.float32).ravel()
    if dim is not None and arr.size != dim:
        raise ValueError(f"latent has {arr.size} values, the model expects {dim}")
    if not np.all(np.isfinite(arr)):
        raise ValueError("latent contains NaN or infinite values")
    return arr
