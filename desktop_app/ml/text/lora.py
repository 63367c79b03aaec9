"""Low-rank adapters (LoRA) for Reverie's Llama models, saved in PEFT's own format.

Hu et al. 2021, "LoRA: Low-Rank Adaptation of Large Language Models" (arXiv:2106.09685): a
frozen projection ``W`` (out, in) gets a trainable update ``(alpha / r) * B @ A`` with
``A`` (r, in) and ``B`` (out, r); ``B`` starts at zero, so training starts from the base model
exactly. Only ``A`` and ``B`` are trained (0.3 % to 1 % of the parameters of a 135M model), so
a fine-tune fits in a laptop's memory and its result is a few megabytes.

:class:`LoRALinear` keeps the projection's own ``weight``/``bias`` names and adds ``lora_A`` /
``lora_B`` submodules, so parameter names are those of Hugging Face + PEFT
(``model.layers.3.self_attn.q_proj.lora_A.weight``). :func:`save_adapter` writes what
``peft.PeftModel.from_pretrained(base, folder)`` reads: ``adapter_config.json`` and
``adapter_model.safetensors`` with keys ``base_model.model.<name>.lora_A.weight``.
"""

from __future__ import annotations

import math
import re
from pathlib import Path
from typing import Iterable

import torch
import torch.nn.functional as F
from torch import nn

from desktop_app.core.errors import ModelLoadError
from desktop_app.ml import checkpoints as ck

#: The projections of a Llama block that get adapters (attention and MLP).
TARGETS = ("q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj")
CONFIG_FILE = "adapter_config.json"
WEIGHTS_FILE = "adapter_model.safetensors"
PEFT_PREFIX = "base_model.model."
MAX_RANK = 256
#: How much of each projection's update an adapter applied on the fly keeps
#: (:func:`compress_update`; measured in docs/train-room.md, "Compressing the adapter").
ON_THE_FLY_ENERGY = 0.95


class LoRALinear(nn.Module):
    """``y = x W^T + b + (alpha/r) * (x A^T) B^T`` with W, b frozen (the base projection's)."""

    def __init__(self, base: nn.Linear, rank: int, alpha: float, dropout: float = 0.0) -> None:
        super().__init__()
        self.in_features, self.out_features = base.in_features, base.out_features
        self.weight = base.weight
        self.bias = base.bias
        self.weight.requires_grad_(False)
        if self.bias is not None:
            self.bias.requires_grad_(False)
        self.rank, self.alpha, self.scaling = rank, alpha, alpha / rank
        self.lora_A = nn.Linear(self.in_features, rank, bias=False,
                                device=self.weight.device, dtype=torch.float32)
        self.lora_B = nn.Linear(rank, self.out_features, bias=False,
                                device=self.weight.device, dtype=torch.float32)
        # PEFT's default initialisation: A Kaiming-uniform, B zero (the update starts at 0)
        nn.init.kaiming_uniform_(self.lora_A.weight, a=math.sqrt(5))
        nn.init.zeros_(self.lora_B.weight)
        self.dropout = nn.Dropout(dropout) if dropout > 0 else nn.Identity()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        # F.linear directly (not ops.linear): under bf16 autocast the product stays bf16
        w = self.weight
        if x.dtype != w.dtype and not torch.is_autocast_enabled(x.device.type):
            # a bf16-stored base outside autocast (held-out evaluation, sampling): a float32
            # product, so the run's figures are those of `reverie eval text` (float32)
            y = F.linear(x, w.to(x.dtype), None if self.bias is None else self.bias.to(x.dtype))
        else:
            y = F.linear(x, w, self.bias)
        return y + self.lora_B(self.lora_A(self.dropout(x))) * self.scaling

    @torch.no_grad()
    def delta(self) -> torch.Tensor:
        """The update ``(alpha/r) B A`` as an (out, in) float32 matrix."""
        return (self.lora_B.weight.float() @ self.lora_A.weight.float()) * self.scaling


