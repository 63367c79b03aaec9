"""GPT-2 in plain torch, one file (nanoGPT style), with Hugging Face parameter names.

Learned absolute positions, pre-LayerNorm blocks, GELU (tanh approximation, HF's "gelu_new"),
fused q/k/v projection stored as Hugging Face stores it: ``Conv1D`` weights of shape
(in_features, out_features), so ``y = x @ W + b``. Output embeddings are tied to ``wte``.

Parameter names match ``transformers.GPT2LMHeadModel`` (``transformer.h.0.attn.c_attn.weight``
...); the loader also accepts the original OpenAI export without the ``transformer.`` prefix.

References: Radford et al. 2019, "Language Models are Unsupervised Multitask Learners";
Karpathy's nanoGPT ``model.py``; Hugging Face ``transformers/models/gpt2/modeling_gpt2.py``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from desktop_app.core.untrusted import check_sizes, float_in
from desktop_app.ml.text.kv_cache import KVCache
from desktop_app.ml.text.ops import linear

_ACTIVATIONS = {"gelu_new": "tanh", "gelu_pytorch_tanh": "tanh", "gelu_fast": "tanh",
                "gelu": "none"}


@dataclass
class GPT2Config:
    vocab_size: int = 50257
    n_positions: int = 1024
    n_embd: int = 768
    n_layer: int = 12
    n_head: int = 12
    n_inner: int | None = None  # None -> 4 * n_embd
    layer_norm_epsilon: float = 1e-5
    activation_function: str = "gelu_new"
    bos_token_id: int | None = 50256
    eos_token_id: int | None = 50256
    initializer_range: float = 0.02
    extra: dict[str, Any] = field(default_factory=dict, repr=False)

    def __post_init__(self) -> None:
        # An untrusted config: types and ranges checked before any layer is built from them.
        check_sizes(vars(self), {"vocab_size": (1, 1 << 22), "n_positions": (1, 1 << 20),
                                 "n_embd": (1, 1 << 16), "n_layer": (1, 512),
                                 "n_head": (1, 1024), "n_inner": (1, 1 << 18)},
                    source="config.json")
        float_in(self.layer_norm_epsilon, "layer_norm_epsilon", 0.0, 1.0, source="config.json")
        if self.n_embd % self.n_head:
            raise ValueError(f"n_embd {self.n_embd} is not a multiple of n_head {self.n_head}")
        if self.n_inner is None:
            self.n_inner = 4 * self.n_embd
        if self.activation_function not in _ACTIVATIONS:
            raise ValueError(f"unsupported GPT-2 activation {self.activation_function!r} "
                             f"(supported: {', '.join(_ACTIVATIONS)})")

    @property
    def head_dim(self) -> int:
        return self.n_embd // self.n_head

    @classmethod
    def from_hf(cls, d: dict[str, Any]) -> "GPT2Config":
        if d.get("scale_attn_by_inverse_layer_idx") or d.get("reorder_and_upcast_attn"):
            raise ValueError("GPT-2 variants with scale_attn_by_inverse_layer_idx or "
                             "reorder_and_upcast_attn are not supported")
        if d.get("scale_attn_weights", True) is False:
            raise ValueError("GPT-2 configs with scale_attn_weights false are not supported")
        known = set(cls.__dataclass_fields__) - {"extra"}
        kw = {k: d[k] for k in known if k in d}
        kw["extra"] = {k: v for k, v in d.items()
                       if k not in known and k not in ("architectures", "model_type")}
        return cls(**kw)

    def to_hf(self) -> dict[str, Any]:
        d = {**self.extra, "model_type": "gpt2", "architectures": ["GPT2LMHeadModel"]}
        d.update({k: getattr(self, k) for k in self.__dataclass_fields__ if k != "extra"})
        d["n_ctx"] = self.n_positions
        d["tie_word_embeddings"] = True
        return d


class Conv1D(nn.Module):
    """HF's "Conv1D": a linear layer whose weight is stored (in_features, out_features)."""

    def __init__(self, n_in: int, n_out: int) -> None:
        super().__init__()
        self.weight = nn.Parameter(torch.empty(n_in, n_out))
        self.bias = nn.Parameter(torch.zeros(n_out))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return linear(x, self.weight.t(), self.bias)  # x @ W + b


