"""Decoder sharpening: L1 + patch discriminator in the shared loop, encoder frozen."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from desktop_app.ml.image import train_stages
from desktop_app.ml.image.decoder_gan import DecoderGAN, PatchDiscriminator
from desktop_app.ml.image.model_dir import load_vae
from desktop_app.ml.training.loop import train
from desktop_app.core.errors import UsageError
from image_helpers import add_tiny_flow_prior, make_tiny_model_dir, tiny_model, toy_images


def test_discriminator_gives_patch_logits():
    d = PatchDiscriminator(3)
    assert d(torch.rand(2, 3, 64, 64)).shape == (2, 1, 8, 8)


def test_generator_term_moves_only_the_decoder():
    torch.manual_seed(0)
    gan = DecoderGAN(tiny_model(), disc_start=0, disc_weight=0.5).train()
    z, x = torch.randn(4, 8), torch.rand(4, 1, 28, 28)
    parts = gan.losses(z, x)
    assert set(parts) >= {"loss", "rec", "d", "lam"}
    parts["loss"].backward()
    assert all(p.grad is None for p in gan.vae.encoder.parameters())
    assert gan.vae.decoder.out.weight.grad.abs().sum() > 0
    assert all(p.grad is not None for p in gan.disc.parameters())
    # the discriminator's gradient comes from its own hinge loss only: recompute it alone
    gan.zero_grad()
    fake = gan.vae.decode(z).detach()
    d_only = (torch.relu(1 - gan.disc(x)).mean() + torch.relu(1 + gan.disc(fake)).mean())
    ref = torch.autograd.grad(d_only, list(gan.disc.parameters()))
    gan.gan_step.zero_()
    gan.losses(z, x)["loss"].backward()
    for r, p in zip(ref, gan.disc.parameters()):
        assert torch.allclose(r, p.grad, atol=1e-6)


@pytest.mark.parametrize("recipe", ["gan", "mse", "wide"])
def test_decoder_stage_trains_and_exports(tmp_path, recipe):
    folder = make_tiny_model_dir(tmp_path / "tiny")
    data = toy_images()
    before, _ = load_vae(folder)
    task, cfg = train_stages.build("decoder", folder, data, np.arange(30), np.arange(30, 40),
                                   steps=6, seed=0, data_id="toy", decoder_recipe=recipe)
    cfg.eval_every = cfg.sample_every = cfg.checkpoint_every = 0
    task.disc_start = 2
    cfg.warmup_steps, cfg.lr = 0, 1e-2
    train(task, cfg, tmp_path / "run")
    after, _ = load_vae(tmp_path / "run")
    b, a = before.state_dict(), after.state_dict()
    # exported as fp16: the encoder is the same up to that rounding
    assert all(torch.equal(b[k].half().float(), a[k]) for k in b if k.startswith("encoder."))
    assert any(not torch.allclose(b[k], a[k], atol=1e-3) for k in b if k.startswith("decoder."))
    # the mse recipe adds the full-size refinement head, and it was trained (no longer zero)
    assert after.cfg.refine == train_stages.DECODER_RECIPES[recipe]["refine"]
    assert after.cfg.wide == train_stages.DECODER_RECIPES[recipe]["wide"]
    if recipe == "mse":
        assert a["decoder.refine.4.weight"].abs().max() > 0
        assert task.mse_weight == 10.0
    else:
        assert "decoder.refine.4.weight" not in a
    if recipe == "wide":   # the zero-initialised parts were trained
        assert a["decoder.head.4.weight"].abs().max() > 0
        assert task.hf_weight > 0


def test_wide_decoder_starts_as_the_same_decoder_and_round_trips(tmp_path):
    from desktop_app.ml.image.vae import ResBlock

    plain = tiny_model(size=64)
    z = torch.randn(3, 8)
    wide = train_stages.with_refine_head(plain, 0, 8)
    assert wide.cfg.wide == 8 and plain.cfg.wide == 0
    assert sum(isinstance(m, ResBlock) for m in wide.decoder.body) == 2   # at 16 and 32 px
    assert torch.equal(plain.decode(z), wide.decode(z))      # every new part starts at zero
    assert train_stages.with_refine_head(wide, 0, 16) is wide
    _round_trips_with_its_new_part(wide, wide.decoder.head[-1], "wide", plain, z, tmp_path)


def test_high_frequency_loss_prefers_the_sharp_picture():
    from desktop_app.ml.image.decoder_gan import high_frequency_loss

    torch.manual_seed(0)
    x = (torch.rand(2, 3, 32, 32) > 0.5).float()              # hard edges everywhere
    blurred = torch.nn.functional.avg_pool2d(x, 3, stride=1, padding=1)
    assert float(high_frequency_loss(x, x)) == 0.0
    assert float(high_frequency_loss(blurred, x)) > 0.1
    # its gradient sharpens: a small step against it raises the blurred picture's energy
    b = blurred.clone().requires_grad_(True)
    high_frequency_loss(b, x).backward()
    from desktop_app.ml.image.quality import sharpness
    stepped = (b - 0.05 * b.grad).detach()
    to_np = lambda t: t.permute(0, 2, 3, 1).numpy() * 255.0       # noqa: E731
    assert sharpness(to_np(stepped)) > sharpness(to_np(blurred))


def test_the_export_keeps_the_evaluation_that_best_meets_both_targets(tmp_path):
    from desktop_app.ml.image.decoder_gan import DecoderGANTask

    folder = make_tiny_model_dir(tmp_path / "tiny")
    vae, _ = load_vae(folder)
    data = toy_images()
    mu = np.random.default_rng(0).normal(size=(40, 8)).astype(np.float32)
    lv = np.full_like(mu, -4.0)
    task = DecoderGANTask(vae, data.pixels[:30], mu[:30], lv[:30], mu[:30], lv[:30],
                          np.ones(30, bool), data.pixels[30:], mu[30:], data_id="toy",
                          prior_latents=mu[:6], real_sharpness=1e-3)
    task.best_dir = tmp_path / "best"
    model = task.build_model()
    assert "(best)" in task.sample(model, 0)
    kept = {k: v.clone() for k, v in model.vae.state_dict().items()}
    with torch.no_grad():                 # a much worse decoder: every pixel wrong
        model.vae.decoder.out.bias.fill_(-30.0)
    assert "(best)" not in task.sample(model, 1)
    task.restore_best(model)
    assert all(torch.equal(kept[k], v) for k, v in model.vae.state_dict().items())
    saved, _ = load_vae(tmp_path / "best")
    assert torch.allclose(saved.decode(torch.from_numpy(mu[:2])),
                          model.vae.decode(torch.from_numpy(mu[:2])), atol=1e-2)
    assert DecoderGANTask.score(0.008, 0.8) == pytest.approx(2.02)
    # a met target is not traded for a gain on the other that still misses it
    assert DecoderGANTask.score(0.0105, 0.80) > DecoderGANTask.score(0.0100, 0.70)


def test_refine_head_starts_as_the_same_decoder_and_round_trips(tmp_path):
    plain = tiny_model(size=64)
    z = torch.randn(3, 8)
    headed = train_stages.with_refine_head(plain, 8)
    assert headed.cfg.refine == 8 and plain.cfg.refine == 0
    assert torch.equal(plain.decode(z), headed.decode(z))      # zero-initialised correction
    assert train_stages.with_refine_head(headed, 16) is headed  # already has one
    _round_trips_with_its_new_part(headed, headed.decoder.refine[-1], "refine", plain, z,
                                   tmp_path)


def _round_trips_with_its_new_part(model, last_conv, key: str, plain, z, tmp_path) -> None:
    """Once the new part's last conv is non-zero, the saved folder keeps the ``key`` size and
    decodes like ``model`` (not like ``plain``); a negative ``key`` size is refused."""
    from desktop_app.ml.image.model_dir import save_vae
    from desktop_app.ml.image.vae import VAEConfig

    with torch.no_grad():
        last_conv.bias.fill_(0.5)
    save_vae(model, tmp_path / "m")
    loaded, raw = load_vae(tmp_path / "m")
    assert raw[key] == 8
    assert torch.allclose(loaded.decode(z), model.decode(z), atol=1e-6)
    assert not torch.allclose(loaded.decode(z), plain.decode(z), atol=1e-3)
    with pytest.raises(ValueError, match=key):
        VAEConfig(**{key: -1})


def test_squared_error_term_adds_to_the_reconstruction_loss():
    vae = tiny_model()
    z, x = torch.randn(4, 8), torch.rand(4, 1, 28, 28)
    plain = DecoderGAN(vae, disc_start=0, disc_weight=0.5).eval().losses(z, x)["rec"]
    weighted = DecoderGAN(vae, disc_start=0, disc_weight=0.5, mse_weight=10.0).eval()
    rec = weighted.losses(z, x)["rec"]
    mse = (vae.decode(z) - x).pow(2).mean()
    assert torch.allclose(rec, plain + 10.0 * mse, atol=1e-6)


def test_decoded_prior_samples_are_a_second_kind_of_fake():
    torch.manual_seed(0)
    gan = DecoderGAN(tiny_model(), disc_start=0, disc_weight=0.5).train()
    z, x, zp = torch.randn(4, 8), torch.rand(4, 1, 28, 28), torch.randn(4, 8) * 3
    parts = gan.losses(z, x, zp)
    # the discriminator's hinge loss: real images against reconstructions *and* prior samples
    with torch.no_grad():
        fakes = torch.cat([gan.vae.decode(z), gan.vae.decode(zp)])
        d_ref = torch.relu(1 - gan.disc(x)).mean() + torch.relu(1 + gan.disc(fakes)).mean()
    assert torch.allclose(parts["d"], d_ref, atol=1e-6)
    # the decoder's adversarial gradient now depends on the prior samples
    gan.zero_grad()
    parts["loss"].backward()
    with_prior = gan.vae.decoder.out.weight.grad.clone()
    gan.zero_grad()
    gan.gan_step.zero_()
    gan.losses(z, x)["loss"].backward()
    assert not torch.allclose(with_prior, gan.vae.decoder.out.weight.grad)
    assert all(p.grad is None for p in gan.vae.encoder.parameters())


def test_prior_gan_recipe_draws_its_fakes_from_the_models_learned_prior(tmp_path, monkeypatch):
    monkeypatch.setattr(train_stages, "PRIOR_FAKES", 24)
    data = toy_images()
    plain = make_tiny_model_dir(tmp_path / "plain")
    with pytest.raises(UsageError, match="no learned prior"):
        train_stages.build("decoder", plain, data, np.arange(30), np.arange(30, 40), steps=2,
                           seed=0, data_id="toy", decoder_recipe="prior-gan")
    folder = add_tiny_flow_prior(make_tiny_model_dir(tmp_path / "tiny"))
    task, cfg = train_stages.build("decoder", folder, data, np.arange(30), np.arange(30, 40),
                                   steps=4, seed=0, data_id="toy", decoder_recipe="prior-gan")
    assert task.prior_fakes.shape == (24, 8) and task.identity()["prior_fakes"] == 24
    assert "fine-tuning the decoder" in task.origin     # not "starting from scratch"
    z, x, zp = task.train_batch(torch.Generator().manual_seed(0), 6, 0, 1)
    assert z.shape == zp.shape == (6, 8) and x.shape == (6, 1, 28, 28)
    # every fake latent is one of the pool's (the prior's samples, not fresh noise)
    assert all(any(torch.equal(r, q) for q in task.prior_fakes) for r in zp)
    # no evaluation (the export would keep the best one: here the untrained step 0's)
    cfg.eval_every = cfg.sample_every = cfg.checkpoint_every = 0
    cfg.eval_at_start = False
    task.disc_start, cfg.warmup_steps, cfg.lr = 1, 0, 1e-2
    train(task, cfg, tmp_path / "run")
    after, _ = load_vae(tmp_path / "run")
    assert after.cfg.wide == 16 and after.state_dict()["decoder.head.4.weight"].abs().max() > 0
