"""Handlers for the Imagine room's own jobs (:mod:`desktop_app.core.imaging_room`).

Run on the engine's worker thread; the image model comes from the shared model cache (the
same ``image:<folder>`` entry the image engine's handlers use, so the room, the Explore map
and the CLI-style jobs share one loaded VAE).
"""

from __future__ import annotations

import hashlib
import time
import warnings
from pathlib import Path

import numpy as np
from PIL import Image

from desktop_app.backends.base import JobContext
from desktop_app.backends.image import _model
from desktop_app.core import imaging_room as room
from desktop_app.core.errors import DataError, UsageError
from desktop_app.core.events import ImageReady

MAX_GRID = 64


def seed_grid(job: room.SeedGridJob, ctx: JobContext) -> np.ndarray:
    if not 1 <= len(job.seeds) <= MAX_GRID:
        raise UsageError(f"a grid holds 1 to {MAX_GRID} seeds, not {len(job.seeds)}")
    m = _model(ctx, job.model)
    # one batched prior solve: cell i is exactly `reverie generate image --seed seeds[i]`
    z = m.sample_seeds([int(s) for s in job.seeds], job.temperature, category=job.category,
                       style=job.style, guidance=job.guidance)
    ctx.token.raise_if_cancelled()
    t0 = time.perf_counter()
    pixels = m.decode(z)                      # one batched decode: (N, H, W[, 3])
    for i, zi in enumerate(z):
        ctx.emit(ImageReady(job.job_id, pixels=pixels[i], latent=zi, index=i))
    ctx.progress(1.0, f"{len(z)} images", rate=(len(z) / max(time.perf_counter() - t0, 1e-9),
                                                 "images/s"))
    return z


def _fingerprint(folder: Path) -> str:
    digest = hashlib.sha256()
    with open(folder / "model.safetensors", "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()[:16]


def model_info(job: room.RoomModelJob, ctx: JobContext) -> room.RoomModelInfo:
    m = _model(ctx, job.model)
    fp = _fingerprint(m.model_dir)   # ~20 ms for a 10 MB model, once per model choice
    dirs = tuple(room.RoomDirection(d.name, d.kind, d.description, float(d.scale))
                 for d in m.directions.values())
    return room.RoomModelInfo(model_dir=str(m.model_dir), name=m.model_dir.name,
                              image_size=m.cfg.image_size, channels=m.cfg.channels,
                              latent_dim=m.latent_dim, directions=dirs, fingerprint=fp,
                              categories=m.categories)


def picture_notes(path: Path, size: int) -> tuple[str, ...]:
    """What was converted to turn the file at ``path`` into the model's input (best effort)."""
    notes = []
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            with Image.open(path) as img:
                mode, (w, h) = img.mode, img.size
                frames = int(getattr(img, "n_frames", 1) or 1)
                transparent = "transparency" in img.info
    except (OSError, ValueError, SyntaxError, Image.DecompressionBombError):
        return ()
    if frames > 1:
        notes.append(f"it is animated ({frames} frames): the first frame was used")
    if mode == "CMYK":
        notes.append("converted from CMYK to RGB")
    elif mode in ("P", "PA"):
        notes.append("palette colours converted to RGB")
    elif mode.startswith("I;16") or mode in ("I", "F"):
        notes.append("16-bit (or floating-point) pixels scaled to 8 bits")
    if mode in ("RGBA", "LA", "PA", "RGBa", "La") or transparent:
        notes.append("transparent areas were put on white")
    if w != h:
        notes.append(f"centre-cropped from {w}×{h} to a square")
    if max(w, h) != size:
        notes.append(f"resized to {size}×{size}")
    return tuple(notes)


def encode_picture(job: room.EncodePictureJob, ctx: JobContext) -> room.EncodedPicture:
    m = _model(ctx, job.model)
    path = Path(job.path)
    if path.is_dir():
        raise DataError(f"{path} is a folder, not a picture")
    original = m.load_image(path)               # (S, S, C) uint8; DataError if unusable
    ctx.token.raise_if_cancelled()
    mu = m.encode_pixels(original)
    recon = m.decode(mu)                        # (S, S[, 3]) uint8
    if original.shape[-1] == 1:
        original = original[..., 0]
    diff = original.astype(np.float32) / 255.0 - recon.astype(np.float32) / 255.0
    mse = float(np.mean(diff * diff))
    ctx.emit(ImageReady(job.job_id, pixels=recon, latent=mu, index=0))
    return room.EncodedPicture(path=str(path), latent=mu, original=original,
                               reconstruction=recon, mse=mse,
                               notes=picture_notes(path, m.cfg.image_size))
