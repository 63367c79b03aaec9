"""Training-time augmentation (desktop_app/ml/image/augment.py) and its use by the VAE task."""

from __future__ import annotations

import math

import numpy as np
import torch

from desktop_app.ml.image.augment import affine, augment, rotate_hue
from desktop_app.ml.image.datasets import ImageSet
from desktop_app.ml.image.train_task import ImageVAETask
from desktop_app.ml.image.vae import VAEConfig


def _gen(seed: int = 0) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


def test_hue_rotation_turns_colours_and_keeps_greys():
    pixels = torch.tensor([[1.0, 0.0, 0.0], [1.0, 1.0, 1.0], [0.5, 0.5, 0.5], [0.0, 0.0, 0.0]])
    x = pixels.T.reshape(1, 3, 2, 2)
    third = rotate_hue(x, torch.tensor([2 * math.pi / 3])).reshape(3, 4).T
    # a third of a turn about the grey axis is the cyclic permutation R -> G -> B
    assert torch.allclose(third[0], torch.tensor([0.0, 1.0, 0.0]), atol=1e-6)
    assert torch.allclose(third[1:], pixels[1:], atol=1e-6)          # white, grey, black stay
    assert torch.allclose(rotate_hue(x, torch.tensor([0.0])), x, atol=1e-6)


def test_affine_keeps_the_background_and_moves_the_drawing():
    x = torch.ones(8, 3, 32, 32)
    x[:, :, 12:20, 12:20] = 0.0                       # a dark square on white
    y = affine(x, _gen(1))
    assert torch.equal(affine(x, _gen(1)), y)         # the caller's generator decides
    assert not torch.equal(affine(x, _gen(2)), y)
    assert (y[:, :, 0, :] > 0.99).all() and (y[:, :, :, 0] > 0.99).all()   # border stays white
    dark = (1 - y).sum((1, 2, 3)) / (1 - x).sum((1, 2, 3))
    assert ((dark > 0.6) & (dark < 1.45)).all()      # scaled at most 0.85..1.15 per side
    assert (y - x).abs().amax((1, 2, 3)).min() > 0.1  # every image moved


def test_augment_greyscale_has_no_colour_step():
    x = torch.rand(4, 1, 28, 28, generator=_gen(3))
    assert augment(x, _gen(4)).shape == x.shape


def test_vae_task_augments_the_asked_fraction_reproducibly():
    rng = np.random.default_rng(0)
    pixels = (rng.random((20, 28, 28, 1)) * 255).astype(np.uint8)
    data = ImageSet(pixels, names=[f"{i}" for i in range(20)])
    cfg = VAEConfig(image_size=28, channels=1, latent_dim=4, widths=(8, 16))
    plain = ImageVAETask(data, np.arange(16), np.arange(16, 20), cfg, data_id="t", flip=False)
    half = ImageVAETask(data, np.arange(16), np.arange(16, 20), cfg, data_id="t", flip=False,
                        augment=0.5)
    a, b = plain.train_batch(_gen(5), 8, 0, 1), half.train_batch(_gen(5), 8, 0, 1)
    assert torch.equal(a[4:], b[4:])                       # the same images drawn
    assert all(not torch.equal(a[i], b[i]) for i in range(4))
    assert torch.equal(half.train_batch(_gen(5), 8, 0, 1), b)
    assert half.identity()["augment"] == 0.5 and "augment" not in plain.identity()


def test_vae_task_starts_from_a_trained_model_without_changing_it():
    from desktop_app.ml.image.vae import ConvVAE

    cfg = VAEConfig(image_size=28, channels=1, latent_dim=4, widths=(8, 16), kl_warmup_steps=0)
    torch.manual_seed(0)
    init = ConvVAE(cfg).eval()
    before = {k: v.clone() for k, v in init.state_dict().items()}
    data = ImageSet(np.zeros((6, 28, 28, 1), np.uint8), names=list("abcdef"))
    task = ImageVAETask(data, np.arange(4), np.arange(4, 6), cfg, data_id="t", init=init)
    model = task.build_model()
    assert model.training and model.kl_weight(int(model.train_step)) == cfg.beta
    for k, v in model.state_dict().items():
        assert torch.equal(v, before[k]), k
    with torch.no_grad():
        next(model.parameters()).add_(1.0)
    assert all(torch.equal(v, before[k]) for k, v in init.state_dict().items())
