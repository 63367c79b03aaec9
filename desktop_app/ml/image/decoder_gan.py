"""Sharpen a trained VAE's decoder: L1 + an adversarial patch discriminator, encoder frozen.

A VAE decoder trained with a Gaussian likelihood predicts the average of what it cannot tell
apart, which is blur. Fine-tuning only the decoder with an L1 reconstruction term plus a
PatchGAN discriminator (Isola et al. 2017) trained from scratch here, with the adaptive weight
of VQGAN (Esser et al. 2021: the adversarial gradient at the last decoder layer is scaled to the
size of the reconstruction gradient), puts the missing detail back. The encoder does not
change, so latents, directions, atlases and the latent prior keep their meaning.

One optimiser serves both networks in the shared training loop: the generator's adversarial
term calls the discriminator with *detached* parameters (``torch.func.functional_call``), so
that term moves only the decoder, and the discriminator's hinge loss sees detached fakes, so it
moves only the discriminator.

Batches: the frozen encoder's posterior ``(mu, logvar)`` of each training image (and of its
mirror image, where flipping is allowed) is precomputed; the decoder sees
``z = mu + noise * sigma * eps`` so it also learns the neighbourhood a prior sample lands in.

With ``prior_fakes`` (a pool of latents drawn from the model's learned prior), the
discriminator also sees the decoder's pictures of *prior samples* as fakes, and the decoder's
adversarial term covers them (VAE/GAN, Larsen et al. 2016, used samples from the prior the same
way). A reconstruction is pulled towards its original by the pixel losses; a prior sample has no
original, so without this term the decoder only learns to draw sharply near the training
images' own latents, and a sampled latent between them decodes to an average of its
neighbours (on emoji: sharpness 0.85 of the originals' for reconstructions, 0.75 for samples).
"""

from __future__ import annotations

from pathlib import Path
from typing import Iterable

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn
from torch.func import functional_call

from desktop_app.ml.image.model_dir import save_vae
from desktop_app.ml.image.vae import ConvVAE


class PatchDiscriminator(nn.Module):
    """64x64 image -> 8x8 real/fake logits (each sees a 34x34 patch)."""

    def __init__(self, channels: int = 3, widths: tuple[int, ...] = (32, 64, 128)) -> None:
        super().__init__()
        layers: list[nn.Module] = []
        c = channels
        for i, w in enumerate(widths):   # each: stride-2 4x4 conv, halves the side
            layers.append(nn.Conv2d(c, w, 4, stride=2, padding=1))
            if i > 0:
                layers.append(nn.GroupNorm(8, w))
            layers.append(nn.LeakyReLU(0.2))
            c = w
        layers.append(nn.Conv2d(c, 1, 3, padding=1))
        self.body = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.body(x * 2.0 - 1.0)              # (B, 1, H/8, W/8)


def laplacian(x: torch.Tensor) -> torch.Tensor:
    """4-neighbour discrete Laplacian of each channel, valid part: (B, C, H-2, W-2)."""
    return (-4 * x[..., 1:-1, 1:-1] + x[..., :-2, 1:-1] + x[..., 2:, 1:-1]
            + x[..., 1:-1, :-2] + x[..., 1:-1, 2:])


