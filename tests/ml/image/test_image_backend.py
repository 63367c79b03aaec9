"""Image job handlers with a minimal in-thread context (the engine itself is tested elsewhere)."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from PIL import Image

from desktop_app.backends import image as backend
from desktop_app.backends.registry import handler_for
from desktop_app.core import imaging
from desktop_app.core.errors import DataError, UsageError
from desktop_app.core.events import ImageReady
from desktop_app.core.jobs import CancelToken, JobCancelled
from desktop_app.ml.image.runtime import ImageModel


class _Cache:
    def __init__(self):
        self.loaded = {}

    def get(self, key, loader, size_bytes=None):
        if key not in self.loaded:
            self.loaded[key] = loader(lambda f, m: None)
        return self.loaded[key]

    def evict(self, key):
        self.loaded.pop(key, None)


class _Ctx:
    def __init__(self):
        self.token, self.models, self.events = CancelToken(), _Cache(), []

    def emit(self, event):
        self.events.append(event)

    def progress(self, fraction, message="", rate=None):
        pass


def _images(ctx):
    return [e for e in ctx.events if isinstance(e, ImageReady)]


def test_registry_knows_every_image_job():
    for cls in (imaging.SeedGridJob, imaging.DecodeLatentJob, imaging.EncodePictureJob,
                imaging.MorphJob, imaging.LoadImageModelJob, imaging.DecodePathJob):
        assert callable(handler_for(cls()))
    assert imaging.DecodeLatentJob.supersede_group == "image-decode"


def test_sample_decode_encode_morph(tiny_model_dir, tmp_path):
    ctx, m = _Ctx(), str(tiny_model_dir)
    info = backend.model_info(imaging.LoadImageModelJob(model=m), ctx)
    assert info.latent_dim == 8 and "style" in [d.name for d in info.directions]
    assert len(info.fingerprint) == 16
    z = backend.seed_grid(imaging.SeedGridJob(model=m, seeds=(1, 2, 3)), ctx)
    imgs = _images(ctx)
    assert z.shape == (3, 8) and [e.index for e in imgs] == [0, 1, 2]
    assert imgs[0].pixels.shape == (28, 28) and imgs[0].pixels.dtype == np.uint8
    moved = backend.decode_latent(imaging.DecodeLatentJob(
        model=m, latent=z[0], directions=(("style", 1.0),)), ctx)
    assert not np.allclose(moved, z[0])
    Image.new("RGB", (50, 30), (10, 200, 10)).save(tmp_path / "p.png")
    pic = backend.encode_picture(imaging.EncodePictureJob(model=m, path=str(tmp_path / "p.png")),
                                 ctx)
    assert pic.latent.shape == (8,) and pic.reconstruction.shape == (28, 28)
    assert any("square" in note for note in pic.notes)      # 50×30 was centre-cropped
    ctx.events.clear()
    zs = backend.morph(imaging.MorphJob(model=m, start=imaging.LatentSource(latent=z[0]),
                                        end=imaging.LatentSource(seed=5), frames=6), ctx)
    assert zs.shape == (6, 8) and np.allclose(zs[0], z[0]) and len(_images(ctx)) == 6
    assert len(ctx.models.loaded) == 1                       # one model load, reused


def test_bad_requests_raise_readable_errors(tiny_model_dir, tmp_path):
    ctx, m = _Ctx(), str(tiny_model_dir)
    with pytest.raises(UsageError, match="no direction 'smile'.*style"):
        backend.decode_latent(imaging.DecodeLatentJob(model=m, latent=np.zeros(8),
                                                      directions=(("smile", 1.0),)), ctx)
    with pytest.raises(UsageError, match="8"):
        backend.decode_latent(imaging.DecodeLatentJob(model=m, latent=np.zeros(5)), ctx)
    with pytest.raises(UsageError, match="NaN"):
        backend.decode_latent(imaging.DecodeLatentJob(model=m, latent=np.full(8, np.nan)), ctx)
    (tmp_path / "bad.png").write_bytes(b"nope")
    with pytest.raises(DataError, match="bad.png"):
        backend.encode_picture(imaging.EncodePictureJob(model=m,
                                                        path=str(tmp_path / "bad.png")), ctx)
    with pytest.raises(UsageError):
        backend.morph(imaging.MorphJob(model=m, frames=1), ctx)
    with pytest.raises(ValueError):
        imaging.LatentSource()


def test_cancel_stops_between_images(tiny_model_dir):
    ctx = _Ctx()
    ctx.token.cancel()
    with pytest.raises(JobCancelled):
        backend.seed_grid(imaging.SeedGridJob(model=str(tiny_model_dir), seeds=(0, 1, 2, 3)),
                          ctx)
    assert _images(ctx) == []


def test_same_seed_same_samples(tiny_model_dir):
    a = backend.seed_grid(imaging.SeedGridJob(model=str(tiny_model_dir), seeds=(4, 5),
                                              temperature=0.5), _Ctx())
    b = backend.seed_grid(imaging.SeedGridJob(model=str(tiny_model_dir), seeds=(4, 5),
                                              temperature=0.5), _Ctx())
    assert np.array_equal(a, b) and not np.array_equal(a[0], a[1])


def test_an_encoded_picture_is_refined_towards_its_best_reconstruction(tiny_model_dir):
    """encode_pixels: the encoder's mean, then gradient steps on the latent only (the weights
    are untouched); the reconstruction gets closer to the picture, deterministically."""
    m = ImageModel(tiny_model_dir)
    size, ch = m.cfg.image_size, m.cfg.channels
    pixels = np.random.default_rng(0).integers(0, 256, (3, size, size, ch), dtype=np.uint8)
    weights = {k: v.clone() for k, v in m.vae.state_dict().items()}

    def mse(z):
        rec = m.decode(z).reshape(pixels.shape).astype(np.float32)
        return float(((rec - pixels) ** 2).mean())

    mean = m.encode_pixels(pixels, refine=0)
    refined = m.encode_pixels(pixels, refine=10)
    assert mse(refined) < mse(mean)
    assert np.array_equal(refined, m.encode_pixels(pixels, refine=10))
    assert np.array_equal(m.encode_pixels(pixels[0]), m.encode_pixels(pixels[:1])[0])
    assert all(torch.equal(v, m.vae.state_dict()[k]) for k, v in weights.items())
    assert all(p.grad is None for p in m.vae.parameters())
