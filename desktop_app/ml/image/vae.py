"""A small convolutional variational auto-encoder for 64x64 RGB and 28x28 greyscale images.

One file, read on its own (nanoGPT style). The encoder halves the resolution with strided
convolutions down to a 4x4 (64x64 input) or 7x7 (28x28 input) feature map, then two linear
heads give the posterior mean ``mu`` and log-variance. The decoder mirrors it with
4x4 stride-2 transposed convolutions (kernel divisible by the stride, which
avoids the worst checkerboard artefacts, and 2.25x cheaper than upsample + 3x3 conv) and ends in a sigmoid, so pixels live in [0, 1].

Loss: per-image sum of squared errors / (2 sigma^2) plus ``beta * warmup(step) * KL``; the KL
weight ramps linearly from 0 during ``kl_warmup_steps`` (Bowman et al. 2016, "Generating
sentences from a continuous space", KL annealing) and ``beta`` follows Higgins et al. 2017
("beta-VAE").

References:
  Kingma & Welling 2014, "Auto-Encoding Variational Bayes" (the VAE, reparameterisation).
  Higgins et al. 2017, "beta-VAE: Learning basic visual concepts ...".
  Odena et al. 2016, "Deconvolution and checkerboard artifacts" (kernel size vs stride).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn


@dataclass
class VAEConfig:
    image_size: int = 64          # 64 (RGB emoji) or 28 (greyscale fashion)
    channels: int = 3             # 3 = RGB, 1 = greyscale
    latent_dim: int = 64          # 32..128
    widths: tuple[int, ...] = (32, 64, 128, 256)  # one stride-2 stage each
    beta: float = 1.0             # weight of the KL term once warm
    kl_warmup_steps: int = 2000   # linear KL ramp from 0 to beta
    sigma: float = 0.1            # likelihood std of a pixel: recon = SSE / (2 sigma^2)
    extra_conv_max_side: int = 32  # an extra 3x3 conv block on feature maps this size or less
    refine: int = 0               # >0: a residual 3x3-conv head of this width at full size
    wide: int = 0                 # >0: residual blocks at the two largest maps + a full-size
                                  # feature head of this width (the "wide" decoder)

    def __post_init__(self) -> None:
        self.widths = tuple(int(w) for w in self.widths)
        if self.image_size not in (28, 64):
            raise ValueError(f"image_size must be 28 or 64, not {self.image_size}")
        if self.channels not in (1, 3):
            raise ValueError(f"channels must be 1 or 3, not {self.channels}")
        if not 2 <= self.latent_dim <= 512:
            raise ValueError(f"latent_dim {self.latent_dim} is out of range")
        if self.image_size == 28 and len(self.widths) != 2:
            raise ValueError("a 28x28 model has exactly two stages (28 -> 14 -> 7)")
        if self.image_size == 64 and len(self.widths) != 4:
            raise ValueError("a 64x64 model has exactly four stages (64 -> 32 -> 16 -> 8 -> 4)")
        if not 0 <= self.refine <= 256:
            raise ValueError(f"refine {self.refine} is out of range (0..256)")
        if not 0 <= self.wide <= 256:
            raise ValueError(f"wide {self.wide} is out of range (0..256)")

    @property
    def bottom(self) -> int:
        """Side of the smallest feature map: 4 for 64x64, 7 for 28x28."""
        return self.image_size >> len(self.widths)

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["widths"] = list(self.widths)
        d["model_type"] = "reverie-conv-vae"
        return d

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> "VAEConfig":
        names = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in d.items() if k in names})


def _block(c_in: int, c_out: int) -> nn.Sequential:
    return nn.Sequential(nn.Conv2d(c_in, c_out, 3, padding=1), nn.GroupNorm(8, c_out), nn.SiLU())


class ResBlock(nn.Module):
    """x + conv(silu(conv(silu(norm(x))))); the last conv starts at zero, so a block added to
    a trained decoder leaves its pictures unchanged."""

    def __init__(self, c: int) -> None:
        super().__init__()
        self.norm = nn.GroupNorm(8, c)
        self.conv1 = nn.Conv2d(c, c, 3, padding=1)
        self.conv2 = nn.Conv2d(c, c, 3, padding=1)
        nn.init.zeros_(self.conv2.weight)
        nn.init.zeros_(self.conv2.bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.conv2(F.silu(self.conv1(F.silu(self.norm(x)))))


class Encoder(nn.Module):
    def __init__(self, cfg: VAEConfig) -> None:
        super().__init__()
        layers: list[nn.Module] = []
        c, side = cfg.channels, cfg.image_size
        for w in cfg.widths:  # each stage: (B, c, s, s) -> (B, w, s/2, s/2)
            side //= 2
            layers += [nn.Conv2d(c, w, 4, stride=2, padding=1), nn.GroupNorm(8, w), nn.SiLU()]
            if side <= cfg.extra_conv_max_side:
                layers.append(_block(w, w))
            c = w
        self.body = nn.Sequential(*layers)
        flat = c * cfg.bottom * cfg.bottom
        self.mu = nn.Linear(flat, cfg.latent_dim)
        self.logvar = nn.Linear(flat, cfg.latent_dim)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        h = self.body(x).flatten(1)            # (B, C_last * bottom^2)
        return self.mu(h), self.logvar(h).clamp(-12.0, 6.0)  # (B, latent), (B, latent)


class Decoder(nn.Module):
    def __init__(self, cfg: VAEConfig) -> None:
        super().__init__()
        self.cfg = cfg
        widths = list(reversed(cfg.widths))   # e.g. 256, 128, 64, 32
        self.fc = nn.Linear(cfg.latent_dim, widths[0] * cfg.bottom * cfg.bottom)
        layers: list[nn.Module] = []
        side = cfg.bottom
        for i, w in enumerate(widths[:-1]):   # each stage: (B, w, s, s) -> (B, w_next, 2s, 2s)
            w_next = widths[i + 1]
            side *= 2
            layers += [nn.ConvTranspose2d(w, w_next, 4, stride=2, padding=1),
                       nn.GroupNorm(8, w_next), nn.SiLU()]
            if side <= cfg.extra_conv_max_side:
                layers.append(_block(w_next, w_next))
            if cfg.wide and i >= len(widths) - 3:    # the two largest maps (16 and 32 px)
                layers.append(ResBlock(w_next))
        self.body = nn.Sequential(*layers)
        # last stage straight to pixels: (B, widths[-1], s, s) -> (B, channels, 2s, 2s)
        self.out = nn.ConvTranspose2d(widths[-1], cfg.channels, 4, stride=2, padding=1)
        # Optional full-size refinement (issue 21): the last transposed conv sees one 32x32
        # feature per 2x2 output block, so it cannot draw a one-pixel outline; a residual stack
        # of 3x3 convs on the picture adds a correction to its logits. The last conv starts at
        # zero, so a decoder fine-tuned with this head starts as exactly the decoder it was.
        self.refine: nn.Module | None = None
        if cfg.refine:
            r = cfg.refine
            self.refine = nn.Sequential(
                nn.Conv2d(cfg.channels, r, 3, padding=1), nn.SiLU(),
                nn.Conv2d(r, r, 3, padding=1), nn.SiLU(),
                nn.Conv2d(r, cfg.channels, 3, padding=1))
            nn.init.zeros_(self.refine[-1].weight)
            nn.init.zeros_(self.refine[-1].bias)
        # Optional full-size feature head (the "wide" decoder): the one transposed conv to
        # pixels has 32 channels at 32x32 to draw every outline; this head upsamples those
        # features to `wide` channels at full size and adds a 3x3-conv correction to the
        # logits (last conv at zero: it starts as the decoder it was fine-tuned from).
        self.head: nn.Module | None = None
        if cfg.wide:
            w = cfg.wide
            self.head = nn.Sequential(
                nn.ConvTranspose2d(widths[-1], w, 4, stride=2, padding=1), nn.SiLU(),
                nn.Conv2d(w, w, 3, padding=1), nn.SiLU(),
                nn.Conv2d(w, cfg.channels, 3, padding=1))
            nn.init.zeros_(self.head[-1].weight)
            nn.init.zeros_(self.head[-1].bias)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        b = self.cfg.bottom
        h = F.silu(self.fc(z)).view(z.shape[0], -1, b, b)  # (B, C_first, bottom, bottom)
        feats = self.body(h)                               # (B, widths[0], size/2, size/2)
        logits = self.out(feats)                           # (B, channels, size, size)
        if self.head is not None:
            logits = logits + self.head(feats)
        if self.refine is not None:
            logits = logits + self.refine(torch.sigmoid(logits))
        return torch.sigmoid(logits)                       # in [0, 1]


class ConvVAE(nn.Module):
    """The VAE. ``encode`` gives (mu, logvar); ``decode`` maps latents to images in [0, 1]."""

    def __init__(self, cfg: VAEConfig) -> None:
        super().__init__()
        self.cfg = cfg
        self.encoder = Encoder(cfg)
        self.decoder = Decoder(cfg)
        # optimizer steps seen in training (drives the KL warm-up; saved in checkpoints so a
        # resumed run continues the ramp). Not part of an exported model.
        self.register_buffer("train_step", torch.zeros((), dtype=torch.long))

    def encode(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        return self.encoder(x)

    def decode(self, z: torch.Tensor) -> torch.Tensor:
        return self.decoder(z)

    def forward(self, x: torch.Tensor, sample: bool = True
                ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        mu, logvar = self.encode(x)           # (B, latent) each
        z = mu + torch.randn_like(mu) * torch.exp(0.5 * logvar) if sample else mu
        return self.decode(z), mu, logvar     # (B, C, H, W), (B, latent), (B, latent)

    def kl_weight(self, step: int) -> float:
        warm = self.cfg.kl_warmup_steps
        return self.cfg.beta * (1.0 if warm <= 0 else min(1.0, step / warm))

    def loss(self, x: torch.Tensor, step: int) -> dict[str, torch.Tensor]:
        """Negative ELBO terms, averaged over the batch. ``mse`` is per pixel (for reports)."""
        recon, mu, logvar = self(x)
        sse = (recon - x).pow(2).flatten(1).sum(1)                       # (B,)
        kl = 0.5 * (mu.pow(2) + logvar.exp() - 1.0 - logvar).sum(1)      # (B,)
        rec = sse / (2.0 * self.cfg.sigma ** 2)
        total = (rec + self.kl_weight(step) * kl).mean()
        return {"loss": total, "recon": rec.mean(), "kl": kl.mean(),
                "mse": sse.mean() / x[0].numel()}

    def num_parameters(self) -> int:
        return sum(p.numel() for p in self.parameters())
