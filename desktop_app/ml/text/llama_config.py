"""The hyper-parameters of a Llama-family model: ``LlamaConfig`` and what its RoPE settings mean.

Read from and written to a Hugging Face ``config.json`` (transformers v4 or v5 layout). Configs
come from untrusted folders, so every size and factor is checked before a model is built from
it. :func:`rope_inv_freq` turns ``rope_theta`` and ``rope_scaling`` (linear or llama3) into the
rotary inverse frequencies, as Hugging Face ``modeling_rope_utils.py`` does.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import torch

from desktop_app.core.untrusted import check_sizes, float_in

#: Hugging Face ``model_type`` values that this module implements.
LLAMA_MODEL_TYPES = ("llama", "mistral", "qwen2", "smollm", "smollm2", "tinyllama")


@dataclass
class LlamaConfig:
    vocab_size: int = 32000
    hidden_size: int = 4096
    intermediate_size: int = 11008
    num_hidden_layers: int = 32
    num_attention_heads: int = 32
    num_key_value_heads: int | None = None  # None -> num_attention_heads (no GQA)
    max_position_embeddings: int = 2048
    rms_norm_eps: float = 1e-6
    rope_theta: float = 10000.0
    rope_scaling: dict[str, Any] | None = None  # {"rope_type"/"type": "linear"|"llama3", ...}
    tie_word_embeddings: bool = False
    attention_bias: bool = False  # bias on q, k, v (and on o unless attention_out_bias False)
    bos_token_id: int | None = 1
    eos_token_id: int | list[int] | None = 2
    head_dim: int | None = None  # None -> hidden_size // num_attention_heads
    attention_out_bias: bool | None = None  # None -> same as attention_bias (HF Llama)
    mlp_bias: bool = False
    initializer_range: float = 0.02
    model_type: str = "llama"
    extra: dict[str, Any] = field(default_factory=dict, repr=False)  # other HF keys, kept as-is

    def __post_init__(self) -> None:
        # Configs come from untrusted folders: check types and ranges before anything is
        # built from them (a string size, zero heads, 10**9 layers, a non-numeric factor).
        check_sizes(vars(self), _BOUNDS, source="config.json")
        for name, lo, hi in (("rms_norm_eps", 0.0, 1.0), ("rope_theta", 1.0, 1e12),
                             ("initializer_range", 0.0, 10.0)):
            float_in(getattr(self, name), name, lo, hi, source="config.json")
        _check_rope_scaling(self.rope_scaling)
        if self.num_key_value_heads is None:
            self.num_key_value_heads = self.num_attention_heads
        if self.head_dim is None:
            self.head_dim = self.hidden_size // self.num_attention_heads
            if self.head_dim < 1 or self.hidden_size % self.num_attention_heads:
                raise ValueError(f"hidden_size {self.hidden_size} is not a multiple of "
                                 f"num_attention_heads {self.num_attention_heads}")
        if self.attention_out_bias is None:
            self.attention_out_bias = self.attention_bias
        if self.num_attention_heads % self.num_key_value_heads:
            raise ValueError("num_attention_heads must be a multiple of num_key_value_heads")

    # -- Hugging Face config.json ------------------------------------------------------------
    @classmethod
    def from_hf(cls, d: dict[str, Any]) -> "LlamaConfig":
        """Build from a Hugging Face ``config.json`` dict (transformers v4 or v5 layout)."""
        model_type = d.get("model_type", "llama")
        if d.get("hidden_act", "silu") != "silu":
            raise ValueError(f"hidden_act {d['hidden_act']!r} is not supported (only silu)")
        rope_theta = d.get("rope_theta")
        rope_scaling = d.get("rope_scaling")
        params = d.get("rope_parameters")  # transformers v5 keeps theta and scaling here
        if isinstance(params, dict):
            if rope_theta is None:
                rope_theta = params.get("rope_theta")
            kind = params.get("rope_type", params.get("type", "default"))
            if rope_scaling is None and kind not in (None, "default"):
                rope_scaling = {k: v for k, v in params.items() if k != "rope_theta"}
        if rope_scaling is not None and not isinstance(rope_scaling, dict):
            raise ValueError("rope_scaling must be a mapping")
        if rope_scaling is not None and _rope_kind(rope_scaling) == "default":
            rope_scaling = None
        qkv_bias = bool(d.get("attention_bias", model_type == "qwen2"))
        out_bias = False if model_type == "qwen2" else qkv_bias
        known = {f for f in cls.__dataclass_fields__ if f != "extra"}
        return cls(
            vocab_size=d["vocab_size"],
            hidden_size=d["hidden_size"],
            intermediate_size=d["intermediate_size"],
            num_hidden_layers=d["num_hidden_layers"],
            num_attention_heads=d["num_attention_heads"],
            num_key_value_heads=d.get("num_key_value_heads"),
            max_position_embeddings=d.get("max_position_embeddings", 2048),
            rms_norm_eps=d.get("rms_norm_eps", 1e-6),
            rope_theta=float(rope_theta if rope_theta is not None else 10000.0),
            rope_scaling=rope_scaling,
            tie_word_embeddings=bool(d.get("tie_word_embeddings", False)),
            attention_bias=qkv_bias,
            attention_out_bias=out_bias,
            bos_token_id=d.get("bos_token_id"),
            eos_token_id=d.get("eos_token_id"),
            head_dim=d.get("head_dim"),
            mlp_bias=bool(d.get("mlp_bias", False)),
            initializer_range=d.get("initializer_range", 0.02),
            model_type=model_type,
            extra={k: v for k, v in d.items() if k not in known and k not in _DERIVED_KEYS},
        )

    def to_hf(self) -> dict[str, Any]:
        """A Hugging Face ``config.json`` dict ("llama", or "qwen2" for q/k/v-only biases)."""
        qwen_style = self.attention_bias and not self.attention_out_bias
        model_type = "qwen2" if qwen_style else "llama"
        arch = "Qwen2ForCausalLM" if qwen_style else "LlamaForCausalLM"
        rope_parameters = {"rope_type": "default", "rope_theta": self.rope_theta}
        if self.rope_scaling:
            rope_parameters = {**self.rope_scaling, "rope_theta": self.rope_theta}
            rope_parameters.setdefault("rope_type", _rope_kind(self.rope_scaling))
        d = {
            **self.extra,
            "model_type": model_type,
            "architectures": [arch],
            "vocab_size": self.vocab_size,
            "hidden_size": self.hidden_size,
            "intermediate_size": self.intermediate_size,
            "num_hidden_layers": self.num_hidden_layers,
            "num_attention_heads": self.num_attention_heads,
            "num_key_value_heads": self.num_key_value_heads,
            "head_dim": self.head_dim,
            "hidden_act": "silu",
            "max_position_embeddings": self.max_position_embeddings,
            "rms_norm_eps": self.rms_norm_eps,
            "rope_theta": self.rope_theta,
            "rope_scaling": dict(self.rope_scaling) if self.rope_scaling else None,
            "rope_parameters": rope_parameters,
            "tie_word_embeddings": self.tie_word_embeddings,
            "attention_bias": self.attention_bias,
            "mlp_bias": self.mlp_bias,
            "initializer_range": self.initializer_range,
            "bos_token_id": self.bos_token_id,
            "eos_token_id": self.eos_token_id,
            "torch_dtype": "float32",
        }
        return d


_DERIVED_KEYS = {"rope_theta", "rope_scaling", "rope_parameters", "attention_out_bias",
                 "architectures", "hidden_act", "torch_dtype", "dtype", "transformers_version"}


#: Plausible ranges for a config's sizes (the largest published models fit well inside).
_BOUNDS = {"vocab_size": (1, 1 << 22), "hidden_size": (1, 1 << 16),
           "intermediate_size": (1, 1 << 18), "num_hidden_layers": (1, 512),
           "num_attention_heads": (1, 1024), "num_key_value_heads": (1, 1024),
           "max_position_embeddings": (1, 1 << 24), "head_dim": (1, 1024)}


def _check_rope_scaling(s: Any) -> None:
    if s is None:
        return
    if not isinstance(s, dict):
        raise ValueError("rope_scaling must be a mapping")
    kind = _rope_kind(s)
    needed = {"default": (), "linear": ("factor",),
              "llama3": ("factor", "low_freq_factor", "high_freq_factor",
                         "original_max_position_embeddings")}.get(kind)
    if needed is None:
        raise ValueError(f"unsupported rope_scaling type {kind!r} (supported: linear, llama3)")
    for name in needed:
        float_in(s.get(name), f"rope_scaling.{name}", 1e-6, 1e7, source="config.json")
    if kind == "llama3" and s["low_freq_factor"] == s["high_freq_factor"]:
        raise ValueError("rope_scaling low_freq_factor and high_freq_factor must differ")


def _rope_kind(scaling: dict[str, Any]) -> str:
    return str(scaling.get("rope_type", scaling.get("type", "default")))


def rope_inv_freq(cfg: LlamaConfig) -> torch.Tensor:
    """Inverse frequencies (head_dim/2,) with HF's linear / llama3 scaling applied."""
    dim = cfg.head_dim
    inv_freq = 1.0 / (cfg.rope_theta ** (torch.arange(0, dim, 2, dtype=torch.int64).float() / dim))
    s = cfg.rope_scaling
    if not s:
        return inv_freq
    kind = _rope_kind(s)
    if kind == "linear":
        return inv_freq / float(s["factor"])
    if kind == "llama3":
        factor = float(s["factor"])
        low, high = float(s["low_freq_factor"]), float(s["high_freq_factor"])
        old_len = float(s["original_max_position_embeddings"])
        low_wavelen, high_wavelen = old_len / low, old_len / high
        wavelen = 2 * math.pi / inv_freq
        scaled = torch.where(wavelen > low_wavelen, inv_freq / factor, inv_freq)
        smooth = (old_len / wavelen - low) / (high - low)
        smoothed = (1 - smooth) * scaled / factor + smooth * scaled
        medium = ~(wavelen < high_wavelen) & ~(wavelen > low_wavelen)
        return torch.where(medium, smoothed, scaled)
    raise ValueError(f"unsupported rope_scaling type {kind!r} (supported: linear, llama3)")
