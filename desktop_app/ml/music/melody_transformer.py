"""A small causal transformer over melody event tokens (one file, nanoGPT style).

References: Vaswani et al. 2017 "Attention Is All You Need"; Radford et al. 2019 (GPT-2,
pre-norm blocks); Karpathy's nanoGPT ``model.py`` (layout); Huang et al. 2018 "Music
Transformer" (transformers for symbolic melody); Sturm et al. 2016 folk-rnn (meter/mode
conditioning tokens on the same corpus family).

**Rotary attention over musical time** (``time_rope``): half of every head's dimensions are
rotated by the token's onset in quarter notes (RoPE, Su et al. 2021, with time in place of
the token index), so attention scores depend on how far back in *musical time* a token lies.
"The note one bar ago at this beat" then sits at a fixed offset whatever the number of notes
in between, which is what folk tunes repeat by; a plain token-index transformer must count
tokens of varying bars and, trained this briefly, hardly ever repeats a bar (Music
Transformer's relative attention makes the same point). The onset of each token is read off
the token ids themselves (the sum of the duration tokens before it), so callers pass nothing
new; the cache carries the time reached.

**Bar-in-phrase embedding** (``phrase_bars``): each token also gets a learned embedding of its
bar's number modulo ``phrase_bars`` (16: folk tunes are built of 8-bar strains), so the model
knows that bar 5 is where bar 1 tends to come back. Windows that start mid-tune say how many
bars came before them (``bar_offset``).
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass

import torch
from torch import nn
from torch.nn import functional as F

from desktop_app.ml.music import tokens as T


@dataclass
class MelodyTransformerConfig:
    vocab_size: int = 104
    block_size: int = 320   # tokens of context (a 16-bar melody is ~280)
    n_layer: int = 4
    n_head: int = 4
    n_embd: int = 128
    dropout: float = 0.1
    time_rope: bool = True  # rotary attention over onsets in quarter notes (module docstring)
    phrase_bars: int = 16   # bar-number-modulo embedding size (0: none)

    def to_dict(self) -> dict:
        return {"architecture": "melody-transformer", **asdict(self)}

    @classmethod
    def from_dict(cls, d: dict) -> "MelodyTransformerConfig":
        d = {"time_rope": False, "phrase_bars": 0, **d}   # folders written before these
        return cls(**{k: d[k] for k in cls.__dataclass_fields__ if k in d})


class MelodyCache(list):
    """Per-layer ``(k, v)`` of the tokens seen so far, plus ``end_time`` (B,): the onset, in
    quarter notes, of the next token (the rotary angle it gets), ``bars`` (B,): the bar
    number of the last token seen, and ``bar_len`` (B,): the meter's bar in quarter notes
    (how far a COPY token advances time)."""

    def __init__(self, layers, end_time: torch.Tensor, bars: torch.Tensor,
                 bar_len: torch.Tensor):
        super().__init__(layers)
        self.end_time = end_time
        self.bars = bars
        self.bar_len = bar_len


def _rotate(z: torch.Tensor, cos: torch.Tensor, sin: torch.Tensor) -> torch.Tensor:
    """Rotate the first ``2 * pairs`` dims of z (B, H, T, D) by angles cos/sin (B, 1, T, pairs)
    (GPT-NeoX's half-split layout; the remaining dims attend by content and position only)."""
    n = cos.shape[-1]
    a, b, rest = z[..., :n], z[..., n:2 * n], z[..., 2 * n:]
    return torch.cat([a * cos - b * sin, a * sin + b * cos, rest], dim=-1)


class CausalSelfAttention(nn.Module):
    def __init__(self, cfg: MelodyTransformerConfig):
        super().__init__()
        self.n_head = cfg.n_head
        self.qkv = nn.Linear(cfg.n_embd, 3 * cfg.n_embd)
        self.proj = nn.Linear(cfg.n_embd, cfg.n_embd)
        self.dropout = cfg.dropout

    def forward(self, x: torch.Tensor, past=None, rope=None):
        """x (B, T, C); ``past`` (k, v) of earlier positions (then T must be 1); ``rope``
        (cos, sin) of the tokens' onsets or None -> y, (k, v)."""
        b, t, c = x.shape                                      # (B, T, C)
        q, k, v = self.qkv(x).split(c, dim=2)
        q, k, v = (z.view(b, t, self.n_head, c // self.n_head).transpose(1, 2)
                   for z in (q, k, v))                         # (B, H, T, C/H)
        if rope is not None:                                   # keys are cached rotated
            q, k = _rotate(q, *rope), _rotate(k, *rope)
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

    def forward(self, x: torch.Tensor, past=None, rope=None):
        a, kv = self.attn(self.ln1(x), past, rope)
        x = x + a
        return x + self.mlp(self.ln2(x)), kv


class MelodyTransformer(nn.Module):
    def __init__(self, cfg: MelodyTransformerConfig):
        super().__init__()
        self.cfg = cfg
        self.tok = nn.Embedding(cfg.vocab_size, cfg.n_embd)
        self.pos = nn.Embedding(cfg.block_size, cfg.n_embd)
        self.bar = nn.Embedding(cfg.phrase_bars, cfg.n_embd) if cfg.phrase_bars else None
        self.drop = nn.Dropout(cfg.dropout)
        self.blocks = nn.ModuleList(Block(cfg) for _ in range(cfg.n_layer))
        self.ln_f = nn.LayerNorm(cfg.n_embd)
        self.head = nn.Linear(cfg.n_embd, cfg.vocab_size, bias=False)
        self.head.weight = self.tok.weight  # weight tying (Press & Wolf 2017)
        # Duration in quarter notes of every token (0 for non-durations) and the rotary
        # wavelengths: 1/2 quarter (tells triplet 16ths apart) .. 512 quarters (a whole tune).
        # Derived from the vocabulary, so not saved with the weights.
        dur = torch.zeros(cfg.vocab_size)
        for tok in T.DUR_IDS:
            if tok < cfg.vocab_size:
                dur[tok] = float(T.token_dur(tok))
        self.register_buffer("dur_quarters", dur, persistent=False)
        # A COPY token lasts one bar, whose length the meter token (always second) tells.
        is_copy = torch.tensor([T.is_copy(t) for t in range(cfg.vocab_size)], dtype=torch.float)
        self.register_buffer("is_copy", is_copy, persistent=False)
        bar_len = torch.zeros(cfg.vocab_size)
        for i, meter in enumerate(T.METERS):
            if T.METER_BASE + i < cfg.vocab_size:
                bar_len[T.METER_BASE + i] = float(T.bar_quarters(meter))
        self.register_buffer("meter_bar_len", bar_len, persistent=False)
        pairs = (cfg.n_embd // cfg.n_head) // 4
        wavelengths = 0.5 * 1024.0 ** (torch.arange(pairs) / max(pairs - 1, 1))
        self.register_buffer("angular_freq", 2 * math.pi / wavelengths, persistent=False)
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

    def forward(self, idx: torch.Tensor, bar_offset: torch.Tensor | None = None) -> torch.Tensor:
        """idx (B, T) int64 -> logits (B, T, vocab). ``bar_offset`` (B,): bars of the tune
        before the window (None: the window starts the tune)."""
        return self.forward_cached(idx, None, bar_offset)[0]

    def forward_cached(self, idx: torch.Tensor, cache: list | None,
                       bar_offset: torch.Tensor | None = None):
        """Incremental decoding: ``cache`` None (prime with idx (B, T)) or the list returned by
        the previous call (then idx is (B, 1)). Returns logits (B, T, vocab) and the new cache."""
        past_len = 0 if cache is None else cache[0][0].shape[2]
        t = idx.shape[1]
        if past_len + t > self.cfg.block_size:
            raise ValueError(f"sequence of {past_len + t} tokens exceeds the context of "
                             f"{self.cfg.block_size}")
        pos = torch.arange(past_len, past_len + t, device=idx.device)
        x = self.tok(idx) + self.pos(pos)
        if cache is not None:                    # where the previous call left off
            bars0, start, bar_len = cache.bars, cache.end_time, cache.bar_len
        else:                                    # a window that starts BOS METER MODE ...
            b = idx.shape[0]
            bars0 = (torch.full((b,), 0, device=idx.device) if bar_offset is None
                     else bar_offset.to(idx.device)) - 1
            start = torch.zeros(b, device=idx.device)
            bar_len = (self.meter_bar_len[idx[:, 1]] if idx.shape[1] > 1
                       else torch.zeros(b, device=idx.device))
        bars = bars0[:, None] + torch.cumsum((idx == T.BAR).long(), 1)   # (B, T) bar number
        if self.bar is not None:                 # the conditioning prefix counts as bar 0
            x = x + self.bar(bars.clamp(min=0) % self.cfg.phrase_bars)
        x = self.drop(x)
        dur = self.dur_quarters[idx] + self.is_copy[idx] * bar_len[:, None]   # (B, T)
        onset = start[:, None] + torch.cumsum(dur, 1) - dur       # (B, T) quarter notes
        rope = None
        if self.cfg.time_rope:
            angle = (onset[..., None] * self.angular_freq)[:, None]  # (B, 1, T, pairs)
            rope = (angle.cos(), angle.sin())
        layers = []
        for i, blk in enumerate(self.blocks):
            x, kv = blk(x, None if cache is None else cache[i], rope)
            layers.append(kv)
        return self.head(self.ln_f(x)), MelodyCache(layers, onset[:, -1] + dur[:, -1],
                                                      bars[:, -1], bar_len)

    def num_params(self) -> int:
        return sum(p.numel() for p in self.parameters())

    def state_for_saving(self) -> dict[str, torch.Tensor]:
        """State dict without the tied duplicate (safetensors refuses shared storage)."""
        return {k: v for k, v in self.state_dict().items() if k != "head.weight"}

    def load_saved(self, tensors: dict[str, torch.Tensor]) -> None:
        self.load_state_dict({**tensors, "head.weight": tensors["tok.weight"]})
