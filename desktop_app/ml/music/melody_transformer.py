"""A small causal transformer over melody event tokens (one file, nanoGPT style).

References: Vaswani et al. 2017 "Attention Is All You Need"; Radford et al. 2019 (GPT-2,
pre-norm blocks); Karpathy's nanoGPT ``model.py`` (layout); Huang et al. 2018 "Music
Transformer" (transformers for symbolic melody); Sturm et al. 2016 folk-rnn (meter/mode
conditioning tokens on the same corpus family).
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass

import torch
from torch import nn
from torch.nn import functional as F


@dataclass
class MelodyTransformerConfig:
    vocab_size: int = 104
    block_size: int = 320   # tokens of context (a 16-bar melody is ~280)
    n_layer: int = 4
    n_head: int = 4
    n_embd: int = 128
    dropout: float = 0.1

    def to_dict(self) -> dict:
        return {"architecture": "melody-transformer", **asdict(self)}

    @classmethod
    def from_dict(cls, d: dict) -> "MelodyTransformerConfig":
        return cls(**{k: d[k] for k in cls.__dataclass_fields__ if k in d})


class CausalSelfAttention(nn.Module):
    def __init__(self, cfg: MelodyTransformerConfig):
        super().__init__()
        self.n_head = cfg.n_head
        self.qkv = nn.Linear(cfg.n_embd, 3 * cfg.n_embd)
        self.proj = nn.Linear(cfg.n_embd, cfg.n_embd)
        self.dropout = cfg.dropout

    def forward(self, x: torch.Tensor, past=None):
        """x (B, T, C); ``past`` (k, v) of earlier positions (then T must be 1) -> y, (k, v)."""
        b, t, c = x.shape                                      # (B, T, C)
        q, k, v = self.qkv(x).split(c, dim=2)
        q, k, v = (z.view(b, t, self.n_head, c // self.n_head).transpose(1, 2)
                   for z in (q, k, v))                         # (B, H, T, C/H)
        if past is not None:
            k, v = torch.cat([past[0], k], 2), torch.cat([past[1], v], 2)
        y = F.scaled_dot_product_attention(q, k, v, is_causal=past is None,
                                           dropout_p=self.dropout if self.training else 0.0)
        return self.proj(y.transpose(1, 2).contiguous().view(b, t, c)), (k, v)


class Block(nn.Module):
    def __init__(self, cfg: MelodyTransformerConfig):
        super().__init__()
        self.ln1 = nn.LayerNorm(cfg.n_embd)
        self.attn = CausalSelfAttention(cfg)
        self.ln2 = nn.LayerNorm(cfg.n_embd)
        self.mlp = nn.Sequential(nn.Linear(cfg.n_embd, 4 * cfg.n_embd), nn.GELU(),
                                 nn.Linear(4 * cfg.n_embd, cfg.n_embd), nn.Dropout(cfg.dropout))

    def forward(self, x: torch.Tensor, past=None):
        a, kv = self.attn(self.ln1(x), past)
        x = x + a
        return x + self.mlp(self.ln2(x)), kv


class MelodyTransformer(nn.Module):
    def __init__(self, cfg: MelodyTransformerConfig):
        super().__init__()
        self.cfg = cfg
        self.tok = nn.Embedding(cfg.vocab_size, cfg.n_embd)
        self.pos = nn.Embedding(cfg.block_size, cfg.n_embd)
        self.drop = nn.Dropout(cfg.dropout)
        self.blocks = nn.ModuleList(Block(cfg) for _ in range(cfg.n_layer))
        self.ln_f = nn.LayerNorm(cfg.n_embd)
        self.head = nn.Linear(cfg.n_embd, cfg.vocab_size, bias=False)
        self.head.weight = self.tok.weight  # weight tying (Press & Wolf 2017)
        self.apply(self._init)
        for name, p in self.named_parameters():
            if name.endswith("proj.weight") or name.endswith("mlp.2.weight"):
                nn.init.normal_(p, 0.0, 0.02 / math.sqrt(2 * cfg.n_layer))

    @staticmethod
    def _init(m: nn.Module) -> None:
        if isinstance(m, (nn.Linear, nn.Embedding)):
            nn.init.normal_(m.weight, 0.0, 0.02)
        if isinstance(m, nn.Linear) and m.bias is not None:
            nn.init.zeros_(m.bias)

    def forward(self, idx: torch.Tensor) -> torch.Tensor:
        """idx (B, T) int64 -> logits (B, T, vocab)."""
        return self.forward_cached(idx, None)[0]

    def forward_cached(self, idx: torch.Tensor, cache: list | None):
        """Incremental decoding: ``cache`` None (prime with idx (B, T)) or the list returned by
        the previous call (then idx is (B, 1)). Returns logits (B, T, vocab) and the new cache."""
        past_len = 0 if cache is None else cache[0][0].shape[2]
        t = idx.shape[1]
        if past_len + t > self.cfg.block_size:
            raise ValueError(f"sequence of {past_len + t} tokens exceeds the context of "
                             f"{self.cfg.block_size}")
        pos = torch.arange(past_len, past_len + t, device=idx.device)
        x = self.drop(self.tok(idx) + self.pos(pos))
        new_cache = []
        for i, blk in enumerate(self.blocks):
            x, kv = blk(x, None if cache is None else cache[i])
            new_cache.append(kv)
        return self.head(self.ln_f(x)), new_cache

    def num_params(self) -> int:
        return sum(p.numel() for p in self.parameters())

    def state_for_saving(self) -> dict[str, torch.Tensor]:
        """State dict without the tied duplicate (safetensors refuses shared storage)."""
        return {k: v for k, v in self.state_dict().items() if k != "head.weight"}

    def load_saved(self, tensors: dict[str, torch.Tensor]) -> None:
        self.load_state_dict({**tensors, "head.weight": tensors["tok.weight"]})
