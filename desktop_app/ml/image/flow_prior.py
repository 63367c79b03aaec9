"""A learned prior over an image VAE's latents: a small conditional flow-matching MLP.

Sampling ``z ~ N(0, I)`` from a VAE whose KL term is weak lands in the holes of the
aggregate posterior, where the decoder draws blobs. This model learns where the training
images' latents actually are: a velocity field ``v(x_t, t, group, style)`` that carries Gaussian
noise ``x_0`` to a (standardised) latent ``x_1`` along straight lines (rectified flow / flow
matching: ``x_t = (1 - t) x_0 + t x_1``, target ``x_1 - x_0``; Lipman et al. 2023, Liu et al.
2023). It is conditioned on the Unicode group (9 classes) and the style (Twemoji / Noto); each
condition is dropped independently 15 % of the time in training, so one network also gives the
unconditional field and classifier-free guidance works (Ho & Salimans 2022):
``v = v_uncond + w (v_cond - v_uncond)``.

Sampling is a fixed-step midpoint ODE solve (6 steps, 12 network evaluations, the grid packed
towards t = 0) from the caller's seeded ``x_0 = tau * eps`` (the
seed picks the starting noise, ``tau`` is the temperature) and returns latents in the VAE's own space,
so morphs, directions and the atlas work on them unchanged.

Network: input projection + sinusoidal time features, ``blocks`` residual MLP blocks whose
LayerNorm is modulated by the (time + group + style) embedding (adaLN, Peebles & Xie 2023),
output projection zero-initialised so training starts from the zero field.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, fields
from pathlib import Path
from typing import Any, Iterable

import numpy as np
import torch
from torch import nn

from desktop_app.core.errors import DataError, ModelLoadError
from desktop_app.core.untrusted import loads_json
from desktop_app.ml import checkpoints as ck

#: The Unicode emoji groups, in Unicode's order (the conditioning classes).
GROUPS = ("Smileys & Emotion", "People & Body", "Animals & Nature", "Food & Drink",
          "Travel & Places", "Activities", "Objects", "Symbols", "Flags")
STYLES = ("twemoji", "noto")
#: Default ODE solve: midpoint steps and the time-grid warp (see ``FlowPrior.sample``).
SAMPLE_STEPS = 6
SAMPLE_WARP = 1.5


@dataclass
class FlowPriorConfig:
    latent_dim: int = 128
    width: int = 256
    hidden: int = 768
    blocks: int = 4
    n_groups: int = len(GROUPS)      # condition index n_groups = "no group" (dropped / Any)
    n_styles: int = len(STYLES)
    drop_prob: float = 0.15          # per condition, during training (for guidance)

    def __post_init__(self) -> None:
        for name, lo, hi in (("latent_dim", 2, 512), ("width", 16, 2048), ("hidden", 16, 8192),
                             ("blocks", 1, 16), ("n_groups", 1, 64), ("n_styles", 1, 16)):
            v = getattr(self, name)
            if not isinstance(v, int) or isinstance(v, bool) or not lo <= v <= hi:
                raise ValueError(f"{name} must be an integer in {lo}..{hi}, not {v!r}")

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), "model_type": "reverie-flow-prior"}

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> "FlowPriorConfig":
        names = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in d.items() if k in names})


def time_features(t: torch.Tensor, dim: int) -> torch.Tensor:
    """Sinusoidal features of t in [0, 1]: (B,) -> (B, dim)."""
    half = dim // 2
    freqs = torch.exp(-math.log(1000.0) * torch.arange(half, dtype=torch.float32) / half)
    ang = (t[:, None] * 1000.0) * freqs[None]
    return torch.cat([ang.sin(), ang.cos()], dim=1)


class Block(nn.Module):
    def __init__(self, width: int, hidden: int) -> None:
        super().__init__()
        self.norm = nn.LayerNorm(width, elementwise_affine=False)
        self.mod = nn.Linear(width, 3 * width)       # shift, scale, gate from the condition
        self.ff = nn.Sequential(nn.Linear(width, hidden), nn.SiLU(), nn.Linear(hidden, width))
        nn.init.zeros_(self.mod.weight)
        nn.init.zeros_(self.mod.bias)

    def forward(self, h: torch.Tensor, c: torch.Tensor) -> torch.Tensor:
        shift, scale, gate = self.mod(c).chunk(3, dim=1)                 # (B, W) each
        return h + (1 + gate) * self.ff(self.norm(h) * (1 + scale) + shift)


class FlowPrior(nn.Module):
    """Velocity field over standardised latents; ``mean``/``std`` map to the VAE's space."""

    def __init__(self, cfg: FlowPriorConfig) -> None:
        super().__init__()
        self.cfg = cfg
        w = cfg.width
        self.inp = nn.Linear(cfg.latent_dim, w)
        self.time = nn.Sequential(nn.Linear(w, w), nn.SiLU(), nn.Linear(w, w))
        self.group = nn.Embedding(cfg.n_groups + 1, w)   # last row: no group
        self.style = nn.Embedding(cfg.n_styles + 1, w)   # last row: no style
        self.blocks = nn.ModuleList(Block(w, cfg.hidden) for _ in range(cfg.blocks))
        self.norm = nn.LayerNorm(w)
        self.out = nn.Linear(w, cfg.latent_dim)
        nn.init.zeros_(self.out.weight)
        nn.init.zeros_(self.out.bias)
        self.register_buffer("mean", torch.zeros(cfg.latent_dim))
        self.register_buffer("std", torch.ones(cfg.latent_dim))

    def forward(self, x: torch.Tensor, t: torch.Tensor, group: torch.Tensor,
                style: torch.Tensor) -> torch.Tensor:
        """x (B, D) standardised, t (B,), group/style (B,) long -> velocity (B, D)."""
        return self.velocity(x, t, self.group(group) + self.style(style))

    def velocity(self, x: torch.Tensor, t: torch.Tensor, cond: torch.Tensor) -> torch.Tensor:
        """The field given the summed group + style embedding ``cond`` (B, W)."""
        c = nn.functional.silu(self.time(time_features(t, self.cfg.width)) + cond)
        h = self.inp(x)
        for blk in self.blocks:
            h = blk(h, c)
        return self.out(self.norm(h))

    def loss(self, x1: torch.Tensor, group: torch.Tensor, style: torch.Tensor,
             gen: torch.Generator | None = None) -> torch.Tensor:
        """Conditional flow-matching loss on standardised latents ``x1`` (B, D)."""
        b = x1.shape[0]
        x0 = torch.randn(x1.shape, generator=gen)
        # logit-normal t (Esser et al. 2024): more weight on the middle of the path
        t = torch.sigmoid(torch.randn(b, generator=gen))
        xt = (1 - t[:, None]) * x0 + t[:, None] * x1
        if self.training and self.cfg.drop_prob > 0:
            drop_g = torch.rand(b, generator=gen) < self.cfg.drop_prob
            drop_s = torch.rand(b, generator=gen) < self.cfg.drop_prob
            group = torch.where(drop_g, torch.full_like(group, self.cfg.n_groups), group)
            style = torch.where(drop_s, torch.full_like(style, self.cfg.n_styles), style)
        return (self(xt, t, group, style) - (x1 - x0)).pow(2).mean()

    @torch.inference_mode()
    def sample(self, x0: np.ndarray, *, group: int | None = None, style: int | None = None,
               guidance: float = 2.0, steps: int = SAMPLE_STEPS,
               warp: float = SAMPLE_WARP) -> np.ndarray:
        """Carry starting noise ``x0`` (N, D) (the caller's seeded ``tau * eps``) to latents
        (float32, the VAE's space) with ``steps`` midpoint steps at times ``(i / steps) ** warp``;
        ``group``/``style`` None = unconditioned; guidance 1 = the plain conditional field,
        0 = unconditional. ``group`` may also be an array with one group per row."""
        cfg = self.cfg
        x = torch.from_numpy(np.ascontiguousarray(x0, np.float32)).reshape(-1, cfg.latent_dim)
        count = x.shape[0]
        if group is None:
            g = torch.full((count,), cfg.n_groups, dtype=torch.long)
        else:
            g = torch.as_tensor(np.broadcast_to(np.asarray(group, np.int64), (count,)).copy())
        s = torch.full((count,), cfg.n_styles if style is None else int(style), dtype=torch.long)
        conditioned = group is not None or style is not None
        guided = conditioned and guidance != 1.0
        if guided:   # one batch: conditional rows, then unconditional rows
            g = torch.cat([g, torch.full_like(g, cfg.n_groups)])
            s = torch.cat([s, torch.full_like(s, cfg.n_styles)])
        # the condition's embedding is the same at every step: look it up once
        cond = self.group(g) + self.style(s)
        rows = len(g)

        def field(xx: torch.Tensor, tt: float) -> torch.Tensor:
            v = self.velocity(torch.cat([xx, xx]) if guided else xx,
                              torch.full((rows,), tt), cond)
            if not guided:
                return v
            vc, vu = v[:count], v[count:]
            return vu + guidance * (vc - vu)

        # Midpoint rule on a grid packed towards t = 0, where the guided field bends most
        # (measured on the emoji prior: 6 steps at warp 1.5 are as close to a 64-step solve,
        # 0.07 latent sd, as 9 uniform ones; see benchmarks/bench_image.py --solver)
        ts = [(i / steps) ** warp for i in range(steps + 1)]
        for a, b in zip(ts[:-1], ts[1:]):
            h = b - a
            mid = x + 0.5 * h * field(x, a)
            x = x + h * field(mid, a + 0.5 * h)
        return (x * self.std + self.mean).numpy().astype(np.float32)

    def num_parameters(self) -> int:
        return sum(p.numel() for p in self.parameters())


