"""The two training stages after the VAE (issue 21): a sharper decoder and a learned prior.

``reverie train image --stage decoder --init-from MODEL`` fine-tunes MODEL's decoder with L1 +
a patch discriminator (:mod:`.decoder_gan`; the encoder is frozen) and writes ``config.json`` +
``model.safetensors`` into ``--out``. ``--stage prior --init-from MODEL`` trains the
category/style-conditioned flow prior (:mod:`.flow_prior`) on MODEL's encodings of the
training split and writes ``flow_prior.safetensors`` into ``--out``. Both run the shared
training loop (checkpoints, ``--resume``); the settings here are the ones the built-in emoji
model was trained with.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from desktop_app.core.errors import UsageError
from desktop_app.ml.image.datasets import ImageSet
from desktop_app.ml.training.loop import TrainConfig

STAGES = ("decoder", "prior")
#: Decoder-stage recipes (``--decoder-recipe``): refinement head width and loss settings.
#: ``gan`` made the built-in emoji model's decoder (L1 + adversarial, posterior noise 1.0).
#: ``mse`` adds a full-size refinement head, halves the noise, adds a squared-error term 10x
#: the L1 one and a fifth of the adversarial weight: on emoji (2,400 steps from the ``gan``
#: decoder) the held-out MSE fell 0.0101 -> 0.0095, but the reconstructions' sharpness fell
#: 0.66 -> 0.50 of the originals', so the shipped model keeps the ``gan`` decoder.
#: ``wide`` adds residual blocks at 16 and 32 px and a full-size feature head (``VAEConfig.wide``),
#: a squared-error term and a high-frequency term (Laplacian L1 + per-image energy gap).
#: ``wide-settle`` continues a ``wide`` decoder with 3x the squared-error weight and a third of
#: the adversarial one (the high-frequency term holds the sharpness while the error falls).
#: ``prior-gan`` continues a ``wide`` decoder with the ``wide-settle`` pixel losses, and the
#: discriminator also judges decoded samples of the model's learned prior (a pool of
#: ``PRIOR_FAKES`` latents), so the decoder learns to draw sharply where samples land, not only
#: at the training images' own latents. (Moving and recolouring half of each batch here too, as
#: the joint stage does, was measured on the jointly fine-tuned emoji model and not kept: held-out
#: MSE 0.00837 against 0.00847, but reconstructions' sharpness 0.78 against 0.85.)
#: Letting the encoder learn in this stage too (half of each batch moved and recoloured, the
#: adversarial term kept off the encoder by a second, detached decoding, the KL term's mean part
#: at 0.6) was tried from the first jointly fine-tuned emoji weights and not kept: held-out MSE
#: 0.00847 -> 0.0092 (step 200) -> 0.0091 (400); with the adversarial term reaching the
#: encoder, 0.0089 at 1,200. The joint stage (``--stage joint``) is where the encoder learns.
DECODER_RECIPES = {
    "gan": {"refine": 0, "wide": 0, "noise": 1.0, "disc_weight": 0.5, "mse_weight": 0.0},
    "mse": {"refine": 32, "wide": 0, "noise": 0.5, "disc_weight": 0.1, "mse_weight": 10.0},
    "wide": {"refine": 0, "wide": 16, "noise": 0.5, "disc_weight": 0.3, "mse_weight": 10.0,
             "hf_weight": 1.0, "lr": 3e-4},
    "wide-settle": {"refine": 0, "wide": 16, "noise": 0.5, "disc_weight": 0.1,
                    "mse_weight": 30.0, "hf_weight": 1.0, "lr": 1.5e-4},
    "prior-gan": {"refine": 0, "wide": 16, "noise": 0.5, "disc_weight": 0.3,
                  "mse_weight": 30.0, "hf_weight": 1.0, "lr": 1.5e-4, "prior_fakes": True},
}
#: Prior latents drawn for ``prior-gan`` (seeds from ``PRIOR_FAKE_SEED``: apart from the
#: evaluation's 5000.. and the bench's 0..1399).
PRIOR_FAKES, PRIOR_FAKE_SEED = 8192, 100_000


def with_refine_head(vae, width: int, wide: int = 0):
    """``vae`` with a zero-initialised refinement head of ``width`` and/or the zero-initialised
    blocks of the wide decoder (the same decoder output); parts it has are kept as they are."""
    from dataclasses import replace

    from desktop_app.ml.image.vae import ConvVAE

    refine = vae.cfg.refine or width
    wide = vae.cfg.wide or wide
    if (refine, wide) == (vae.cfg.refine, vae.cfg.wide):
        return vae
    new = ConvVAE(replace(vae.cfg, refine=refine, wide=wide))
    if wide and not vae.cfg.wide:
        _load_into_wide(new, vae)
    else:
        missing, unexpected = new.load_state_dict(vae.state_dict(), strict=False)
        assert not unexpected and all(k.startswith("decoder.refine.") for k in missing)
    return new.eval()


def _load_into_wide(new, old) -> None:
    """Copy ``old``'s weights into a wide decoder, whose body has residual blocks inserted
    (its Sequential indices shift): the body's modules with parameters are matched in order."""
    sd = {k: v for k, v in old.state_dict().items() if not k.startswith("decoder.body.")}
    missing, unexpected = new.load_state_dict(sd, strict=False)
    assert not unexpected, unexpected
    from desktop_app.ml.image.vae import ResBlock

    olds = [m for m in old.decoder.body if any(True for _ in m.parameters())]
    news = [m for m in new.decoder.body if any(True for _ in m.parameters())
            and not isinstance(m, ResBlock)]
    assert len(olds) == len(news)
    for a, b in zip(olds, news):
        b.load_state_dict(a.state_dict())


