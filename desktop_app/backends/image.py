"""Handlers for the image jobs of :mod:`desktop_app.core.imaging` (run on the engine's worker).

Models are loaded through the context's model cache (key ``image:<folder>``), so sliders and
morphs reuse one loaded VAE. Every decoded picture goes back as an ``ImageReady`` event; the
cancel token is checked between images.
"""

from __future__ import annotations

import time

import numpy as np

from desktop_app.backends.base import JobContext
from desktop_app.core import imaging
from desktop_app.core import latent as lat
from desktop_app.core.errors import UsageError
from desktop_app.core.events import ImageReady
from desktop_app.core.paths import resolve_model_dir


def _model(ctx: JobContext, name: str):
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


def model_info(job: imaging.ImageModelInfoJob, ctx: JobContext) -> imaging.ImageModelInfo:
    m = _model(ctx, job.model)
    return imaging.ImageModelInfo(
        model_dir=str(m.model_dir), image_size=m.cfg.image_size, channels=m.cfg.channels,
        latent_dim=m.latent_dim,
        directions=tuple((d.name, d.kind, d.description) for d in m.directions.values()),
        has_atlas=(m.model_dir / "atlas.json").is_file(), categories=m.categories)


def sample_images(job: imaging.SampleImagesJob, ctx: JobContext) -> np.ndarray:
    if not 1 <= job.count <= 256:
        raise UsageError(f"count must be between 1 and 256, not {job.count}")
    m = _model(ctx, job.model)
    z = m.sample_latents(job.seed, job.count, job.temperature, category=job.category,
                         style=job.style, guidance=job.guidance)
    t0 = time.perf_counter()
    for i, zi in enumerate(z):
        ctx.token.raise_if_cancelled()
        ctx.emit(ImageReady(job.job_id, pixels=m.decode(zi), latent=zi, index=i))
        ctx.progress((i + 1) / job.count, f"image {i + 1}/{job.count}",
                     rate=((i + 1) / max(time.perf_counter() - t0, 1e-9), "images/s"))
    return z


def decode_latent(job: imaging.DecodeLatentJob, ctx: JobContext) -> np.ndarray:
    m = _model(ctx, job.model)
    z = m.move(_latent(m, job.latent), dict(job.directions))
    ctx.token.raise_if_cancelled()
    ctx.emit(ImageReady(job.job_id, pixels=m.decode(z), latent=z, index=0))
    return z


def encode_image(job: imaging.EncodeImageJob, ctx: JobContext) -> np.ndarray:
    m = _model(ctx, job.model)
    mu = m.encode_file(job.path)
    ctx.token.raise_if_cancelled()
    ctx.emit(ImageReady(job.job_id, pixels=m.decode(mu), latent=mu, index=0))
    return mu


def morph(job: imaging.MorphJob, ctx: JobContext) -> np.ndarray:
    if not 2 <= job.frames <= 1000:
        raise UsageError(f"frames must be between 2 and 1000, not {job.frames}")
    m = _model(ctx, job.model)
    a, b = m.latent_for(job.start), m.latent_for(job.end)
    zs = lat.path(a, b, job.frames, job.method)
    _decode_each(job.job_id, m, zs, ctx)
    return zs


def decode_path(job: imaging.DecodePathJob, ctx: JobContext) -> np.ndarray:
    m = _model(ctx, job.model)
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
