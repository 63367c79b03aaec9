"""A key/value cache allocated once per generation and written in place (no per-step allocation).

Layout per layer: ``k[layer]`` and ``v[layer]`` are (B, n_kv_heads, max_len, head_dim) tensors.
The model writes the keys/values of positions ``[start_pos, start_pos + T)`` and attends to the
view ``[:, :, :start_pos + T]``. The caller (the generation loop) tracks how many positions are
filled; the cache itself holds no position counter, so one cache can be rewound for free.

A cache made by ``LlamaForCausalLM.new_cache`` also carries the model's RoPE cos/sin tables
for its positions (:attr:`KVCache.rope`, views, no copy): a compiled decode step then sees
tables as long as the cache, so neither length is baked into the compiled code.

Variants share one prompt prefill: prefill with batch 1, then :meth:`KVCache.expand` copies
the filled prefix into a batch-N cache.
"""

from __future__ import annotations

import torch


class KVCache:
    """Preallocated per-layer key/value buffers. Lives on the thread that runs the model."""

    def __init__(self, n_layers: int, batch: int, n_kv_heads: int, max_len: int,
                 head_dim: int, *, dtype: torch.dtype = torch.float32,
                 device: torch.device | str = "cpu") -> None:
        shape = (batch, n_kv_heads, max_len, head_dim)
        self.k = [torch.zeros(shape, dtype=dtype, device=device) for _ in range(n_layers)]
        self.v = [torch.zeros(shape, dtype=dtype, device=device) for _ in range(n_layers)]
        self.max_len = max_len
        self.batch = batch
        self.rope: tuple[torch.Tensor, torch.Tensor] | None = None  # (max_len, hd) cos, sin

    def update(self, layer: int, k: torch.Tensor, v: torch.Tensor,
               start_pos: int) -> tuple[torch.Tensor, torch.Tensor]:
        """Store k, v (B, n_kv, T, hd) at ``start_pos``; return views of all positions so far."""
        end = start_pos + k.shape[2]
        kb, vb = self.k[layer], self.v[layer]
        if end > kb.shape[2]:  # the tensor's own length: a compiled step keeps it symbolic
            raise ValueError(f"KV cache overflow: position {end} > capacity {kb.shape[2]}")
        kb[:, :, start_pos:end].copy_(k)
        vb[:, :, start_pos:end].copy_(v)
        return kb[:, :, :end], vb[:, :, :end]

    def expand(self, batch: int, length: int) -> "KVCache":
        """A new cache with ``batch`` rows, each a copy of row 0's first ``length`` positions."""
        new = KVCache.__new__(KVCache)
        new.max_len, new.batch, new.rope = self.max_len, batch, self.rope
        new.k, new.v = [], []
        for src_list, dst_list in ((self.k, new.k), (self.v, new.v)):
            for src in src_list:
                _, h, t, d = src.shape
                dst = torch.zeros((batch, h, t, d), dtype=src.dtype, device=src.device)
                dst[:, :, :length].copy_(src[0:1, :, :length].expand(batch, -1, -1, -1))
                dst_list.append(dst)
        return new

    def nbytes(self) -> int:
        return sum(t.numel() * t.element_size() for t in (*self.k, *self.v))