class GPT2Attention(nn.Module):
    def __init__(self, cfg: GPT2Config, layer_idx: int) -> None:
        super().__init__()
        self.layer_idx, self.n_head, self.head_dim = layer_idx, cfg.n_head, cfg.head_dim
        self.c_attn = Conv1D(cfg.n_embd, 3 * cfg.n_embd)  # fused q, k, v
        self.c_proj = Conv1D(cfg.n_embd, cfg.n_embd)

    def forward(self, x: torch.Tensor, cache: KVCache | None, start_pos: int) -> torch.Tensor:
        B, T, C = x.shape  # (B, T, n_embd)
        qkv = self.c_attn(x).view(B, T, 3, self.n_head, self.head_dim)
        q, k, v = qkv.permute(2, 0, 3, 1, 4).unbind(0)  # each (B, H, T, hd)
        if cache is not None:
            k, v = cache.update(self.layer_idx, k, v, start_pos)
        S = k.shape[2]
        if T == 1:
            y = F.scaled_dot_product_attention(q, k, v)
        elif S == T:
            y = F.scaled_dot_product_attention(q, k, v, is_causal=True)
        else:  # a chunk after a cached prefix: query i sits at position S - T + i
            mask = torch.ones(T, S, dtype=torch.bool, device=x.device).tril(diagonal=S - T)
            y = F.scaled_dot_product_attention(q, k, v, attn_mask=mask)
        return self.c_proj(y.transpose(1, 2).reshape(B, T, C))


class GPT2MLP(nn.Module):
    def __init__(self, cfg: GPT2Config) -> None:
        super().__init__()
        self.c_fc = Conv1D(cfg.n_embd, cfg.n_inner)
        self.c_proj = Conv1D(cfg.n_inner, cfg.n_embd)
        self.approximate = _ACTIVATIONS[cfg.activation_function]

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.c_proj(F.gelu(self.c_fc(x), approximate=self.approximate))


class GPT2Block(nn.Module):
    def __init__(self, cfg: GPT2Config, layer_idx: int) -> None:
        super().__init__()
        self.ln_1 = nn.LayerNorm(cfg.n_embd, eps=cfg.layer_norm_epsilon)
        self.attn = GPT2Attention(cfg, layer_idx)
        self.ln_2 = nn.LayerNorm(cfg.n_embd, eps=cfg.layer_norm_epsilon)
        self.mlp = GPT2MLP(cfg)

    def forward(self, x, cache, start_pos):
        x = x + self.attn(self.ln_1(x), cache, start_pos)
        return x + self.mlp(self.ln_2(x))


class GPT2Model(nn.Module):
    def __init__(self, cfg: GPT2Config) -> None:
        super().__init__()
        self.wte = nn.Embedding(cfg.vocab_size, cfg.n_embd)
        self.wpe = nn.Embedding(cfg.n_positions, cfg.n_embd)
        self.h = nn.ModuleList(GPT2Block(cfg, i) for i in range(cfg.n_layer))
        self.ln_f = nn.LayerNorm(cfg.n_embd, eps=cfg.layer_norm_epsilon)


class GPT2LMHeadModel(nn.Module):
    """GPT-2 LM. ``forward(ids (B,T), cache=None, start_pos=0) -> logits (B,T,V)`` (float32)."""

    def __init__(self, cfg: GPT2Config) -> None:
        super().__init__()
        self.config = cfg
        self.transformer = GPT2Model(cfg)
        self.output_proj: nn.Module | None = None  # set by quant.quantize_model (int8)
        self.apply(self._init_weights)

    def _init_weights(self, module: nn.Module) -> None:
        std = self.config.initializer_range
        if isinstance(module, (Conv1D, nn.Embedding)):
            nn.init.normal_(module.weight, mean=0.0, std=std)

    @property
    def output_weight(self) -> torch.Tensor:
        return self.transformer.wte.weight  # tied embeddings, (V, n_embd)

    @property
    def max_context(self) -> int:
        return self.config.n_positions

    def new_cache(self, batch: int, max_len: int, dtype: torch.dtype | None = None) -> KVCache:
        cfg = self.config
        dtype = dtype or self.transformer.wte.weight.dtype
        return KVCache(cfg.n_layer, batch, cfg.n_head, max_len, cfg.head_dim, dtype=dtype,
                       device=self.transformer.wte.weight.device)

    def forward(self, input_ids: torch.Tensor, cache: KVCache | None = None, start_pos: int = 0,
                *, last_only: bool = False, hidden_only: bool = False) -> torch.Tensor:
        B, T = input_ids.shape
        if start_pos + T > self.config.n_positions:
            raise ValueError(f"sequence of {start_pos + T} tokens exceeds GPT-2's "
                             f"{self.config.n_positions} positions")
        t = self.transformer
        pos = torch.arange(start_pos, start_pos + T, device=input_ids.device)
        x = t.wte(input_ids) + t.wpe(pos)  # (B, T, n_embd)
        for block in t.h:
            x = block(x, cache, start_pos)
        x = t.ln_f(x)
        if last_only:
            x = x[:, -1:]
        return x if hidden_only else self.logits_from_hidden(x)

    def logits_from_hidden(self, hidden: torch.Tensor) -> torch.Tensor:
        """Float32 logits of final hidden states (``forward(..., hidden_only=True)``): scoring
        a long window a few hundred positions at a time keeps its logits small."""
        if self.output_proj is not None:
            return self.output_proj(hidden).float()
        return linear(hidden, self.output_weight).float()

    def num_parameters(self) -> int:
        return sum(p.numel() for p in self.parameters())
