"""Tiny seeded image VAEs with random weights, for tests and benchmarks (the image medium's one
dummy-model helper, as ``desktop_app.ml.music.tiny`` is the music one).

Same seed, size and latent: the same weights, so every test that needs "a small image model"
builds it here (diffusers keeps one ``get_dummy_components`` per pipeline for the same
reason). They decode noise-like pictures; they exercise the plumbing, not the quality.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from desktop_app.ml.image.vae import ConvVAE, VAEConfig


def tiny_config(size: int = 28, latent: int = 8) -> VAEConfig:
    """28×28 grey (two stages) or 64×64 colour (four stages), a few channels each."""
    if size == 28:
        return VAEConfig(image_size=28, channels=1, latent_dim=latent, widths=(8, 16),
                         kl_warmup_steps=10)
    return VAEConfig(image_size=64, channels=3, latent_dim=latent, widths=(8, 8, 16, 16),
                     kl_warmup_steps=10)


def tiny_vae(size: int = 28, latent: int = 8, seed: int = 0,
             config: VAEConfig | None = None) -> ConvVAE:
    """A seeded random VAE in eval mode (``config`` overrides the tiny sizes)."""
    torch.manual_seed(seed)
    return ConvVAE(config or tiny_config(size, latent)).eval()


def tiny_vae_dir(folder: str | Path, size: int = 28, latent: int = 8, seed: int = 0, *,
                 data=None, held_out: int = 0, config: VAEConfig | None = None) -> Path:
    """Write a tiny VAE as a model folder; with ``data`` (an ``ImageSet``) also its directions
    and atlas, the last ``held_out`` images held out."""
    from desktop_app.ml.image.model_dir import save_vae

    folder = Path(folder)
    save_vae(tiny_vae(size, latent, seed, config), folder)
    if data is not None:
        from desktop_app.ml.image.finalize import finalize

        n = len(data)
        finalize(folder, data, np.arange(n - held_out), np.arange(n - held_out, n))
    return folder
