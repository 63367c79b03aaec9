"""The Llama family of decoder-only transformers in plain torch, one file (nanoGPT style).

Covers Llama 2/3, Mistral (no sliding window: fine up to 4k context), Qwen2/2.5 (bias on
q/k/v only), SmolLM/SmolLM2 and TinyLlama: RMSNorm, rotary position embeddings (``rope_theta``,
``rope_scaling`` of type linear or llama3), grouped-query attention, SwiGLU, tied or untied
embeddings, optional attention biases.

Parameter names are exactly those of Hugging Face ``LlamaForCausalLM`` (``model.layers.0.
self_attn.q_proj.weight`` ...), so a ``model.safetensors`` written by either loads in the other.
The config (``LlamaConfig``, checked as untrusted input, and its RoPE scaling) lives in
:mod:`.llama_config` and is re-exported here.

References:
- Touvron et al. 2023, "Llama 2" (arXiv:2307.09288); Su et al. 2021, "RoFormer" (RoPE).
- Hugging Face ``transformers/models/llama/modeling_llama.py`` (the reference the tests compare
  against, logits within 1e-4) and ``modeling_rope_utils.py`` (linear and llama3 scaling).
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

from desktop_app.ml.text.kv_cache import KVCache
from desktop_app.ml.text.llama_config import LLAMA_MODEL_TYPES, LlamaConfig, rope_inv_freq
from desktop_app.ml.text.ops import linear

__all__ = ["LLAMA_MODEL_TYPES", "LlamaConfig", "LlamaForCausalLM", "rope_inv_freq"]


def _rotate_half(x: torch.Tensor) -> torch.Tensor:
    half = x.shape[-1] // 2
    return torch.cat((-x[..., half:], x[..., :half]), dim=-1)


class Linear(nn.Linear):
    """``nn.Linear`` (same parameters) whose bf16 prompt products run in float32 (ops.linear)."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return linear(x, self.weight, self.bias)


class RMSNorm(nn.Module):
    def __init__(self, dim: int, eps: float) -> None:
        super().__init__()
        self.weight = nn.Parameter(torch.ones(dim))
        self.eps = eps

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        dtype = x.dtype
        x32 = x.float()
        x32 = x32 * torch.rsqrt(x32.pow(2).mean(-1, keepdim=True) + self.eps)
        return self.weight * x32.to(dtype)


class LlamaAttention(nn.Module):
    def __init__(self, cfg: LlamaConfig, layer_idx: int) -> None:
        super().__init__()
        self.layer_idx = layer_idx
        self.n_heads, self.n_kv, self.head_dim = (cfg.num_attention_heads,
                                                  cfg.num_key_value_heads, cfg.head_dim)
        h, qd, kvd = cfg.hidden_size, self.n_heads * self.head_dim, self.n_kv * self.head_dim
        self.q_proj = Linear(h, qd, bias=cfg.attention_bias)
        self.k_proj = Linear(h, kvd, bias=cfg.attention_bias)
        self.v_proj = Linear(h, kvd, bias=cfg.attention_bias)
        self.o_proj = Linear(qd, h, bias=cfg.attention_out_bias)
        self.qkv_proj: nn.Module | None = None  # set by fuse_qkv (quantized inference)
        self.split = (qd, kvd, kvd)

    def fuse_qkv(self, qkv: nn.Module) -> None:
        """Use one module whose output is q, k and v side by side (one matrix product)."""
        self.qkv_proj = qkv
        self.q_proj = self.k_proj = self.v_proj = None

    def forward(self, x: torch.Tensor, cos: torch.Tensor, sin: torch.Tensor,
                cache: KVCache | None, start_pos: int) -> torch.Tensor:
        B, T, _ = x.shape  # x: (B, T, hidden)
        H, Hkv, hd = self.n_heads, self.n_kv, self.head_dim
        if self.qkv_proj is not None:
            # Fused (quantized) layers: one cast of q|k|v to the cache dtype, and q and k
            # rotated together as H + Hkv heads (half the small ops per token).
            qkv = self.qkv_proj(x).to(cos.dtype)
            qk = _rotate(qkv[..., : (H + Hkv) * hd].view(B, T, H + Hkv, hd), cos[:, None], sin[:, None])
            q, k = qk[:, :, :H].transpose(1, 2), qk[:, :, H:].transpose(1, 2)
            v = qkv[..., (H + Hkv) * hd:].view(B, T, Hkv, hd).transpose(1, 2)
        else:
            q = self.q_proj(x).view(B, T, H, hd).transpose(1, 2)
            k = self.k_proj(x).view(B, T, Hkv, hd).transpose(1, 2)
            v = self.v_proj(x).view(B, T, Hkv, hd).transpose(1, 2)
            # q: (B, H, T, hd); k, v: (B, Hkv, T, hd); cos/sin: (T, hd)
            q, k = _rotate(q, cos, sin), _rotate(k, cos, sin)
            v = v.to(k.dtype)
        if cache is not None:
            k, v = cache.update(self.layer_idx, k, v, start_pos)
        y = _attend(q, k, v, start_pos if cache is not None else 0)
        return self.o_proj(y.transpose(1, 2).reshape(B, T, H * hd))


