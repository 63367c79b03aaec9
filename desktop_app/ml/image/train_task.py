"""The image VAE as a task for the shared training loop (``desktop_app.ml.training.loop``).

Batches are float tensors ``(B, C, H, W)`` in [0, 1] drawn from the training split with the
loop's per-step generator (so a resumed run sees the same data), with a random horizontal flip
where the image allows it, and with ``augment`` > 0 that fraction of each batch moved and
recoloured (:mod:`.augment`). With ``init`` the run starts from a trained model's weights (the
``joint`` stage: the whole VAE fine-tuned, KL at full weight from the first step). The loss is
the negative ELBO divided by the number of pixel values (so its scale does not depend on the
image size). The KL weight ramps up with the model's own
``train_step`` buffer, which is saved in checkpoints and so survives a resume.
"""

from __future__ import annotations

from pathlib import Path
from typing import Iterable

import numpy as np
import torch
from torch import nn

from desktop_app.ml.image.augment import augment
from desktop_app.ml.image.datasets import ImageSet
from desktop_app.ml.image.model_dir import save_vae
from desktop_app.ml.image.vae import ConvVAE, VAEConfig


def to_tensor(pixels: np.ndarray) -> torch.Tensor:
    """uint8 ``(N, H, W, C)`` -> float ``(N, C, H, W)`` in [0, 1]."""
    return torch.from_numpy(np.ascontiguousarray(pixels)).permute(0, 3, 1, 2).float() / 255.0


def vae_loss(model: nn.Module, x: torch.Tensor) -> torch.Tensor:
    """Negative ELBO per pixel value; advances the KL warm-up while training."""
    raw = getattr(model, "module", model)  # DDP wraps the model
    recon, mu, logvar = model(x)                                   # forward through DDP
    sse = (recon - x).pow(2).flatten(1).sum(1)                     # (B,)
    kl = 0.5 * (mu.pow(2) + logvar.exp() - 1.0 - logvar).sum(1)    # (B,)
    step = int(raw.train_step)
    if raw.training:
        raw.train_step += 1
    loss = sse / (2.0 * raw.cfg.sigma ** 2) + raw.kl_weight(step) * kl
    return loss.mean() / x[0].numel()


class ImageVAETask:
    """``TrainTask`` for :class:`ConvVAE` on an :class:`ImageSet`."""

    def __init__(self, data: ImageSet, train_idx: np.ndarray, held_idx: np.ndarray,
                 cfg: VAEConfig, *, data_id: str, flip: bool = True,
                 eval_images: int = 2000, eval_batch: int = 250, fp16_export: bool = False,
                 augment: float = 0.0, init: ConvVAE | None = None) -> None:
        if not 0.0 <= augment <= 1.0:
            raise ValueError(f"augment must be a fraction in [0, 1], not {augment}")
        self.cfg = cfg
        self.augment = augment
        self.init = init
        self.data_id = data_id
        self.train_x = torch.from_numpy(np.ascontiguousarray(
            data.pixels[train_idx])).permute(0, 3, 1, 2).contiguous()  # uint8 (N, C, H, W)
        flip_ok = data.flip_ok if data.flip_ok is not None else np.ones(len(data), bool)
        self.flip_ok = torch.from_numpy(flip_ok[train_idx] & flip)
        self.held_x = to_tensor(data.pixels[held_idx[:eval_images]])   # (M, C, H, W)
        self.eval_batch = eval_batch
        self.fp16_export = fp16_export
        self.n_train, self.n_held = len(train_idx), len(held_idx)

    def identity(self) -> dict:
        return {"kind": "image-vae", "config": self.cfg.to_dict(), "data": self.data_id,
                "n_train": self.n_train, "n_held_out": self.n_held,
                **({"augment": self.augment} if self.augment else {}),
                **({"init": "from a trained model"} if self.init is not None else {})}

    def build_model(self) -> nn.Module:
        if self.init is None:
            return ConvVAE(self.cfg)
        import copy
        model = copy.deepcopy(self.init).train()
        model.train_step.fill_(max(self.cfg.kl_warmup_steps, 0))  # trained: KL at full weight
        return model

    def train_batch(self, gen: torch.Generator, batch_size: int, part: int, nparts: int
                    ) -> torch.Tensor:
        idx = torch.randint(self.n_train, (batch_size,), generator=gen)
        flips = (torch.rand(batch_size, generator=gen) < 0.5) & self.flip_ok[idx]
        per = batch_size // nparts
        sl = slice(part * per, (part + 1) * per if part < nparts - 1 else batch_size)
        x = self.train_x[idx[sl]].float() / 255.0                      # (b, C, H, W)
        f = flips[sl]
        if f.any():
            x[f] = x[f].flip(-1)
        if self.augment:   # drawn after the batch's other draws; the first rows are moved
            n = int(round(self.augment * len(x)))
            if n:
                x[:n] = augment(x[:n], gen)
        return x

    def loss(self, model: nn.Module, batch: torch.Tensor) -> torch.Tensor:
        return vae_loss(model, batch)

    def batch_units(self, batch: torch.Tensor) -> int:
        return int(batch.shape[0])

    def eval_batches(self) -> Iterable[torch.Tensor]:
        return [self.held_x[i:i + self.eval_batch]
                for i in range(0, len(self.held_x), self.eval_batch)]

    def sample(self, model: nn.Module, step: int) -> str | None:
        raw = getattr(model, "module", model)
        mse = held_out_mse(raw, self.held_x, self.eval_batch)
        return f"held-out per-pixel MSE {mse:.5f} (KL weight {raw.kl_weight(step):.3f})"

    def export(self, model: nn.Module, out_dir: Path) -> None:
        save_vae(getattr(model, "module", model), out_dir, fp16=self.fp16_export,
                 extra_config={"data": self.data_id})


@torch.no_grad()
def held_out_mse(model: ConvVAE, x: torch.Tensor, batch: int = 250) -> float:
    """Mean per-pixel squared error of decode(mu(x)) against x, pixels in [0, 1]."""
    was = model.training
    model.eval()
    total, n = 0.0, 0
    for i in range(0, len(x), batch):
        xb = x[i:i + batch]
        mu, _ = model.encode(xb)
        total += float((model.decode(mu) - xb).pow(2).sum())
        n += xb.numel()
    model.train(was)
    return total / max(n, 1)