PRIOR_FILE = "flow_prior.safetensors"


def save_flow_prior(model: FlowPrior, out_dir: str | Path, *, fp16: bool = True,
                    extra: dict | None = None) -> Path:
    """Weights (fp16 by default: the shipped file is small) + config in the metadata."""
    sd = {k: v.detach().cpu() for k, v in model.state_dict().items()}
    if fp16:   # mean/std stay fp32: they set the latent scale exactly
        sd = {k: v.half() if v.is_floating_point() and k not in ("mean", "std") else v
              for k, v in sd.items()}
    path = Path(out_dir) / PRIOR_FILE
    meta = {"config": model.cfg.to_dict(), "groups": list(GROUPS), "styles": list(STYLES),
            **(extra or {})}
    ck.save_tensors(path, sd, metadata={"reverie": _dumps(meta)})
    return path


def _dumps(obj: Any) -> str:
    import json
    return json.dumps(obj, sort_keys=True)


def load_flow_prior(model_dir: str | Path) -> tuple[FlowPrior, dict] | None:
    """``(model in eval mode, metadata)``, or None when the folder has no flow prior."""
    path = Path(model_dir) / PRIOR_FILE
    if not path.is_file():
        return None
    _, header_meta = ck.read_header(path)
    try:
        meta = loads_json(header_meta.get("reverie", "{}"), source=f"{path.name} metadata")
        cfg = FlowPriorConfig.from_dict(meta.get("config", {}))
    except (ValueError, TypeError, AttributeError, DataError) as exc:
        raise ModelLoadError(f"{path}: bad prior metadata ({exc})") from None
    if not isinstance(meta, dict) or meta.get("config", {}).get("model_type") != "reverie-flow-prior":
        raise ModelLoadError(f"{path} is not a Reverie flow prior")
    model = FlowPrior(cfg)
    weights = ck.load_tensors(path)
    ck.validate_state_dict(model.state_dict(), weights, str(path))
    model.load_state_dict({k: v.float() for k, v in weights.items()})
    return model.eval(), meta


