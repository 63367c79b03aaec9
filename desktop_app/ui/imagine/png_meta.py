"""PNG files that remember their latent, and the room's other picture files (no Qt).

``save_png`` writes the image (optionally upscaled) with an ``iTXt`` chunk ``reverie-latent``
holding JSON: the model's name and weight fingerprint, the latent size, the base latent and
slider amounts (float32 stored bit-exactly as base64), the resulting latent and the room's
settings. ``read_meta`` gives it back; ``meta_problem`` says why a stored latent does not fit
the current model, in which case the room opens the file as a plain picture instead.

Every write is atomic (``core.atomic``): an existing file is never left half-written.
"""

from __future__ import annotations

import base64
import io
import json
import warnings
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from PIL import Image, PngImagePlugin

from desktop_app.core.animation import scaled
from desktop_app.core.atomic import atomic_write_bytes
from desktop_app.core.errors import DataError, UsageError
from desktop_app.core.untrusted import loads_json, slider_amounts

META_KEY = "reverie-latent"
FORMAT_VERSION = 1
#: The chunk holds two latents (a few KB); anything much larger is not ours.
MAX_META_BYTES = 4 * 1024 * 1024
SCALES = (1, 2, 4, 8)


@dataclass(frozen=True)
class LatentMeta:
    """What a saved PNG remembers about where its picture came from."""

    model: str                      # model folder name ("emoji")
    fingerprint: str                # ImageModelInfo.fingerprint of the weights
    base: np.ndarray                # (D,) float32 latent before the sliders
    amounts: dict = field(default_factory=dict)   # direction name -> std devs
    latent: np.ndarray | None = None              # (D,) the decoded latent (base + moves)
    settings: dict = field(default_factory=dict)  # seed, temperature, ...

    @property
    def latent_dim(self) -> int:
        return int(self.base.size)


def pack_latent(v: np.ndarray) -> str:
    return base64.b64encode(np.asarray(v, "<f4").tobytes()).decode("ascii")


def unpack_latent(text: str) -> np.ndarray:
    raw = base64.b64decode(text.encode("ascii"), validate=True)
    if len(raw) % 4:
        raise ValueError("latent bytes are not whole float32 values")
    arr = np.frombuffer(raw, "<f4").astype(np.float32)
    if not np.all(np.isfinite(arr)):
        raise ValueError("latent holds NaN or infinite values")
    return arr


def meta_to_text(meta: LatentMeta) -> str:
    return json.dumps({
        "version": FORMAT_VERSION, "model": meta.model, "fingerprint": meta.fingerprint,
        "latent_dim": meta.latent_dim, "base": pack_latent(meta.base),
        "amounts": {str(k): float(v) for k, v in meta.amounts.items()},
        "latent": pack_latent(meta.latent) if meta.latent is not None else None,
        "settings": meta.settings})


def meta_from_text(text: str) -> LatentMeta:
    """Parse the chunk; ValueError with a readable reason if it is damaged."""
    try:
        # Bounded, typed reading (core.untrusted): everything is checked here, before the
        # room touches its undo history or its sliders.
        d = loads_json(text, source="the latent data", max_bytes=MAX_META_BYTES)
        if not isinstance(d, dict):
            raise ValueError("it is not a JSON object")
        base = unpack_latent(d["base"])
        latent = unpack_latent(d["latent"]) if d.get("latent") else None
        amounts = slider_amounts(d.get("amounts"), source="the latent data")
        if not isinstance(d.get("settings") or {}, dict):
            raise ValueError("its settings are not a mapping")
        if int(d.get("latent_dim", base.size)) != base.size or (
                latent is not None and latent.size != base.size):
            raise ValueError("latent sizes disagree")
        return LatentMeta(model=str(d.get("model", "")), fingerprint=str(d.get("fingerprint", "")),
                          base=base, amounts=amounts, latent=latent,
                          settings=dict(d.get("settings") or {}))
    except (KeyError, TypeError, AttributeError, json.JSONDecodeError) as exc:
        raise ValueError(f"damaged latent data ({type(exc).__name__})") from None
    except (ValueError, DataError, base64.binascii.Error) as exc:
        raise ValueError(f"damaged latent data ({exc})") from None


def upscale(pixels: np.ndarray, scale: int = 1, smooth: bool = False) -> Image.Image:
    """A PIL image of ``pixels`` (H, W[, 3]) uint8, ``scale`` times larger."""
    if scale not in SCALES:
        raise UsageError(f"scale must be one of {SCALES}, not {scale}")
    return scaled(pixels, scale, smooth)


def save_png(path: str | Path, pixels: np.ndarray, meta: LatentMeta | None = None, *,
             scale: int = 1, smooth: bool = False) -> None:
    """Write a PNG (atomically), with the latent chunk when ``meta`` is given."""
    path = Path(path)
    info = PngImagePlugin.PngInfo()
    if meta is not None:
        info.add_itxt(META_KEY, meta_to_text(meta))
    info.add_text("Software", "Reverie")
    buf = io.BytesIO()
    upscale(pixels, scale, smooth).save(buf, format="PNG", pnginfo=info)
    atomic_write_bytes(path, buf.getvalue())


def read_meta(path: str | Path) -> tuple[LatentMeta | None, str]:
    """``(meta, problem)``: the stored latent of a PNG, or None with why ("" if it has none).

    Reads only the file's header and text chunks (cheap on the GUI thread); a file that is
    not an image at all gives ``(None, "")`` here and fails later, when it is encoded.
    """
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            with Image.open(path) as img:
                if img.format != "PNG":
                    return None, ""
                # Reverie writes its chunk before the pixels, so the header read is enough;
                # the pixels are never decoded here (the GUI thread must not stall on them).
                text = img.info.get(META_KEY)
    except (OSError, ValueError, SyntaxError, Image.DecompressionBombError):
        return None, ""
    if text is None:
        return None, ""
    try:
        return meta_from_text(text), ""
    except ValueError as exc:
        return None, f"its latent data is damaged ({exc})"


def meta_problem(meta: LatentMeta, model: str, fingerprint: str, latent_dim: int) -> str:
    """Why ``meta`` cannot be restored on the current model ("" when it can)."""
    if meta.latent_dim != latent_dim:
        return (f"its latent belongs to the model {meta.model!r} ({meta.latent_dim} values), "
                f"not to {model!r} ({latent_dim} values)")
    if meta.fingerprint != fingerprint:
        return f"its latent belongs to the model {meta.model!r}, not to {model!r}"
    return ""


def ping_pong(frames: list) -> list:
    """A → B → A loop without repeating the ends: f0 … fn-1, fn-2 … f1."""
    return list(frames) + list(frames[-2:0:-1])