def _rotate(x: torch.Tensor, cos: torch.Tensor, sin: torch.Tensor) -> torch.Tensor:
    return x * cos + _rotate_half(x) * sin


#: Largest bf16 score matrix (B·H·T·T) for which training uses the explicit-product path:
#: the default LoRA step (2 × 512 tokens, 9 heads) is 9.4 MB; longer windows keep SDPA
#: (its backward stores no score matrix per layer).
_MATH_SCORES_BYTES = 16 << 20


def _bf16_training(q: torch.Tensor) -> bool:
    return (torch.is_grad_enabled() and q.requires_grad and q.device.type == "cpu"
            and torch.is_autocast_enabled("cpu")
            and torch.get_autocast_dtype("cpu") == torch.bfloat16)


def _attend_bf16_math(q: torch.Tensor, k: torch.Tensor, v: torch.Tensor) -> torch.Tensor:
    """Causal attention as two bf16 matrix products and a softmax, for training under bf16
    autocast. CPU SDPA's flash kernel runs bf16 attention at 27 ms forward + backward for
    SmolLM2's (2, 9, 512, 64) queries; this path takes 11 ms on the AMX/AVX512-BF16 matrix
    units, with the same size of error against float32 (0.8 % relative, as HF's eager bf16
    attention), and the LoRA step is ~25 % faster (benchmarks/bench_finetune.py)."""
    B, H, T, hd = q.shape
    Hkv = k.shape[1]
    q, k, v = q.to(torch.bfloat16), k.to(torch.bfloat16), v.to(torch.bfloat16)
    # query heads grouped by their key/value head (head h reads kv head h // groups)
    scores = torch.matmul(q.reshape(B, Hkv, (H // Hkv) * T, hd), k.transpose(-1, -2))
    scores = scores.view(B, Hkv, H // Hkv, T, T)
    future = torch.ones(T, T, dtype=torch.bool, device=q.device).triu(1)
    att = scores.mul(1.0 / math.sqrt(hd)).masked_fill(future, float("-inf")).softmax(-1)
    return torch.matmul(att.view(B, Hkv, (H // Hkv) * T, T), v).view(B, H, T, hd)


def _attend(q: torch.Tensor, k: torch.Tensor, v: torch.Tensor, start_pos: int) -> torch.Tensor:
    """Causal attention of q (B,H,T,hd) over k, v (B,Hkv,S,hd), S = start_pos + T.

    Grouped-query attention never copies k/v (``repeat_interleave`` of a 2k-token cache was
    measured 16 ms per layer): one new token folds its query groups into the length axis,
    longer inputs use SDPA's ``enable_gqa``.
    """
    B, H, T, hd = q.shape
    Hkv, S = k.shape[1], k.shape[2]
    groups = H // Hkv
    if T == 1:  # one new token sees every cached position
        # Two small matrix products and a softmax: CPU SDPA's flash kernel has ~0.2 ms of
        # set-up per call, measured 7 ms a token over SmolLM2's 30 layers, and these three
        # ops fuse under torch.compile.
        qg = q.view(B, Hkv, groups, hd)
        att = torch.matmul(qg, k.transpose(-1, -2)).mul_(1.0 / math.sqrt(hd)).softmax(-1)
        return torch.matmul(att, v).view(B, H, 1, hd)
    if S == T and _bf16_training(q) and B * H * T * T * 2 <= _MATH_SCORES_BYTES:
        return _attend_bf16_math(q, k, v)
    gqa = {"enable_gqa": True} if groups > 1 else {}
    if S == T:
        return F.scaled_dot_product_attention(q, k, v, is_causal=True, **gqa)
    # chunked prefill after a cached prefix: query i sits at position start_pos + i
    mask = torch.ones(T, S, dtype=torch.bool, device=q.device).tril(diagonal=S - T)
    return F.scaled_dot_product_attention(q, k, v, attn_mask=mask, **gqa)


def _table_dtype(embed: nn.Module) -> torch.dtype:
    w = getattr(embed, "weight", None)
    return w.dtype if w is not None else torch.float32


class LlamaMLP(nn.Module):
    def __init__(self, cfg: LlamaConfig) -> None:
        super().__init__()
        h, i = cfg.hidden_size, cfg.intermediate_size
        self.gate_proj = Linear(h, i, bias=cfg.mlp_bias)
        self.up_proj = Linear(h, i, bias=cfg.mlp_bias)
        self.down_proj = Linear(i, h, bias=cfg.mlp_bias)
        self.gate_up_proj: nn.Module | None = None  # set by fuse_gate_up (quantized inference)

    def fuse_gate_up(self, gate_up: nn.Module) -> None:
        """Use one module whose output is gate and up side by side (one matrix product)."""
        self.gate_up_proj = gate_up
        self.gate_proj = self.up_proj = None

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.gate_up_proj is not None:
            gate, up = self.gate_up_proj(x).chunk(2, dim=-1)
            return self.down_proj(F.silu(gate) * up)
        return self.down_proj(F.silu(self.gate_proj(x)) * self.up_proj(x))  # SwiGLU


class LlamaDecoderLayer(nn.Module):
    def __init__(self, cfg: LlamaConfig, layer_idx: int) -> None:
        super().__init__()
        self.self_attn = LlamaAttention(cfg, layer_idx)
        self.mlp = LlamaMLP(cfg)
        self.input_layernorm = RMSNorm(cfg.hidden_size, cfg.rms_norm_eps)
        self.post_attention_layernorm = RMSNorm(cfg.hidden_size, cfg.rms_norm_eps)

    def forward(self, x, cos, sin, cache, start_pos):
        x = x + self.self_attn(self.input_layernorm(x), cos, sin, cache, start_pos)
        return x + self.mlp(self.post_attention_layernorm(x))


class LlamaModel(nn.Module):
    def __init__(self, cfg: LlamaConfig) -> None:
        super().__init__()
        self.embed_tokens = nn.Embedding(cfg.vocab_size, cfg.hidden_size)
        self.layers = nn.ModuleList(LlamaDecoderLayer(cfg, i) for i in range(cfg.num_hidden_layers))
        self.norm = RMSNorm(cfg.hidden_size, cfg.rms_norm_eps)


class LlamaForCausalLM(nn.Module):
    """Decoder-only LM. ``forward(ids (B,T), cache=None, start_pos=0) -> logits (B,T,V)``.

    Without a cache it is a plain causal forward pass (training). With a :class:`KVCache` the
    keys/values of positions ``[start_pos, start_pos+T)`` are stored and attention covers all
    cached positions (inference).
    """

    def __init__(self, cfg: LlamaConfig) -> None:
        super().__init__()
        self.config = cfg
        self.model = LlamaModel(cfg)
        if cfg.tie_word_embeddings:
            self.lm_head = None
        else:
            self.lm_head = Linear(cfg.hidden_size, cfg.vocab_size, bias=False)
        self.register_buffer("inv_freq", rope_inv_freq(cfg), persistent=False)
        self._rope_cos = self._rope_sin = torch.empty(0)  # float32 (positions, hd) tables
        self.output_proj: nn.Module | None = None  # set by quant.quantize_model (int8)
        self.cache_dtype: torch.dtype | None = None  # set by int4_gguf (float32 keys/values)
        self.apply(self._init_weights)

    def _init_weights(self, module: nn.Module) -> None:
        std = self.config.initializer_range
        if isinstance(module, nn.Linear):
            nn.init.normal_(module.weight, mean=0.0, std=std)
            if module.bias is not None:
                nn.init.zeros_(module.bias)
        elif isinstance(module, nn.Embedding):
            nn.init.normal_(module.weight, mean=0.0, std=std)

    @property
    def output_weight(self) -> torch.Tensor:
        return self.model.embed_tokens.weight if self.lm_head is None else self.lm_head.weight

    @property
    def max_context(self) -> int:
        """Positions this implementation attends to exactly. Mistral-style sliding-window
        attention is not implemented, so a model that uses it is capped at its window."""
        cfg, limit = self.config, self.config.max_position_embeddings
        window = cfg.extra.get("sliding_window")
        uses_window = cfg.extra.get("use_sliding_window", cfg.model_type == "mistral")
        if isinstance(window, int) and window > 0 and uses_window:
            limit = min(limit, window)
        return limit

    def reset_rope(self, device: torch.device | str = "cpu") -> None:
        """Recompute the non-persistent RoPE buffer (a model built on the meta device)."""
        self.inv_freq = rope_inv_freq(self.config).to(device)
        self._rope_cos = self._rope_sin = torch.empty(0, device=device)

    def new_cache(self, batch: int, max_len: int, dtype: torch.dtype | None = None) -> KVCache:
        cfg = self.config
        dtype = dtype or self.cache_dtype or _table_dtype(self.model.embed_tokens)
        cache = KVCache(cfg.num_hidden_layers, batch, cfg.num_key_value_heads, max_len,
                        cfg.head_dim, dtype=dtype, device=self.inv_freq.device)
        self.ensure_rope(max_len)  # decoding only slices the tables (see kv_cache)
        cache.rope = (self._rope_cos[:max_len], self._rope_sin[:max_len])
        return cache

    def ensure_rope(self, n: int) -> None:
        """Grow the cos/sin tables to at least ``n`` positions (a power of two, so a long
        generation regrows them a handful of times at most)."""
        if self._rope_cos.shape[0] >= n:
            return
        n = 1 << max(6, (n - 1).bit_length())
        pos = torch.arange(n, dtype=torch.float32, device=self.inv_freq.device)
        freqs = torch.outer(pos, self.inv_freq.float())  # (n, hd/2)
        emb = torch.cat((freqs, freqs), dim=-1)  # (n, hd)
        self._rope_cos, self._rope_sin = emb.cos(), emb.sin()

    def rope(self, start_pos: int, T: int, dtype: torch.dtype) -> tuple[torch.Tensor, torch.Tensor]:
        """cos, sin (T, hd) of positions ``start_pos ..``, sliced from tables made once."""
        if self._rope_cos.shape[0] < start_pos + T:
            self.ensure_rope(start_pos + T)
        end = start_pos + T
        cos, sin = self._rope_cos[start_pos:end], self._rope_sin[start_pos:end]
        return (cos, sin) if dtype == torch.float32 else (cos.to(dtype), sin.to(dtype))

    def forward(self, input_ids: torch.Tensor, cache: KVCache | None = None, start_pos: int = 0,
                *, last_only: bool = False, hidden_only: bool = False) -> torch.Tensor:
        """Logits (B, T, V) in float32; ``last_only`` computes them for the last position only,
        ``hidden_only`` returns the final hidden states instead (see logits_from_hidden)."""
        B, T = input_ids.shape
        x = self.model.embed_tokens(input_ids)  # (B, T, hidden)
        dtype = self.cache_dtype or x.dtype
        if cache is not None and cache.rope is not None:
            cos, sin = (t[start_pos:start_pos + T].to(dtype) for t in cache.rope)
        else:
            cos, sin = self.rope(start_pos, T, dtype)
        for layer in self.model.layers:
            x = layer(x, cos, sin, cache, start_pos)
        x = self.model.norm(x)
        if last_only:
            x = x[:, -1:]
        return x if hidden_only else self.logits_from_hidden(x)

    def logits_from_hidden(self, hidden: torch.Tensor) -> torch.Tensor:
        """Float32 logits of final hidden states (``forward(..., hidden_only=True)``): scoring
        a long window a few hundred positions at a time keeps its logits small."""
        if self.output_proj is not None:
            return self.output_proj(hidden).float()
        return linear(hidden, self.output_weight).float()

    def tie_weights(self) -> None:
        """No-op kept for API symmetry: tied models read ``embed_tokens.weight`` directly."""

    def num_parameters(self) -> int:
        return sum(p.numel() for p in self.parameters())
