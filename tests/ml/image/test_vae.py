"""The VAE itself: shapes, loss terms, learning on a few steps, save/load round trip."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from desktop_app.core.errors import ModelLoadError
from desktop_app.ml.image.model_dir import load_vae, save_vae
from desktop_app.ml.image.train_task import ImageVAETask, held_out_mse, vae_loss
from desktop_app.ml.image.vae import ConvVAE, VAEConfig

from image_helpers import tiny_config, tiny_model, toy_images


@pytest.mark.parametrize("size,channels", [(28, 1), (64, 3)])
def test_encode_decode_shapes(size, channels):
    m = tiny_model(size, latent=8)
    x = torch.rand(3, channels, size, size)
    mu, logvar = m.encode(x)
    assert mu.shape == (3, 8) and logvar.shape == (3, 8)
    y = m.decode(mu)
    assert y.shape == (3, channels, size, size)
    assert float(y.detach().min()) >= 0.0 and float(y.detach().max()) <= 1.0
    recon, mu2, _ = m(x, sample=False)
    assert torch.allclose(recon, y) and torch.allclose(mu, mu2)


def test_config_rejects_bad_shapes():
    with pytest.raises(ValueError):
        VAEConfig(image_size=32)
    with pytest.raises(ValueError):
        VAEConfig(image_size=28, channels=1, widths=(8, 16, 32))
    cfg = tiny_config(64)
    assert VAEConfig.from_dict(cfg.to_dict()) == cfg


def test_kl_warmup_ramps_to_beta():
    m = ConvVAE(VAEConfig(image_size=28, channels=1, latent_dim=4, widths=(8, 8), beta=0.5,
                          kl_warmup_steps=100))
    assert m.kl_weight(0) == 0.0
    assert m.kl_weight(50) == pytest.approx(0.25)
    assert m.kl_weight(1000) == pytest.approx(0.5)


def test_loss_decreases_over_a_few_steps():
    torch.manual_seed(0)
    data = toy_images(32)
    task = ImageVAETask(data, np.arange(24), np.arange(24, 32), tiny_config(28, 4),
                        data_id="toy")
    model = task.build_model().train()
    opt = torch.optim.Adam(model.parameters(), lr=3e-3)
    gen = torch.Generator().manual_seed(0)
    losses = []
    for _ in range(30):
        batch = task.train_batch(gen, 16, 0, 1)
        loss = task.loss(model, batch)
        opt.zero_grad()
        loss.backward()
        opt.step()
        losses.append(float(loss.detach()))
    assert int(model.train_step) == 30            # the warm-up counter advanced
    assert np.mean(losses[-5:]) < 0.7 * np.mean(losses[:5])
    assert held_out_mse(model, task.held_x) < 0.2


def test_eval_loss_does_not_advance_warmup():
    m = tiny_model()
    x = torch.rand(2, 1, 28, 28)
    vae_loss(m, x)
    assert int(m.train_step) == 0


def test_train_batch_parts_cover_the_global_batch():
    data = toy_images(20)
    task = ImageVAETask(data, np.arange(16), np.arange(16, 20), tiny_config(), data_id="toy")
    full = task.train_batch(torch.Generator().manual_seed(3), 8, 0, 1)
    parts = [task.train_batch(torch.Generator().manual_seed(3), 8, p, 2) for p in range(2)]
    assert torch.equal(torch.cat(parts), full)


def test_save_load_round_trip_fp16(tmp_path):
    m = tiny_model(64)
    save_vae(m, tmp_path / "m", fp16=True)
    loaded, cfg = load_vae(tmp_path / "m")
    z = torch.randn(2, 8)
    with torch.no_grad():
        assert torch.allclose(loaded.decode(z), m.decode(z), atol=5e-3)
    assert cfg["model_type"] == "reverie-conv-vae"


def test_load_rejects_damaged_weights(tmp_path):
    save_vae(tiny_model(), tmp_path / "m")
    w = tmp_path / "m" / "model.safetensors"
    w.write_bytes(w.read_bytes()[:200])
    with pytest.raises(ModelLoadError):
        load_vae(tmp_path / "m")