class FlowPriorTask:
    """``TrainTask`` for the shared loop: latents (N, D) with group and style indices."""

    def __init__(self, latents: np.ndarray, groups: np.ndarray, styles: np.ndarray,
                 held: tuple[np.ndarray, np.ndarray, np.ndarray], cfg: FlowPriorConfig, *,
                 data_id: str, eval_batch: int = 512, balance: float = 0.0) -> None:
        self.cfg = cfg
        self.data_id = data_id
        if not 0.0 <= balance <= 1.0:
            raise ValueError(f"balance must be in 0..1, not {balance}")
        self.balance = float(balance)
        x = torch.from_numpy(np.asarray(latents, np.float32))
        self.mean, self.std = x.mean(0), x.std(0).clamp_min(1e-4)
        self.x = (x - self.mean) / self.std                               # (N, D)
        self.g = torch.from_numpy(np.asarray(groups, np.int64))
        self.s = torch.from_numpy(np.asarray(styles, np.int64))
        # Class balancing: an image of a group with n images is drawn with weight n^-balance
        # (0: as in the data; 1: every group equally often; 0.5: "square-root" balancing, so
        # the rare groups -- 170 Activities vs 3,930 People images -- get enough of the
        # gradient without the unconditional field forgetting how common each group is).
        counts = torch.bincount(self.g, minlength=cfg.n_groups + 1).double()
        self.weights = counts[self.g].pow(-self.balance)
        hx = (torch.from_numpy(np.asarray(held[0], np.float32)) - self.mean) / self.std
        self.held = (hx, torch.from_numpy(np.asarray(held[1], np.int64)),
                     torch.from_numpy(np.asarray(held[2], np.int64)))
        self.eval_batch = eval_batch

    def identity(self) -> dict:
        out = {"kind": "image-flow-prior", "config": self.cfg.to_dict(), "data": self.data_id,
               "n": int(len(self.x))}
        if self.balance:   # absent when 0, so runs started before balancing still resume
            out["balance"] = self.balance
        return out

    def build_model(self) -> nn.Module:
        m = FlowPrior(self.cfg)
        m.mean.copy_(self.mean)
        m.std.copy_(self.std)
        return m

    def train_batch(self, gen: torch.Generator, batch_size: int, part: int, nparts: int):
        if self.balance:
            idx = torch.multinomial(self.weights, batch_size, replacement=True, generator=gen)
        else:
            idx = torch.randint(len(self.x), (batch_size,), generator=gen)
        seed = int(torch.randint(2**62, (1,), generator=gen))
        per = batch_size // nparts
        sl = slice(part * per, (part + 1) * per if part < nparts - 1 else batch_size)
        i = idx[sl]
        return self.x[i], self.g[i], self.s[i], torch.tensor(seed + part)

    def loss(self, model: nn.Module, batch) -> torch.Tensor:
        x, g, s, seed = batch
        gen = torch.Generator().manual_seed(int(seed))
        return getattr(model, "module", model).loss(x, g, s, gen)

    def batch_units(self, batch) -> int:
        return int(batch[0].shape[0])

    def eval_batches(self) -> Iterable:
        hx, hg, hs = self.held
        return [(hx[i:i + self.eval_batch], hg[i:i + self.eval_batch],
                 hs[i:i + self.eval_batch], torch.tensor(i + 1))
                for i in range(0, len(hx), self.eval_batch)]

    def sample(self, model: nn.Module, step: int) -> str | None:
        return None

    def export(self, model: nn.Module, out_dir: Path) -> None:
        Path(out_dir).mkdir(parents=True, exist_ok=True)
        save_flow_prior(getattr(model, "module", model), out_dir,
                        extra={"data": self.data_id, "n_train": int(len(self.x)),
                               "balance": self.balance,
                               # category "Any" draws groups in these proportions
                               "group_counts": torch.bincount(
                                   self.g, minlength=self.cfg.n_groups).tolist()})