@torch.no_grad()
def encodings(vae, pixels: np.ndarray, batch: int = 256) -> tuple[np.ndarray, np.ndarray]:
    """Posterior ``(mu, logvar)`` of uint8 images ``(N, H, W, C)``."""
    mus, lvs = [], []
    for i in range(0, len(pixels), batch):
        x = torch.from_numpy(np.ascontiguousarray(pixels[i:i + batch])).permute(0, 3, 1, 2)
        mu, lv = vae.encode(x.float() / 255.0)
        mus.append(mu.numpy())
        lvs.append(lv.numpy())
    return np.concatenate(mus), np.concatenate(lvs)


def _prior_pool(m, init_from: str | Path) -> np.ndarray:
    """``PRIOR_FAKES`` latents from the learned prior of ``m`` (the ImageModel of
    ``init_from``; Any, noise 1, guidance 4)."""
    if m.flow is None:
        raise UsageError(f"{init_from} has no learned prior (flow_prior.safetensors), which "
                         f"the prior-gan recipe draws its samples from")
    seeds = range(PRIOR_FAKE_SEED, PRIOR_FAKE_SEED + PRIOR_FAKES)
    return m.sample_seeds(seeds, 1.0, guidance=4.0).astype(np.float32)


def _sample_check(m, data: ImageSet, n: int = 300) -> dict:
    """Latents from the learned prior of ``m`` (the ImageModel of the model being fine-tuned;
    seeds 5000.., not the bench's 0..599; Any, noise 1, guidance 4) and the real images' mean
    Laplacian energy, for the decoder stage's per-evaluation sharpness; nothing when the model
    has no flow prior."""
    from desktop_app.ml.image.quality import sharpness

    if m.flow is None:
        return {}
    z = m.sample_seeds(range(5000, 5000 + n), 1.0, guidance=4.0)
    real = data.pixels[np.random.default_rng(5).choice(len(data), min(600, len(data)),
                                                       replace=False)]
    return {"prior_latents": z.astype(np.float32), "real_sharpness": sharpness(real)}


def conditions(data: ImageSet) -> tuple[np.ndarray, np.ndarray]:
    """Group and style indices (``flow_prior.GROUPS`` / ``STYLES``) of every image."""
    from desktop_app.ml.image.flow_prior import GROUPS, STYLES

    groups, styles = data.categories.get("group"), data.categories.get("style")
    if groups is None or styles is None or any(g not in GROUPS for g in groups) \
            or any(s not in STYLES for s in styles):
        raise UsageError("--stage prior needs images labelled with their Unicode emoji group "
                         "and style (use --data builtin:emoji)")
    return (np.array([GROUPS.index(g) for g in groups]),
            np.array([STYLES.index(s) for s in styles]))