def apply_lora(model: nn.Module, rank: int = 8, alpha: float = 16.0, dropout: float = 0.0,
               targets: tuple[str, ...] = TARGETS, layers: Iterable[int] | None = None) -> int:
    """Freeze ``model`` and wrap every target projection with a :class:`LoRALinear`.

    ``layers``: only the blocks with these indices get adapters (PEFT's
    ``layers_to_transform``); None: every block. Returns the number of trainable parameters.
    Adapter weights are float32 even when the base is bf16 (the optimiser updates them in
    full precision).
    """
    keep = None if layers is None else set(layers)
    if not 1 <= rank <= MAX_RANK:
        raise ValueError(f"LoRA rank must be between 1 and {MAX_RANK}, not {rank}")
    for p in model.parameters():
        p.requires_grad_(False)
    found = 0
    for name, module in list(model.named_modules()):
        leaf = name.rpartition(".")[2]
        if leaf in targets and isinstance(module, nn.Linear) \
                and (keep is None or layer_index(name) in keep):
            parent = model.get_submodule(name.rpartition(".")[0])
            setattr(parent, leaf, LoRALinear(module, rank, alpha, dropout))
            found += 1
    if not found:
        raise ValueError(f"the model has none of the projections {', '.join(targets)}")
    return sum(p.numel() for p in model.parameters() if p.requires_grad)


def layer_index(name: str) -> int | None:
    """The block index in a module name such as ``model.layers.12.mlp.up_proj``."""
    m = re.search(r"(?:^|\.)layers\.(\d+)\.", name)
    return int(m.group(1)) if m else None


def lora_modules(model: nn.Module) -> dict[str, LoRALinear]:
    return {n: m for n, m in model.named_modules() if isinstance(m, LoRALinear)}


def adapter_state(model: nn.Module) -> dict[str, torch.Tensor]:
    """The adapter weights under PEFT's names (``base_model.model.<module>.lora_A.weight``)."""
    out: dict[str, torch.Tensor] = {}
    for name, m in lora_modules(model).items():
        out[f"{PEFT_PREFIX}{name}.lora_A.weight"] = m.lora_A.weight.detach().float().contiguous()
        out[f"{PEFT_PREFIX}{name}.lora_B.weight"] = m.lora_B.weight.detach().float().contiguous()
    return out


def adapter_config(rank: int, alpha: float, base: str, targets: tuple[str, ...] = TARGETS,
                   dropout: float = 0.0, layers: list[int] | None = None) -> dict:
    """PEFT's ``LoraConfig`` as JSON (the keys PEFT writes itself, so any version reads it)."""
    return {
        "peft_type": "LORA", "task_type": "CAUSAL_LM", "base_model_name_or_path": base,
        "r": rank, "lora_alpha": alpha, "lora_dropout": dropout,
        "target_modules": sorted(targets), "bias": "none", "fan_in_fan_out": False,
        "inference_mode": True, "init_lora_weights": True, "modules_to_save": None,
        "use_rslora": False, "use_dora": False, "layers_to_transform": layers,
        "layers_pattern": "layers" if layers is not None else None, "rank_pattern": {},
        "alpha_pattern": {}, "revision": None,
    }


def save_adapter(model: nn.Module, folder: str | Path, *, base: str, extra: dict | None = None
                 ) -> None:
    """Write ``adapter_config.json`` + ``adapter_model.safetensors`` into ``folder``.

    ``extra`` keys are added to the config (Reverie's own ``reverie`` entry: how to find the
    base); PEFT ignores keys it does not know.
    """
    mods = lora_modules(model)
    if not mods:
        raise ValueError("the model has no LoRA adapters to save")
    first = next(iter(mods.values()))
    targets = tuple(sorted({n.rpartition(".")[2] for n in mods}))
    used = sorted({i for i in map(layer_index, mods) if i is not None})
    total = len(getattr(getattr(model, "model", None), "layers", ()))
    layers = None if not total or len(used) == total else used
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    ck.save_tensors(folder / WEIGHTS_FILE, adapter_state(model), metadata={"format": "pt"})
    dropout = first.dropout.p if isinstance(first.dropout, nn.Dropout) else 0.0
    cfg = adapter_config(first.rank, first.alpha, base, targets, dropout=dropout, layers=layers)
    ck.save_json(folder / CONFIG_FILE, {**cfg, **(extra or {})})


