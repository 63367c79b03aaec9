"""Jobs the Imagine room needs beyond the image engine's own (no Qt, no torch).

* :class:`SeedGridJob` — one image per seed (``seeds`` s, s+1, …): cell ``i`` is exactly what
  ``reverie generate image --seed s+i`` draws, which ``SampleImagesJob`` (one generator for
  all N) does not give. ``ImageReady.index`` is the cell; the result is the ``(N, D)`` latents.
* :class:`RoomModelJob` — load a model and describe it for the room: the engine's
  :class:`~desktop_app.core.imaging.ImageModelInfo` plus each direction's scale and a content
  fingerprint of the weights (so a PNG's stored latent is only restored on the same model).
* :class:`EncodePictureJob` — encode a user's picture and report what the room shows beside
  it: the picture as the model sees it, its reconstruction, the per-pixel error and notes on
  what was converted (CMYK, palette, 16-bit, alpha, the first frame of an animation).

Handlers: ``desktop_app.backends.image_room``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

from desktop_app.core.imaging import DEFAULT_GUIDANCE, DEFAULT_IMAGE_MODEL
from desktop_app.core.jobs import Job


@dataclass(frozen=True)
class SeedGridJob(Job):
    """Sample one image per seed; ImageReady per cell; result: latents ``(N, D)`` float32."""

    model: str = DEFAULT_IMAGE_MODEL
    seeds: tuple[int, ...] = (0,)
    temperature: float = 1.0
    category: str | None = None      # a key of imaging.CATEGORIES, None = any
    style: str | None = None
    guidance: float = DEFAULT_GUIDANCE
    supersede_group: ClassVar[str] = "imagine-grid"
    label: ClassVar[str] = "Sampling a grid of images"


@dataclass(frozen=True)
class RoomModelJob(Job):
    """Load ``model`` (name or folder); result: :class:`RoomModelInfo`."""

    model: str = DEFAULT_IMAGE_MODEL
    label: ClassVar[str] = "Loading image model"


@dataclass(frozen=True)
class RoomDirection:
    name: str          # as stored, e.g. "skin_tone" or "pc1"
    kind: str          # "supervised" | "pca"
    description: str
    scale: float       # one standard deviation along it


@dataclass(frozen=True)
class RoomModelInfo:
    model_dir: str
    name: str
    image_size: int
    channels: int
    latent_dim: int
    directions: tuple[RoomDirection, ...]
    fingerprint: str   # sha256 of model.safetensors (hex, first 16 chars)
    categories: tuple[str, ...] = ()   # imaging.CATEGORIES keys its learned prior knows


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