def check_fits(vae, data: ImageSet, name: str | Path) -> None:
    """UsageError unless the model ``name`` draws images of ``data``'s size and channels."""
    if vae.cfg.image_size != data.pixels.shape[1] or vae.cfg.channels != data.channels:
        raise UsageError(f"{name} draws {vae.cfg.image_size}px images with "
                         f"{vae.cfg.channels} channel(s); the data does not match")


def build(stage: str, init_from: str | Path, data: ImageSet, train_idx: np.ndarray,
          held_idx: np.ndarray, *, steps: int, seed: int, data_id: str,
          decoder_recipe: str = "gan"):
    """``(task, TrainConfig)`` for ``stage`` starting from the model folder ``init_from``."""
    from desktop_app.ml.image.model_dir import load_vae

    vae, raw = load_vae(init_from)
    check_fits(vae, data, init_from)
    flip_ok = data.flip_ok if data.flip_ok is not None else np.ones(len(data), bool)
    mu, lv = encodings(vae, data.pixels)
    if stage == "prior":
        from desktop_app.ml.image.flow_prior import FlowPriorConfig, FlowPriorTask

        g, s = conditions(data)
        tr, fo = train_idx, flip_ok[train_idx]
        mu_f, _ = encodings(vae, np.ascontiguousarray(data.pixels[tr][fo][:, :, ::-1]))
        lat = np.concatenate([mu[tr], mu_f])            # mirror images where flipping is ok
        task = FlowPriorTask(lat, np.concatenate([g[tr], g[tr][fo]]),
                             np.concatenate([s[tr], s[tr][fo]]),
                             (mu[held_idx], g[held_idx], s[held_idx]),
                             FlowPriorConfig(latent_dim=vae.cfg.latent_dim), data_id=data_id,
                             balance=0.5)
        task.origin = f"a new prior over the latents of {init_from} (its VAE is not changed)"
        cfg = TrainConfig(steps=steps, batch_size=128, lr=1e-3, min_lr=5e-5, warmup_steps=200,
                          weight_decay=0.01, beta2=0.99, eval_every=500, checkpoint_every=500,
                          log_every=100, seed=seed, device="cpu")
        return task, cfg
    if stage == "decoder":
        from desktop_app.ml.image.decoder_gan import DecoderGANTask

        mu_f, lv_f = encodings(vae, np.ascontiguousarray(data.pixels[:, :, ::-1]))
        tr = train_idx
        if decoder_recipe not in DECODER_RECIPES:
            raise UsageError(f"unknown decoder recipe {decoder_recipe!r}; choose "
                             + ", ".join(DECODER_RECIPES))
        recipe = dict(DECODER_RECIPES[decoder_recipe])
        lr = recipe.pop("lr", 2e-4)
        from desktop_app.ml.image.runtime import ImageModel
        sampler = ImageModel(init_from)   # its learned prior: the evaluation's samples, the pool
        if recipe.pop("prior_fakes", False):
            recipe["prior_fakes"] = _prior_pool(sampler, init_from)
        vae = with_refine_head(vae, recipe.pop("refine"), recipe.pop("wide"))
        task = DecoderGANTask(vae, data.pixels[tr], mu[tr], lv[tr], mu_f[tr], lv_f[tr],
                              flip_ok[tr], data.pixels[held_idx], mu[held_idx],
                              data_id=data_id, extra_config={"data": raw.get("data", data_id)},
                              **recipe, **_sample_check(sampler, data))
        task.origin = (f"fine-tuning the decoder of {init_from} ({decoder_recipe} recipe; the "
                       f"encoder is frozen)")
        cfg = TrainConfig(steps=steps, batch_size=16, lr=lr, min_lr=lr / 10, warmup_steps=100,
                          weight_decay=0.0, beta1=0.5, beta2=0.9, grad_clip=0.0,
                          eval_every=200, sample_every=200, checkpoint_every=200, log_every=25,
                          seed=seed, device="cpu", eval_at_start=True)
        return task, cfg
    raise UsageError(f"unknown stage {stage!r}; choose vae, " + ", ".join(STAGES))
