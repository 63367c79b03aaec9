"""Tiny seeded image VAEs, toy labelled images and model folders for fast image tests."""

from __future__ import annotations

import numpy as np
import torch

from desktop_app.ml.image.datasets import ImageSet
from desktop_app.ml.image.tiny import tiny_config, tiny_vae, tiny_vae_dir

tiny_model = tiny_vae   # the name these tests use
__all__ = ["tiny_config", "tiny_model", "toy_images", "make_tiny_model_dir",
           "add_tiny_flow_prior"]


def toy_images(n: int = 40, size: int = 28, channels: int = 1, seed: int = 0) -> ImageSet:
    """Blobs whose brightness and position are two labelled attributes."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:size, 0:size] / size
    px, labels_b, labels_p = [], [], []
    for _ in range(n):
        bright, right = rng.integers(0, 2), rng.integers(0, 2)
        cx = 0.7 if right else 0.3
        blob = np.exp(-((xx - cx) ** 2 + (yy - 0.5) ** 2) / 0.02) * (0.9 if bright else 0.4)
        img = (np.clip(blob + rng.normal(0, 0.02, blob.shape), 0, 1) * 255).astype(np.uint8)
        px.append(np.repeat(img[..., None], channels, axis=2))
        labels_b.append(bright)
        labels_p.append(right)
    return ImageSet(pixels=np.stack(px), names=[f"toy-{i}" for i in range(n)],
                    labels={"style": np.array(labels_b, float),
                            "woman": np.array(labels_p, float)},
                    categories={"group": ["toy"] * n}, flip_ok=np.ones(n, bool))


def make_tiny_model_dir(folder):
    """A complete tiny 28x28 model folder: weights, directions ("style", "woman", pc*), atlas."""
    return tiny_vae_dir(folder, data=toy_images(), held_out=10)


def add_tiny_flow_prior(folder, seed: int = 0, steps: int = 0, extra: dict | None = None):
    """Give a model folder a tiny learned prior (random weights unless ``steps`` trains it)."""
    from desktop_app.ml.image.flow_prior import FlowPrior, FlowPriorConfig, save_flow_prior
    from desktop_app.ml.image.model_dir import load_vae

    _, cfg = load_vae(folder)
    torch.manual_seed(seed)
    prior = FlowPrior(FlowPriorConfig(latent_dim=cfg["latent_dim"], width=32, hidden=64,
                                      blocks=2))
    # the zero-initialised layers get random weights, so the field and its conditioning are
    # not trivially zero
    for layer in [prior.out] + [b.mod for b in prior.blocks]:
        for p in layer.parameters():
            torch.nn.init.normal_(p, std=0.2)
    save_flow_prior(prior.eval(), folder, fp16=False, extra=extra)
    return folder
