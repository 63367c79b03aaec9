"""Melody generation with the folk-melody transformer and the shared sampler chain.

The token grammar is enforced while sampling: after a pitch comes a duration that fits in what
is left of the bar (and leaves a remainder the vocabulary can fill), a full bar is followed by a
bar line, and generation stops after the requested number of bars, so a melody always ends on a
bar line. The user's options act on the logits *before* the sampler chain (temperature, top-k,
top-p, min-p, seed; :mod:`desktop_app.core.sampling`): pitch range, and optional hard in-scale
masking. Decoding applies the key: pitch tokens are semitones above the tonic.

Cadence: the last bar ends on the tonic (``end_on_tonic``, on by default). The corpus's tokens
drop each tune's final part-bar (the bar that completes the pickup, where ~80 % of the source
tunes land on the tonic), so the model on its own ends on the tonic only ~20 % of the time.
In the final bar a note other than the tonic (or a rest) may not take the bar's last beat,
a note comes on the tonic when no shorter duration would leave room for another, and no bar
copy is offered; everything else is the model's choice. Without a tonic in the pitch range
the ending is left free.

Mode prior (``mode_prior``, on by default): out-of-mode pitch logits are lowered by the
model's calibrated per-mode bias (:mod:`desktop_app.ml.music.mode_prior`), so rare modes get
about the corpus's share of chromatic notes instead of the major/minor habits of the model;
the hard mask removes them all instead.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from fractions import Fraction
from functools import lru_cache

import numpy as np
import torch

from desktop_app.core.errors import UsageError
from desktop_app.core.melody import Key, Melody
from desktop_app.core.sampling import Sampler, SamplerSettings, fresh_seed
from desktop_app.ml.music import data as D
from desktop_app.ml.music import tokens as T
from desktop_app.ml.music.mode_prior import out_of_mode_tokens

MAX_BARS = 64
#: Sampler settings for music when the user sets nothing: plain sampling at temperature 1.
MUSIC_DEFAULTS = SamplerSettings(temperature=1.0, top_k=0, top_p=1.0, min_p=0.0)


@dataclass(frozen=True)
class MelodyRequest:
    key: Key
    meter: str = "4/4"
    bars: int = 16
    tempo: float = 120.0
    low: int | None = None        # lowest / highest MIDI pitch allowed (None: no limit)
    high: int | None = None
    hard_mask: bool = False       # only in-scale pitches
    title: str = ""
    end_on_tonic: bool = True     # the last note is the tonic (a cadence)
    mode_prior: bool = True       # soft bias against out-of-mode notes (module docstring)


def _bar_len(meter: str) -> Fraction:
    n, d = meter.split("/")
    return Fraction(int(n) * 4, int(d))


@lru_cache(maxsize=None)
def _fillable(total: Fraction) -> frozenset[Fraction]:
    """Amounts up to ``total`` that some sequence of vocabulary durations adds up to."""
    unit = Fraction(1, 24)
    n = int(total / unit)
    ok = [False] * (n + 1)
    ok[0] = True
    steps = [int(d / unit) for d in T.DURATIONS]
    for i in range(1, n + 1):
        ok[i] = any(s <= i and ok[i - s] for s in steps)
    return frozenset(i * unit for i in range(n + 1) if ok[i])


def _state(tokens: list[int], bar: Fraction) -> tuple[int, Fraction, bool]:
    """(bars started, position in the current bar, expecting a duration) after ``tokens``."""
    bars, pos, want_dur = 0, Fraction(0), False
    for t in tokens:
        if t == T.BAR:
            bars, pos = bars + 1, Fraction(0)
        elif T.is_pitch(t):
            want_dur = True
        elif T.is_dur(t):
            pos, want_dur = pos + T.token_dur(t), False
        elif T.is_copy(t):
            pos, want_dur = bar, False
    return bars, pos, want_dur


@lru_cache(maxsize=64)
def _copy_mask(pitch_allowed_bytes: bytes, bars_before: int) -> np.ndarray:
    """At the start of a bar: the allowed pitches plus ``COPY_k`` for every bar that exists
    ``k`` bars back."""
    allowed = np.frombuffer(pitch_allowed_bytes, dtype=bool).copy()
    for k in range(1, min(bars_before, T.MAX_COPY_BACK) + 1):
        allowed[T.copy_token(k)] = True
    allowed.flags.writeable = False
    return allowed


def _pitch_mask(key: Key, low: int | None, high: int | None, hard: bool) -> np.ndarray:
    allowed = np.zeros(T.VOCAB_SIZE, dtype=bool)
    allowed[T.REST] = True
    base = 60 + key.tonic
    for tok in T.PITCH_IDS:
        p = base + T.token_pitch(tok)
        if (low is None or p >= low) and (high is None or p <= high) and 0 <= p <= 127 \
                and (not hard or key.contains(p)):
            allowed[tok] = True
    if not allowed[list(T.PITCH_IDS)].any():
        raise UsageError(f"no pitch of {key.name} lies between {low} and {high}; widen the "
                         f"pitch range")
    return allowed


def _tonic_mask(pitch_allowed: np.ndarray) -> np.ndarray:
    """The allowed pitch tokens on the tonic (any octave); no rest."""
    mask = np.zeros_like(pitch_allowed)
    for tok in T.PITCH_IDS:
        if tok != T.REST and T.token_pitch(tok) % 12 == 0 and pitch_allowed[tok]:
            mask[tok] = True
    return mask


@lru_cache(maxsize=256)
def _not_last_mask(remaining: Fraction) -> np.ndarray:
    """Durations that leave room for another note in the final bar (not the bar's end)."""
    allowed = _dur_mask(remaining).copy()
    for tok in T.DUR_IDS:
        if T.token_dur(tok) == remaining:
            allowed[tok] = False
    allowed.flags.writeable = False
    return allowed


@lru_cache(maxsize=256)
def _dur_mask(remaining: Fraction) -> np.ndarray:
    allowed = np.zeros(T.VOCAB_SIZE, dtype=bool)
    fill = _fillable(remaining)
    for tok in T.DUR_IDS:
        d = T.token_dur(tok)
        if d <= remaining and (remaining - d) in fill:
            allowed[tok] = True
    allowed.flags.writeable = False
    return allowed


def _window(seq: list[int], block: int) -> tuple[list[int], int]:
    """(the conditioning prefix plus the most recent whole bars that fit in ``block`` tokens,
    the number of bars before them)."""
    if len(seq) <= block:
        return seq, 0
    start = len(seq) - (block - 3)
    tail = seq[start:]
    cut = tail.index(T.BAR) if T.BAR in tail else 0
    return seq[:3] + tail[cut:], seq[3:start + cut].count(T.BAR)


def sample_tokens(model, *, meter: str, mode: str, bars: int, key: Key | None = None,
                  settings: SamplerSettings | None = None, seed: int | None = None,
                  primer: list[int] = (), low: int | None = None, high: int | None = None,
                  hard_mask: bool = False, cancel=None, on_bar=None,
                  end_on_tonic: bool = True, mode_bias: float = 0.0,
                  on_pitch_logits=None) -> list[int]:
    """Token ids ``BOS METER MODE [primer] | ...`` with ``bars`` new complete bars (the last
    note on the tonic when ``end_on_tonic``; see the module docstring). ``mode_bias`` nats
    come off the out-of-mode pitches' logits; ``on_pitch_logits(z)`` sees the masked logits
    of every pitch step before that bias (the mode prior's calibration)."""
    key = key or Key(0, mode)
    settings = settings or MUSIC_DEFAULTS
    sampler = Sampler(settings.with_seed(seed) if seed is not None else settings)
    bar = _bar_len(meter)
    seq = [T.BOS, T.meter_token(meter), T.mode_token(mode), *primer]
    started, pos, want_dur = _state(seq, bar)
    if started == 0:
        seq.append(T.BAR)
        started, pos, want_dur = 1, Fraction(0), False
    done, target = started - 1, started - 1 + bars + (1 if primer else 0)
    pitch_allowed = _pitch_mask(key, low, high, hard_mask)
    tonic_allowed = _tonic_mask(pitch_allowed)
    end_on_tonic = end_on_tonic and bool(tonic_allowed.any())
    outside = out_of_mode_tokens(mode) if mode_bias > 0 else None
    block = model.cfg.block_size
    cache, fed = None, 0
    model.eval()
    with torch.no_grad():
        while True:
            if pos == bar:
                done += 1
                if on_bar is not None:
                    on_bar(done - (target - bars), bars)
                if done >= target:
                    break
                seq.append(T.BAR)
                pos = Fraction(0)
            if cancel is not None:
                cancel.raise_if_cancelled()
            new = seq[fed:]
            if cache is None or cache[0][0].shape[2] + len(new) > block:
                window, bars_before = _window(seq, block)
                logits, cache = model.forward_cached(torch.tensor([window]), None,
                                                     torch.tensor([bars_before]))
            else:
                for t in new:
                    logits, cache = model.forward_cached(torch.tensor([[t]]), cache)
            fed = len(seq)
            final = end_on_tonic and done == target - 1
            if want_dur:
                allowed = _dur_mask(bar - pos)
                if final and not tonic_allowed[seq[-1]]:
                    allowed = _not_last_mask(bar - pos)   # only the tonic may end the tune
            elif final:
                allowed = (pitch_allowed if _not_last_mask(bar - pos).any()
                           else tonic_allowed)           # no room left for another note
            elif pos == 0:
                allowed = _copy_mask(pitch_allowed.tobytes(), seq.count(T.BAR) - 1)
            else:
                allowed = pitch_allowed
            z = logits[0, -1].double().numpy().copy()
            z[~allowed[: len(z)]] = -np.inf      # models trained before COPY have fewer ids
            if not want_dur:
                if on_pitch_logits is not None:
                    on_pitch_logits(z)
                if outside is not None:
                    z[outside[: len(z)]] -= mode_bias
            tok, _ = sampler.sample(z, seq)
            seq.append(tok)
            if T.is_copy(tok):
                pos = bar
            elif want_dur:
                pos += T.token_dur(tok)
                want_dur = False
            else:
                want_dur = True
    return seq


def generate_melody(model, req: MelodyRequest, settings: SamplerSettings | None = None, *,
                    seed: int | None = None, primer: Melody | None = None, cancel=None,
                    on_bar=None) -> tuple[Melody, int, str]:
    """(melody, seed used, notice). With a primer the melody is the primer + ``bars`` new bars."""
    if req.meter not in T.METERS:
        raise UsageError(f"the model knows the meters {', '.join(T.METERS)}; got {req.meter}")
    if not 1 <= req.bars <= MAX_BARS:
        raise UsageError(f"bars must be 1-{MAX_BARS}, got {req.bars}")
    settings = settings or MUSIC_DEFAULTS
    if seed is None:
        seed = settings.seed if settings.seed is not None else fresh_seed()
    notice, primer_toks = "", []
    if primer is not None and primer.notes:
        if primer.key.tonic != req.key.tonic:
            primer = primer.transpose((req.key.tonic - primer.key.tonic + 6) % 12 - 6)
        primer_toks, notice = primer_tokens(primer, req, model.cfg.block_size)
    toks = sample_tokens(model, meter=req.meter, mode=req.key.mode, bars=req.bars, key=req.key,
                         settings=settings, seed=seed, primer=primer_toks, low=req.low,
                         high=req.high, hard_mask=req.hard_mask, cancel=cancel, on_bar=on_bar,
                         end_on_tonic=req.end_on_tonic, mode_bias=mode_bias(model, req))
    melody = D.tokens_to_melody(toks, req.key, tempo=req.tempo, title=req.title)
    if primer is not None and notice:
        melody = _restore_primer_front(melody, primer, primer_toks, req)
    return melody, seed, notice


def mode_bias(model, req: MelodyRequest) -> float:
    """The calibrated out-of-mode bias for ``req`` (0 with the hard mask, the prior off, or a
    model calibrated before the prior existed)."""
    if req.hard_mask or not req.mode_prior:
        return 0.0
    return float(getattr(model, "mode_prior", {}).get(req.key.mode, 0.0))


def primer_tokens(primer: Melody, req: MelodyRequest, block: int) -> tuple[list[int], str]:
    """Tokens of the primer (without BOS/meter/mode), cut from the front to half the context."""
    bar = _bar_len(req.meter)
    events = D.melody_events(primer)
    toks: list[int] = []
    pos = Fraction(0)
    for rel, dur in events:
        while dur > 0:
            piece = min(dur, bar - pos)
            if pos == 0:
                toks.append(T.BAR)
            parts = T.split_duration(piece) or []
            for p in parts:
                toks += [T.REST if rel is None else T.pitch_token(rel), T.dur_token(p)]
            dur -= piece
            pos = (pos + piece) % bar
    limit = block // 2
    if len(toks) <= limit:
        return T.compress_repeats(toks), ""
    bars_total = toks.count(T.BAR)
    tail = toks[len(toks) - limit:]
    tail = tail[tail.index(T.BAR):] if T.BAR in tail else []
    kept = tail.count(T.BAR)
    # Compressed after the cut, so no COPY points at a bar the model no longer sees.
    return T.compress_repeats(tail), (f"the primer has {bars_total} bars, more than the "
                                      f"model's context holds; it continues from the last "
                                      f"{kept} bars")


def _restore_primer_front(melody: Melody, primer: Melody, toks: list[int],
                          req: MelodyRequest) -> Melody:
    """Put back the primer bars that were cut from the model's context (the user keeps them)."""
    bar = float(_bar_len(req.meter))
    dropped_bars = primer.n_bars - toks.count(T.BAR)
    if dropped_bars <= 0:
        return melody
    shift = dropped_bars * bar
    front = [n for n in primer.notes if n.start < shift - 1e-9]
    moved = [replace(n, start=n.start + shift) for n in melody.notes]
    return melody.with_notes(front + moved)
