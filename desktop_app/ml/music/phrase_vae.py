"""A MusicVAE-style variational autoencoder over 2-bar melody phrases (one file).

Representation (MusicVAE's melody encoding): one token per 16th note — ``HOLD`` (the previous
note continues), ``REST`` or a pitch onset in semitones above the tonic (-24..+35), with
``PAD`` after the phrase (a 2-bar phrase of 12/8 has 48 steps, of 2/4 only 16).
Encoder: bidirectional GRU -> (mu, log sigma^2) of a 32-d latent. Decoder: a GRU whose initial
state comes from z and which sees z at every step (Roberts et al. 2018, "A Hierarchical Latent
Vector Model for Learning Long-Term Structure in Music", the flat 2-bar model; Bowman et al.
2016 for KL annealing; Kingma et al. 2016 for free bits).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from fractions import Fraction

import torch
from torch import nn
from torch.nn import functional as F

PAD, HOLD, REST = 0, 1, 2
PITCH_LOW, PITCH_HIGH = -24, 35
VOCAB = 3 + PITCH_HIGH - PITCH_LOW + 1
STEPS_PER_QUARTER = 4
PHRASE_BARS = 2


@dataclass
class PhraseVAEConfig:
    vocab_size: int = VOCAB
    max_steps: int = 48
    embed: int = 64
    enc_hidden: int = 128
    dec_hidden: int = 192
    latent: int = 32
    beta: float = 0.2
    free_bits: float = 24.0  # nats of KL per phrase that are free (MusicVAE's free bits)

    def to_dict(self) -> dict:
        return {"architecture": "phrase-vae", "phrase_bars": PHRASE_BARS,
                "steps_per_quarter": STEPS_PER_QUARTER, **asdict(self)}

    @classmethod
    def from_dict(cls, d: dict) -> "PhraseVAEConfig":
        return cls(**{k: d[k] for k in cls.__dataclass_fields__ if k in d})


def events_to_grid(events) -> list[int]:
    """[(rel pitch or None, Fraction quarters)] -> grid tokens (durations rounded to 16ths)."""
    out, now = [], Fraction(0)
    for rel, dur in events:
        start = round(now * STEPS_PER_QUARTER)
        now += dur
        n = round(now * STEPS_PER_QUARTER) - start
        if n <= 0:
            continue
        if rel is None:
            out += [REST] * n
        else:
            rel = min(max(rel, PITCH_LOW), PITCH_HIGH)
            out += [3 + rel - PITCH_LOW] + [HOLD] * (n - 1)
    return out


def grid_to_events(grid) -> list[tuple[int | None, Fraction]]:
    events: list[list] = []
    step = Fraction(1, STEPS_PER_QUARTER)
    for t in grid:
        t = int(t)
        if t == PAD:
            break
        if t == HOLD and events:
            events[-1][1] += step
        elif t in (HOLD, REST):
            if events and events[-1][0] is None:
                events[-1][1] += step
            else:
                events.append([None, step])
        else:
            events.append([t - 3 + PITCH_LOW, step])
    return [(p, d) for p, d in events]


def phrases_from_grid(grid: list[int], bar_steps: int, hop_bars: int = PHRASE_BARS,
                      max_steps: int = 48) -> list[list[int]]:
    """Cut a tune's grid into 2-bar phrases (PAD to ``max_steps``); skip all-rest phrases."""
    size = PHRASE_BARS * bar_steps
    if size > max_steps:
        return []
    out = []
    for s in range(0, len(grid) - size + 1, hop_bars * bar_steps):
        ph = list(grid[s: s + size])
        if ph[0] == HOLD:  # a note tied in from the previous phrase: re-strike it
            back = s
            while back > 0 and grid[back] == HOLD:
                back -= 1
            ph[0] = grid[back] if grid[back] != HOLD else REST
        if all(t in (REST, HOLD) for t in ph):
            continue
        out.append(ph + [PAD] * (max_steps - size))
    return out


