"""Handlers for the image jobs of :mod:`desktop_app.core.imaging` (run on the engine's worker).

Models are loaded through the context's model cache (key ``image:<folder>``, :func:`load_model`),
so the grid, the sliders, morphs and the Explore map reuse one loaded VAE. Every decoded
picture goes back as an ``ImageReady`` event; the cancel token is checked between images.
"""

from __future__ import annotations

import hashlib
import time
import warnings
from pathlib import Path

import numpy as np
from PIL import Image

from desktop_app.backends.base import JobContext
from desktop_app.core import imaging
from desktop_app.core import latent as lat
from desktop_app.core.errors import DataError, UsageError
from desktop_app.core.events import ImageReady
from desktop_app.core.paths import resolve_model_dir


def load_model(ctx: JobContext, name: str):
    """The image model ``name`` (a name or folder) from the engine's model cache (one loaded
    VAE shared by every image job: the room, the Explore map, the CLI-style jobs)."""
    from desktop_app.ml.image.runtime import ImageModel

    folder = resolve_model_dir(name, "image")

    def loader(progress):
        progress(0.0, f"loading image model {folder.name}")
        m = ImageModel(folder)
        progress(1.0, f"image model {folder.name} ready")
        return m

    return ctx.models.get(f"image:{folder}", loader, size_bytes=lambda m: m.size_bytes())


def _latent(model, v) -> np.ndarray:
    try:
        return imaging.as_latent(v, model.latent_dim)
    except ValueError as exc:
        raise UsageError(str(exc)) from None


def decode_latent(job: imaging.DecodeLatentJob, ctx: JobContext) -> np.ndarray:
    m = load_model(ctx, job.model)
    z = m.move(_latent(m, job.latent), dict(job.directions))
    ctx.token.raise_if_cancelled()
    ctx.emit(ImageReady(job.job_id, pixels=m.decode(z), latent=z, index=0))
    return z


def morph(job: imaging.MorphJob, ctx: JobContext) -> np.ndarray:
    if not 2 <= job.frames <= 1000:
        raise UsageError(f"frames must be between 2 and 1000, not {job.frames}")
    m = load_model(ctx, job.model)
    a, b = m.latent_for(job.start), m.latent_for(job.end)
    zs = lat.path(a, b, job.frames, job.method)
    _decode_each(job.job_id, m, zs, ctx)
    return zs


def decode_path(job: imaging.DecodePathJob, ctx: JobContext) -> np.ndarray:
    m = load_model(ctx, job.model)
    zs = np.asarray(job.latents, np.float32)
    if zs.ndim != 2 or zs.shape[1] != m.latent_dim or not np.all(np.isfinite(zs)):
        raise UsageError(f"a path must be (N, {m.latent_dim}) finite latents")
    _decode_each(job.job_id, m, zs, ctx)
    return zs


def _decode_each(job_id, m, zs: np.ndarray, ctx: JobContext) -> None:
    t0 = time.perf_counter()
    for i, z in enumerate(zs):
        ctx.token.raise_if_cancelled()
        ctx.emit(ImageReady(job_id, pixels=m.decode(z), latent=z, index=i))
        ctx.progress((i + 1) / len(zs), f"frame {i + 1}/{len(zs)}",
                     rate=((i + 1) / max(time.perf_counter() - t0, 1e-9), "frames/s"))


# -- the Imagine room's grid, model description and pictures ---------------------------------

MAX_GRID = 64


def seed_grid(job: imaging.SeedGridJob, ctx: JobContext) -> np.ndarray:
    if not 1 <= len(job.seeds) <= MAX_GRID:
        raise UsageError(f"a grid holds 1 to {MAX_GRID} seeds, not {len(job.seeds)}")
    m = load_model(ctx, job.model)
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


def model_info(job: imaging.LoadImageModelJob, ctx: JobContext) -> imaging.ImageModelInfo:
    m = load_model(ctx, job.model)
    fp = _fingerprint(m.model_dir)   # ~20 ms for a 10 MB model, once per model choice
    dirs = tuple(imaging.ImageDirection(d.name, d.kind, d.description, float(d.scale))
                 for d in m.directions.values())
    return imaging.ImageModelInfo(model_dir=str(m.model_dir), name=m.model_dir.name,
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


def encode_picture(job: imaging.EncodePictureJob, ctx: JobContext) -> imaging.EncodedPicture:
    m = load_model(ctx, job.model)
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
    return imaging.EncodedPicture(path=str(path), latent=mu, original=original,
                               reconstruction=recon, mse=mse,
                               notes=picture_notes(path, m.cfg.image_size))