def read_adapter_config(folder: Path) -> dict:
    """The adapter's config, checked (ModelLoadError naming the problem)."""
    path = Path(folder) / CONFIG_FILE
    try:
        cfg = ck.load_json(path)
    except Exception as exc:  # noqa: BLE001 - unreadable JSON of any kind is one message
        raise ModelLoadError(f"{path} is not readable JSON: {exc}") from None
    if not isinstance(cfg, dict) or str(cfg.get("peft_type", "")).upper() != "LORA":
        raise ModelLoadError(f"{path} is not a LoRA adapter (peft_type "
                             f"{cfg.get('peft_type') if isinstance(cfg, dict) else None!r})")
    r, alpha = cfg.get("r"), cfg.get("lora_alpha")
    if not isinstance(r, int) or not 1 <= r <= MAX_RANK or not isinstance(alpha, (int, float)):
        raise ModelLoadError(f"{path} has an unusable rank or alpha (r={r!r}, "
                             f"lora_alpha={alpha!r})")
    if cfg.get("use_dora") or cfg.get("use_rslora") or cfg.get("rank_pattern") \
            or cfg.get("alpha_pattern"):
        raise ModelLoadError(f"{path} uses DoRA, rsLoRA or per-layer ranks, which Reverie "
                             f"does not apply; merge it with peft first")
    return cfg


def read_adapter_pairs(folder: Path) -> tuple[float, dict[str, dict[str, torch.Tensor]]]:
    """(scaling, {module name: {"lora_A": A, "lora_B": B}}) of a saved adapter (shapes are
    checked by the caller against the model they go into)."""
    folder = Path(folder)
    cfg = read_adapter_config(folder)
    scaling = float(cfg["lora_alpha"]) / int(cfg["r"])
    path = folder / WEIGHTS_FILE
    if not path.is_file():
        raise ModelLoadError(f"{path} is missing")
    tensors = ck.load_tensors(path)
    pairs: dict[str, dict[str, torch.Tensor]] = {}
    for key, t in tensors.items():
        name = key[len(PEFT_PREFIX):] if key.startswith(PEFT_PREFIX) else key
        for part in ("lora_A", "lora_B"):
            for suffix in (f".{part}.weight", f".{part}.default.weight"):
                if name.endswith(suffix):
                    if not bool(torch.isfinite(t).all()):   # the SVD at load would fail on it
                        raise ModelLoadError(f"{path} holds values that are not numbers (NaN "
                                             f"or infinity) in {key}")
                    pairs.setdefault(name[: -len(suffix)], {})[part] = t
    if not pairs:
        raise ModelLoadError(f"{path} holds no LoRA weights")
    return scaling, pairs


def _misfit(mod_name: str, a, b, shape) -> ModelLoadError:
    return ModelLoadError(f"the adapter's {mod_name} does not fit the base model "
                          f"(shapes {None if a is None else list(a.shape)} and "
                          f"{None if b is None else list(b.shape)} for a weight of "
                          f"{None if shape is None else list(shape)})")


@torch.no_grad()
def merge_adapter_into(model: nn.Module, folder: Path) -> int:
    """Add a saved adapter's update to ``model``'s projection weights in place (W += s B A).

    Works on a plain (not LoRA-wrapped) model; returns how many projections changed.
    Every tensor is checked by name and shape before any weight changes.
    """
    scaling, pairs = read_adapter_pairs(folder)
    plan = []
    for mod_name, ab in sorted(pairs.items()):
        try:
            module = model.get_submodule(mod_name)
        except AttributeError:
            raise ModelLoadError(f"the adapter names {mod_name!r}, which the base model does "
                                 f"not have; it was made for another model") from None
        a, b = ab.get("lora_A"), ab.get("lora_B")
        w = getattr(module, "weight", None)
        if a is None or b is None or w is None or a.dim() != 2 or b.dim() != 2 \
                or a.shape[0] != b.shape[1] or (b.shape[0], a.shape[1]) != tuple(w.shape):
            raise _misfit(mod_name, a, b, None if w is None else w.shape)
        plan.append((w, a, b))
    for w, a, b in plan:
        w.copy_((w.float() + (b.float() @ a.float()) * scaling).to(w.dtype))
    return len(plan)


