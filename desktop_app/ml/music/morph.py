"""Melody interpolation and "similar to this" variations with the phrase VAE.

Both melodies are cut into 2-bar phrases (relative to their own tonic); phrase i of A and
phrase i of B are encoded, their latent means are joined by spherical interpolation, and each
point is decoded greedily. The results use A's key, meter and tempo.
"""

from __future__ import annotations

import torch

from desktop_app.core.errors import DataError, UsageError
from desktop_app.core.melody import Melody
from desktop_app.ml.music import data as D
from desktop_app.ml.music import phrase_vae as V
from desktop_app.ml.music import tokens as T


def _bar_steps(melody: Melody) -> int:
    steps = melody.meter.bar_quarters * V.STEPS_PER_QUARTER
    if steps != int(steps):
        raise DataError(f"the meter {melody.meter} does not fit the phrase model's 16th grid")
    return int(steps)


def melody_phrases(melody: Melody, max_steps: int) -> list[list[int]]:
    grid = V.events_to_grid(D.melody_events(melody))
    phrases = V.phrases_from_grid(grid, _bar_steps(melody), V.PHRASE_BARS, max_steps)
    if not phrases:
        raise DataError(f"{melody.title or 'the melody'} needs at least {V.PHRASE_BARS} bars "
                        f"with notes in {melody.meter} (bars of at most "
                        f"{max_steps // V.PHRASE_BARS // 4} quarter notes)")
    return phrases


def _decode(vae: V.PhraseVAE, z: torch.Tensor, like: Melody, steps: int,
            hard_mask: bool) -> Melody:
    allowed = None
    if hard_mask:
        allowed = torch.ones(V.VOCAB, dtype=torch.bool)
        base = 60 + like.key.tonic
        for tok in range(3, V.VOCAB):
            allowed[tok] = like.key.contains(base + tok - 3 + V.PITCH_LOW)
    grid = vae.decode(z, steps, allowed=allowed)                     # (P, steps)
    events = [e for row in grid.tolist() for e in V.grid_to_events(row)]
    toks = T.encode_events(events, str(like.meter), like.key.mode) if str(like.meter) in \
        T.METERS else None
    if toks is not None:
        return D.tokens_to_melody(toks, like.key, like.tempo, like.title)
    notes, now, base = [], 0.0, 60 + like.key.tonic
    from desktop_app.core.melody import Note
    for rel, dur in events:
        if rel is not None:
            notes.append(Note(start=now, pitch=base + rel, duration=float(dur)))
        now += float(dur)
    return like.with_notes(notes)


@torch.no_grad()
def interpolate(vae: V.PhraseVAE, a: Melody, b: Melody, n: int, *, hard_mask: bool = False,
                cancel=None) -> list[Melody]:
    """``n`` melodies from A to B (both ends included, each end re-decoded by the VAE)."""
    if n < 2:
        raise UsageError("--steps must be at least 2 (the two ends)")
    if a.meter.bar_quarters != b.meter.bar_quarters:
        raise DataError(f"the melodies have different bar lengths ({a.meter} and {b.meter}); "
                        f"morphing needs the same meter")
    pa, pb = melody_phrases(a, vae.cfg.max_steps), melody_phrases(b, vae.cfg.max_steps)
    k = min(len(pa), len(pb))
    mu_a, _ = vae.encode(torch.tensor(pa[:k]))
    mu_b, _ = vae.encode(torch.tensor(pb[:k]))
    steps = V.PHRASE_BARS * _bar_steps(a)
    out = []
    for i in range(n):
        if cancel is not None:
            cancel.raise_if_cancelled()
        t = i / (n - 1)
        out.append(_decode(vae, V.slerp(mu_a, mu_b, t), a, steps, hard_mask))
    return out


@torch.no_grad()
def variations(vae: V.PhraseVAE, melody: Melody, n: int, *, spread: float = 0.5,
               seed: int = 0, hard_mask: bool = False) -> list[Melody]:
    """``n`` melodies near ``melody``: its phrase latents plus Gaussian noise of ``spread``."""
    ph = melody_phrases(melody, vae.cfg.max_steps)
    mu, _ = vae.encode(torch.tensor(ph))
    gen = torch.Generator().manual_seed(seed)
    steps = V.PHRASE_BARS * _bar_steps(melody)
    return [_decode(vae, mu + spread * torch.randn(mu.shape, generator=gen), melody, steps,
                    hard_mask) for _ in range(n)]