class PhraseVAE(nn.Module):
    def __init__(self, cfg: PhraseVAEConfig):
        super().__init__()
        self.cfg = cfg
        self.embed = nn.Embedding(cfg.vocab_size, cfg.embed)
        self.encoder = nn.GRU(cfg.embed, cfg.enc_hidden, batch_first=True, bidirectional=True)
        self.to_stats = nn.Linear(2 * cfg.enc_hidden, 2 * cfg.latent)
        self.z_to_h = nn.Linear(cfg.latent, cfg.dec_hidden)
        self.decoder = nn.GRU(cfg.embed + cfg.latent, cfg.dec_hidden, batch_first=True)
        self.out = nn.Linear(cfg.dec_hidden, cfg.vocab_size)

    def encode(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """x (B, S) -> mu, logvar (B, Z). PAD steps are packed away."""
        lengths = (x != PAD).sum(1).clamp(min=1).cpu()
        packed = nn.utils.rnn.pack_padded_sequence(self.embed(x), lengths, batch_first=True,
                                                   enforce_sorted=False)
        _, h = self.encoder(packed)                       # h (2, B, H)
        mu, logvar = self.to_stats(torch.cat([h[0], h[1]], -1)).chunk(2, -1)
        return mu, logvar.clamp(-10, 10)

    def decode_logits(self, z: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
        """Teacher-forced: z (B, Z), x (B, S) -> logits (B, S, V) predicting x."""
        b, s = x.shape
        prev = torch.cat([torch.full((b, 1), REST, dtype=x.dtype, device=x.device),
                          x[:, :-1]], 1)                   # shifted right
        inp = torch.cat([self.embed(prev), z[:, None, :].expand(b, s, -1)], -1)
        h0 = torch.tanh(self.z_to_h(z))[None]
        y, _ = self.decoder(inp, h0)
        return self.out(y)

    def forward(self, x: torch.Tensor):
        mu, logvar = self.encode(x)
        z = mu + torch.randn_like(mu) * torch.exp(0.5 * logvar) if self.training else mu
        return self.decode_logits(z, x), mu, logvar

    @torch.no_grad()
    def decode(self, z: torch.Tensor, steps: int, *, temperature: float = 0.0,
               allowed: torch.Tensor | None = None, gen: torch.Generator | None = None
               ) -> torch.Tensor:
        """z (B, Z) -> grid tokens (B, steps). ``allowed`` (V,) bool masks the vocabulary."""
        b = z.shape[0]
        h = torch.tanh(self.z_to_h(z))[None]
        prev = torch.full((b,), REST, dtype=torch.long)
        out = []
        for i in range(steps):
            inp = torch.cat([self.embed(prev), z], -1)[:, None, :]
            y, h = self.decoder(inp, h)
            logits = self.out(y[:, 0]).clone()
            logits[:, PAD] = float("-inf")
            if i == 0:
                logits[:, HOLD] = float("-inf")
            if allowed is not None:
                logits[:, ~allowed] = float("-inf")
            if temperature > 0:
                probs = torch.softmax(logits / temperature, -1)
                prev = torch.multinomial(probs, 1, generator=gen)[:, 0]
            else:
                prev = logits.argmax(-1)
            out.append(prev)
        return torch.stack(out, 1)


def vae_loss(model: PhraseVAE, x: torch.Tensor, beta: float, free_bits: float):
    """(loss, recon per token, kl per phrase, accuracy) for a batch x (B, S)."""
    logits, mu, logvar = model(x)
    mask = x != PAD
    ce = F.cross_entropy(logits.reshape(-1, logits.shape[-1]), x.reshape(-1),
                         reduction="none").view_as(x)
    recon = (ce * mask).sum() / mask.sum()
    kl = 0.5 * (mu.pow(2) + logvar.exp() - 1 - logvar).sum(1)        # (B,) nats
    kl_term = torch.clamp(kl - free_bits, min=0).mean()
    tokens_per_phrase = mask.sum(1).float().mean()
    loss = recon + beta * kl_term / tokens_per_phrase
    acc = ((logits.argmax(-1) == x) & mask).sum() / mask.sum()
    return loss, recon, kl.mean(), acc


def slerp(a: torch.Tensor, b: torch.Tensor, t: float) -> torch.Tensor:
    """Spherical interpolation between latent vectors (White 2016, "Sampling Generative Networks")."""
    an, bn = a / a.norm(dim=-1, keepdim=True), b / b.norm(dim=-1, keepdim=True)
    omega = torch.acos((an * bn).sum(-1, keepdim=True).clamp(-1 + 1e-7, 1 - 1e-7))
    so = torch.sin(omega)
    if float(so.abs().min()) < 1e-6:
        return (1 - t) * a + t * b
    return torch.sin((1 - t) * omega) / so * a + torch.sin(t * omega) / so * b