@torch.no_grad()
def load_adapter_weights(model: nn.Module, folder: Path) -> int:
    """Copy a saved adapter's ``A`` and ``B`` into the :class:`LoRALinear` modules of ``model``
    (wrapped by :func:`apply_lora` with the adapter's own rank, alpha, projections and blocks),
    so that training continues from it; returns how many projections it set. The adapter and
    the model must name the same projections with the same shapes, checked before any weight
    changes."""
    _, pairs = read_adapter_pairs(folder)
    mods = lora_modules(model)
    extra, missing = sorted(set(pairs) - set(mods)), sorted(set(mods) - set(pairs))
    if extra:
        raise ModelLoadError(f"the adapter names {extra[0]!r}, which has no adapter here; it "
                             f"was made for another model or other blocks")
    if missing:
        raise ModelLoadError(f"the adapter holds no weights for {missing[0]!r}")
    plan = []
    for name, m in sorted(mods.items()):
        a, b = pairs[name].get("lora_A"), pairs[name].get("lora_B")
        if a is None or b is None or tuple(a.shape) != tuple(m.lora_A.weight.shape) \
                or tuple(b.shape) != tuple(m.lora_B.weight.shape):
            raise _misfit(name, a, b, m.weight.shape)
        plan.append((m, a, b))
    for m, a, b in plan:
        m.lora_A.weight.copy_(a.float())
        m.lora_B.weight.copy_(b.float())
    return len(plan)


class LowRankAdded(nn.Module):
    """``base(x) + (x A'^T) B'^T``: an adapter applied on the fly to a projection that cannot
    take a merged update without losing it — a quantized one (Reverie's int4 packs, int8),
    whose requantized merged weights lose most of what a fine-tune learned (2.1273 -> 1.8305
    bits per byte in float32, 2.0716 merged and requantized to int4; benchmarks/
    bench_finetune.py).

    ``base`` may be a fused projection (q|k|v, gate|up): the pieces' updates are stacked into
    one ``(out, in)`` update of rank ``R`` (the sum of the pieces' ranks), which
    :func:`compress_update` factors again, keeping the directions that carry ``keep_energy`` of
    it (``A'``: ``(k, in)``, ``B'``: ``(out, k)``, the scaling in ``B'``). Both are kept
    transposed, float32: with one row at a time (decoding) ``x @ A'^T`` streams rows, about a
    quarter faster than ``F.linear`` on the same weights."""

    def __init__(self, base: nn.Module, a: torch.Tensor, b: torch.Tensor,
                 keep_energy: float = 1.0) -> None:
        super().__init__()
        self.base = base
        at, bt = compress_update(a, b, keep_energy)
        self.full_rank = a.shape[0]
        self.register_buffer("lora_At", at)
        self.register_buffer("lora_Bt", bt)

    @property
    def rank(self) -> int:
        return self.lora_At.shape[1]

    def extra_repr(self) -> str:   # in repr(model): a compiled decode step is keyed by it
        return f"rank={self.rank} of {self.full_rank}"

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.base(x)
        low = (x.float() @ self.lora_At) @ self.lora_Bt
        return y + low.to(y.dtype)


@torch.no_grad()
def compress_update(a: torch.Tensor, b: torch.Tensor, keep_energy: float = 1.0
                    ) -> tuple[torch.Tensor, torch.Tensor]:
    """``(A'^T, B'^T)``, float32 and contiguous, with ``B' A'`` the best approximation of
    ``B A`` (``a``: ``(R, in)``, ``b``: ``(out, R)``) of the least rank ``k`` that keeps
    ``keep_energy`` of its squared Frobenius norm (Eckart–Young: the top singular directions).
    ``keep_energy >= 1``: ``A`` and ``B`` as given.

    Why: a trained adapter's update is far from using its whole rank, and decoding reads the
    adapter's weights at every token. On the 15-minute German adapter of docs/train-room.md
    (rank 32, every block, 160 kB of text) the q|k|v, o, gate|up and down updates keep 95 % of
    their energy in 45 % of their directions, which moved the held-out figure from 1.8381 to
    1.8398 bits per byte (the base: 2.1276); a four-minute English adapter keeps 70 % of its
    energy in 19 % of its directions, its held-out figure unchanged (``benchmarks/
    bench_adapter_decode.py``). The SVD of ``B A`` comes from the QR factors of ``B`` and
    ``A^T`` (an ``R x R`` SVD): about half a second for the 120 projections of SmolLM2.
    """
    if keep_energy >= 1.0:
        return a.t().float().contiguous(), b.t().float().contiguous()
    qb, rb = torch.linalg.qr(b.double())           # b = qb rb
    qa, ra = torch.linalg.qr(a.double().t())       # a^T = qa ra
    u, s, vh = torch.linalg.svd(rb @ ra.t())       # b a = qb (u s vh) qa^T
    power = s.square()
    total = float(power.sum())
    k = 1 if total == 0.0 else \
        min(len(s), int((power.cumsum(0) / total < keep_energy).sum()) + 1)
    at = qa @ vh[:k].t()                           # (in, k)
    bt = (qb @ (u[:, :k] * s[:k])).t()             # (k, out)
    return at.float().contiguous(), bt.float().contiguous()