def high_frequency_loss(fake: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
    """L1 between the Laplacians (edges where the picture has them) plus the gap in each
    image's high-frequency energy, on a log scale (so a blurred output is pulled towards the
    real picture's amount of detail, not only its average).  The energy is that of
    :func:`desktop_app.ml.image.quality.sharpness` (grey image), measured per image."""
    lf, lx = laplacian(fake), laplacian(x)
    edges = (lf - lx).abs().mean()
    ef = laplacian(fake.mean(1)).pow(2).mean((-2, -1))          # (B,)
    ex = laplacian(x.mean(1)).pow(2).mean((-2, -1))
    energy = (torch.log(ef + 1e-4) - torch.log(ex + 1e-4)).abs().mean()
    return edges + 0.1 * energy


class DecoderGAN(nn.Module):
    """The VAE (encoder kept for export, frozen) + a discriminator, as one trainable module."""

    def __init__(self, vae: ConvVAE, disc_start: int, disc_weight: float,
                 mse_weight: float = 0.0, hf_weight: float = 0.0) -> None:
        super().__init__()
        self.mse_weight, self.hf_weight = mse_weight, hf_weight
        self.vae = vae
        for p in self.vae.encoder.parameters():
            p.requires_grad_(False)
        self.disc = PatchDiscriminator(vae.cfg.channels)
        self.disc_start = disc_start
        self.disc_weight = disc_weight
        self.register_buffer("gan_step", torch.zeros((), dtype=torch.long))

    def losses(self, z: torch.Tensor, x: torch.Tensor,
               z_prior: torch.Tensor | None = None) -> dict[str, torch.Tensor]:
        """Pixel losses of the reconstructions of ``x`` from ``z``; in training, the hinge loss
        of the discriminator and the decoder's adaptive adversarial term, on the
        reconstructions and, when given, on the decoded prior latents ``z_prior``."""
        fake = self.vae.decode(z)                                  # (B, C, H, W)
        # L1 keeps edges (it favours the median, not the blurry mean); the squared term,
        # weighted, holds the held-out MSE down while the discriminator adds detail
        rec = (fake - x).abs().mean()
        if self.mse_weight:
            rec = rec + self.mse_weight * (fake - x).pow(2).mean()
        if self.hf_weight:
            rec = rec + self.hf_weight * high_frequency_loss(fake, x)
        step = int(self.gan_step)
        if self.training:
            self.gan_step += 1
        if not self.training or not torch.is_grad_enabled():
            return {"loss": rec, "rec": rec}
        fakes = fake if z_prior is None else torch.cat([fake, self.vae.decode(z_prior)])
        frozen = {k: v.detach() for k, v in self.disc.named_parameters()}
        g_adv = -functional_call(self.disc, frozen, (fakes,)).mean()
        d_loss = (F.relu(1.0 - self.disc(x)).mean()
                  + F.relu(1.0 + self.disc(fakes.detach())).mean())
        if step < self.disc_start:        # warm the discriminator up before it steers the decoder
            return {"loss": rec + d_loss, "rec": rec, "d": d_loss}
        last = self.vae.decoder.out.weight
        g_rec = torch.autograd.grad(rec, last, retain_graph=True)[0]
        g_gan = torch.autograd.grad(g_adv, last, retain_graph=True)[0]
        lam = (g_rec.norm() / (g_gan.norm() + 1e-4)).clamp(0.0, 1e4).detach()
        return {"loss": rec + self.disc_weight * lam * g_adv + d_loss, "rec": rec, "d": d_loss,
                "lam": lam}


class DecoderGANTask:
    """``TrainTask`` for the shared loop (see :mod:`desktop_app.ml.training.loop`)."""

    def __init__(self, vae: ConvVAE, pixels: np.ndarray, mu: np.ndarray, logvar: np.ndarray,
                 mu_flip: np.ndarray, logvar_flip: np.ndarray, flip_ok: np.ndarray,
                 held_pixels: np.ndarray, held_mu: np.ndarray, *, data_id: str,
                 noise: float = 1.0, disc_start: int = 100, disc_weight: float = 0.5,
                 mse_weight: float = 0.0, hf_weight: float = 0.0,
                 prior_latents: np.ndarray | None = None, real_sharpness: float = 0.0,
                 prior_fakes: np.ndarray | None = None,
                 extra_config: dict | None = None) -> None:
        self.vae = vae
        self.data_id = data_id
        self.mse_weight, self.hf_weight = mse_weight, hf_weight
        # latents drawn from the model's learned prior (not the bench's seeds) and the real
        # images' mean Laplacian energy: every evaluation reports the samples' sharpness, and
        # the export keeps the evaluation that best meets both targets (see `score`)
        self.prior_z = None if prior_latents is None else torch.from_numpy(prior_latents)
        self.real_sharpness = real_sharpness
        # a pool of prior latents whose decodings are the discriminator's second kind of fake
        # (kept apart from the evaluation's latents: other seeds)
        self.prior_fakes = None if prior_fakes is None else torch.from_numpy(prior_fakes)
        self.best: tuple[float, int, dict] | None = None
        self.best_dir: Path | None = None
        self.noise, self.disc_start, self.disc_weight = noise, disc_start, disc_weight
        self.x = torch.from_numpy(np.ascontiguousarray(pixels)).permute(0, 3, 1, 2).contiguous()
        self.mu, self.std = torch.from_numpy(mu), torch.from_numpy(np.exp(0.5 * logvar))
        self.mu_f, self.std_f = torch.from_numpy(mu_flip), torch.from_numpy(np.exp(0.5 * logvar_flip))
        self.flip_ok = torch.from_numpy(np.asarray(flip_ok, bool))
        self.held_x = torch.from_numpy(np.ascontiguousarray(held_pixels)).permute(0, 3, 1, 2).float() / 255
        self.held_mu = torch.from_numpy(held_mu)
        self.extra_config = extra_config or {}

    def identity(self) -> dict:
        return {"kind": "image-decoder-gan", "config": self.vae.cfg.to_dict(),
                "data": self.data_id, "n": int(len(self.x)), "noise": self.noise,
                "disc_start": self.disc_start, "disc_weight": self.disc_weight,
                **({"mse_weight": self.mse_weight} if self.mse_weight else {}),
                **({"hf_weight": self.hf_weight} if self.hf_weight else {}),
                **({"prior_fakes": int(len(self.prior_fakes))}
                   if self.prior_fakes is not None else {})}

    def build_model(self) -> nn.Module:
        import copy
        return DecoderGAN(copy.deepcopy(self.vae), self.disc_start, self.disc_weight,
                          self.mse_weight, self.hf_weight)

    def train_batch(self, gen: torch.Generator, batch_size: int, part: int, nparts: int):
        idx = torch.randint(len(self.x), (batch_size,), generator=gen)
        flips = (torch.rand(batch_size, generator=gen) < 0.5) & self.flip_ok[idx]
        eps = torch.randn(batch_size, self.mu.shape[1], generator=gen)
        per = batch_size // nparts
        sl = slice(part * per, (part + 1) * per if part < nparts - 1 else batch_size)
        i, f, e = idx[sl], flips[sl], eps[sl]
        x = self.x[i].float() / 255.0
        x[f] = x[f].flip(-1)
        mu = torch.where(f[:, None], self.mu_f[i], self.mu[i])
        sd = torch.where(f[:, None], self.std_f[i], self.std[i])
        if self.prior_fakes is None:
            return mu + self.noise * sd * e, x
        # as many prior latents as reconstructions, drawn after the batch's other draws
        j = torch.randint(len(self.prior_fakes), (batch_size,), generator=gen)[sl]
        return mu + self.noise * sd * e, x, self.prior_fakes[j]

    def loss(self, model: nn.Module, batch) -> torch.Tensor:
        return getattr(model, "module", model).losses(*batch)["loss"]

    def batch_units(self, batch) -> int:
        return int(batch[0].shape[0])

    def eval_batches(self) -> Iterable:
        return [(self.held_mu[i:i + 250], self.held_x[i:i + 250])
                for i in range(0, len(self.held_x), 250)]

    @torch.no_grad()
    def sample(self, model: nn.Module, step: int) -> str | None:
        from desktop_app.ml.image.quality import sharpness

        raw = getattr(model, "module", model)
        was = raw.training
        raw.eval()
        recon = raw.vae.decode(self.held_mu)
        mse = float((recon - self.held_x).pow(2).mean())
        text = f"held-out per-pixel MSE {mse:.5f}"
        if self.prior_z is not None and self.real_sharpness > 0:
            fake = raw.vae.decode(self.prior_z).permute(0, 2, 3, 1).numpy() * 255.0
            sharp = sharpness(fake) / self.real_sharpness
            rec_sharp = sharpness(recon.permute(0, 2, 3, 1).numpy() * 255.0) / sharpness(
                self.held_x.permute(0, 2, 3, 1).numpy() * 255.0)
            score = self.score(mse, sharp)
            text += (f"; sharpness samples {sharp:.3f}, reconstructions {rec_sharp:.3f}; "
                     f"score {score:.3f}")
            if self.best is None or score > self.best[0]:
                self.best = (score, step, {k: v.detach().clone()
                                           for k, v in raw.vae.state_dict().items()})
                text += " (best)"
                if self.best_dir is not None:   # survives a stopped or killed run
                    save_vae(raw.vae, self.best_dir, fp16=True, extra_config=self.extra_config)
        raw.train(was)
        return text

    @staticmethod
    def score(mse: float, sharp: float, mse_target: float = 0.008,
              sharp_target: float = 0.8) -> float:
        """How well both targets are met: each one's ratio to its target, capped at 1 (2.0:
        both met), so a target met is not traded away for the other's partial gain; a hundredth
        of the uncapped ratios breaks ties."""
        a, b = mse_target / max(mse, 1e-9), sharp / sharp_target
        return min(a, 1.0) + min(b, 1.0) + 0.01 * (a + b)

    def restore_best(self, model: nn.Module) -> None:
        raw = getattr(model, "module", model)
        if self.best is not None:
            raw.vae.load_state_dict(self.best[2])

    def export(self, model: nn.Module, out_dir: Path) -> None:
        raw = getattr(model, "module", model)
        save_vae(raw.vae, out_dir, fp16=True, extra_config=self.extra_config)