@torch.no_grad()
def add_adapter_on_the_fly(model: nn.Module, folder: Path,
                           keep_energy: float | None = None) -> int:
    """Wrap the projections of a loaded (quantized, maybe fused) Llama ``model`` with
    :class:`LowRankAdded` for a saved adapter; returns how many projections it covers. Every
    pair is checked against the model's dimensions before anything changes. ``keep_energy``:
    each wrapped projection keeps the fewest directions of its update that carry this much of
    it (:func:`compress_update`; 1.0: the adapter exactly; None: :data:`ON_THE_FLY_ENERGY`)."""
    keep = ON_THE_FLY_ENERGY if keep_energy is None else keep_energy
    scaling, pairs = read_adapter_pairs(folder)
    cfg = model.config
    h, inter = cfg.hidden_size, cfg.intermediate_size
    qd, kvd = cfg.num_attention_heads * cfg.head_dim, cfg.num_key_value_heads * cfg.head_dim
    dims = {"q_proj": (qd, h), "k_proj": (kvd, h), "v_proj": (kvd, h), "o_proj": (h, qd),
            "gate_proj": (inter, h), "up_proj": (inter, h), "down_proj": (h, inter)}
    known = {f"model.layers.{i}.{part}.{leaf}"
             for i in range(len(model.model.layers))
             for part, leaves in (("self_attn", ("q_proj", "k_proj", "v_proj", "o_proj")),
                                  ("mlp", ("gate_proj", "up_proj", "down_proj")))
             for leaf in leaves}
    for mod_name, ab in pairs.items():
        if mod_name not in known:
            raise ModelLoadError(f"the adapter names {mod_name!r}, which the base model does "
                                 f"not have; it was made for another model")
        a, b = ab.get("lora_A"), ab.get("lora_B")
        shape = dims[mod_name.rpartition(".")[2]]
        if a is None or b is None or a.dim() != 2 or b.dim() != 2 \
                or a.shape[0] != b.shape[1] or (b.shape[0], a.shape[1]) != shape:
            raise _misfit(mod_name, a, b, shape)

    def wrap(owner: nn.Module, attr: str, prefix: str, leaves: tuple[str, ...]) -> int:
        got = [pairs.get(prefix + leaf) for leaf in leaves]
        if getattr(owner, attr, None) is None or not any(got):
            return 0
        rows = [dims[leaf][0] for leaf in leaves]
        ranks = [0 if g is None else g["lora_A"].shape[0] for g in got]
        a = torch.zeros(sum(ranks), dims[leaves[0]][1])
        b = torch.zeros(sum(rows), sum(ranks))
        r0 = o0 = 0
        for g, r, n in zip(got, ranks, rows):
            if g is not None:
                a[r0:r0 + r] = g["lora_A"].float()
                b[o0:o0 + n, r0:r0 + r] = g["lora_B"].float() * scaling
            r0, o0 = r0 + r, o0 + n
        setattr(owner, attr, LowRankAdded(getattr(owner, attr), a, b, keep))
        return sum(g is not None for g in got)

    covered = 0
    for i, layer in enumerate(model.model.layers):
        att, mlp = layer.self_attn, layer.mlp
        p = f"model.layers.{i}."
        if att.qkv_proj is not None:
            covered += wrap(att, "qkv_proj", p + "self_attn.", ("q_proj", "k_proj", "v_proj"))
        else:
            for leaf in ("q_proj", "k_proj", "v_proj"):
                covered += wrap(att, leaf, p + "self_attn.", (leaf,))
        covered += wrap(att, "o_proj", p + "self_attn.", ("o_proj",))
        if mlp.gate_up_proj is not None:
            covered += wrap(mlp, "gate_up_proj", p + "mlp.", ("gate_proj", "up_proj"))
        else:
            for leaf in ("gate_proj", "up_proj"):
                covered += wrap(mlp, leaf, p + "mlp.", (leaf,))
        covered += wrap(mlp, "down_proj", p + "mlp.", ("down_proj",))
    return covered
