"""The melody event vocabulary: pitch + duration pairs with bar lines, relative to the tonic.

A tune is ``BOS METER_<m> MODE_<mode> (BAR ((PITCH_<rel>|REST) DUR_<d> ...|COPY_<k>))* EOS``:

- pitches are semitones above the tonic in the 4th octave (MIDI 60 + tonic pitch class), so a
  tune in D major and one in Bb major share their tokens and the user's key is applied only
  when decoding; 60 pitch tokens span -24..+35 (MIDI 36..106 in C);
- durations are exact fractions of a quarter note (22 values, triplets included); notes that
  cross a bar line are split so every bar sums exactly to its length, which lets generation
  mask durations that would overflow the bar and so always end on a bar line;
- the meter and mode tokens condition the whole tune (folk-rnn's ``M:`` and ``K:`` tokens);
- a bar that is note for note the bar ``k`` bars earlier (k = 1..16) is written ``| COPY_k``
  (scheme ``pitch-duration-bar-copy-v2``): folk tunes repeat about a quarter of their bars,
  and one token for "as four bars ago" lets the model learn *when* tunes repeat as an
  ordinary next-token choice, where copying a dozen tokens exactly by attention is what a
  small model learns last (the first model without these tokens repeated 0.2-4 % of its
  bars against the corpus's 24 %).
  Decoding expands the copies, so every other part of the app sees plain notes.

Why pairs and not a 16th-note grid: a grid spends most tokens on "hold", triplets do not fit,
and one event per note keeps a 16-bar melody within ~280 tokens.
"""

from __future__ import annotations

from fractions import Fraction  # noqa: F401 - re-exported for callers

# The meters and modes are the melody's own (core.melody); the token ids follow their order,
# so these tuples must only ever grow at the end.
from desktop_app.core.melody import METERS, MODES  # noqa: F401 - re-exported for callers

PAD, BOS, EOS, BAR = 0, 1, 2, 3
SPECIALS = ("<pad>", "<bos>", "<eos>", "|")
PITCH_LOW, PITCH_HIGH = -24, 35
DURATIONS = tuple(Fraction(x) for x in (
    "1/12", "1/8", "1/6", "1/4", "1/3", "3/8", "1/2", "2/3", "3/4", "1", "5/4", "4/3", "3/2",
    "7/4", "2", "5/2", "3", "7/2", "4", "5", "6", "8"))

METER_BASE = len(SPECIALS)
MODE_BASE = METER_BASE + len(METERS)
REST = MODE_BASE + len(MODES)
PITCH_BASE = REST + 1
DUR_BASE = PITCH_BASE + (PITCH_HIGH - PITCH_LOW + 1)
COPY_BASE = DUR_BASE + len(DURATIONS)
MAX_COPY_BACK = 16
VOCAB_SIZE = COPY_BASE + MAX_COPY_BACK
PITCH_IDS = range(PITCH_BASE, DUR_BASE)
DUR_IDS = range(DUR_BASE, COPY_BASE)
COPY_IDS = range(COPY_BASE, VOCAB_SIZE)
_DUR_INDEX = {d: i for i, d in enumerate(DURATIONS)}


def meter_token(meter: str) -> int:
    return METER_BASE + METERS.index(meter)


def mode_token(mode: str) -> int:
    return MODE_BASE + MODES.index(mode)


def pitch_token(rel: int) -> int:
    if not PITCH_LOW <= rel <= PITCH_HIGH:
        raise ValueError(f"pitch {rel:+d} semitones from the tonic is outside the vocabulary")
    return PITCH_BASE + rel - PITCH_LOW


def token_pitch(tok: int) -> int | None:
    """Semitones above the tonic of a pitch token; None for REST."""
    return None if tok == REST else tok - PITCH_BASE + PITCH_LOW


def dur_token(d: Fraction) -> int:
    return DUR_BASE + _DUR_INDEX[d]


def token_dur(tok: int) -> Fraction:
    return DURATIONS[tok - DUR_BASE]


def is_pitch(tok: int) -> bool:
    return tok == REST or PITCH_BASE <= tok < DUR_BASE


def is_dur(tok: int) -> bool:
    return DUR_BASE <= tok < COPY_BASE


def copy_token(back: int) -> int:
    """The token for "this bar is the bar ``back`` bars earlier" (1..MAX_COPY_BACK)."""
    if not 1 <= back <= MAX_COPY_BACK:
        raise ValueError(f"a bar can repeat one 1-{MAX_COPY_BACK} bars back, not {back}")
    return COPY_BASE + back - 1


def is_copy(tok: int) -> bool:
    return COPY_BASE <= tok < VOCAB_SIZE


def token_copy_back(tok: int) -> int:
    return tok - COPY_BASE + 1


def bar_quarters(meter: str) -> Fraction:
    n, d = meter.split("/")
    return Fraction(int(n) * 4, int(d))


def token_name(tok: int) -> str:
    if tok < METER_BASE:
        return SPECIALS[tok]
    if tok < MODE_BASE:
        return f"M:{METERS[tok - METER_BASE]}"
    if tok < REST:
        return f"K:{MODES[tok - MODE_BASE]}"
    if tok == REST:
        return "r"
    if tok < DUR_BASE:
        return f"{token_pitch(tok):+d}"
    if tok < COPY_BASE:
        return f"d{token_dur(tok)}"
    return f"copy-{token_copy_back(tok)}"


def split_duration(d: Fraction) -> list[Fraction] | None:
    """``d`` as one or two vocabulary durations (largest first), or None."""
    if d in _DUR_INDEX:
        return [d]
    for a in reversed(DURATIONS):
        if a < d and (d - a) in _DUR_INDEX:
            return [a, d - a]
    return None


def encode_events(events, meter: str, mode: str) -> list[int]:
    """Tokens of a tune given ``events = [(rel_pitch or None, Fraction duration)]`` from a downbeat.

    Notes crossing bar lines are split; an unfinished last bar is dropped; a bar equal to one
    of the 16 before it becomes ``COPY_k``. Raises ValueError when a duration or pitch has no
    token.
    """
    bar = bar_quarters(meter)
    out = [BOS, meter_token(meter), mode_token(mode)]
    bar_toks: list[int] = []
    pos = Fraction(0)
    for rel, dur in events:
        while dur > 0:
            piece = min(dur, bar - pos)
            parts = split_duration(piece)
            if parts is None:
                raise ValueError(f"duration {piece} has no token")
            for p in parts:
                bar_toks += [REST if rel is None else pitch_token(rel), dur_token(p)]
            dur -= piece
            pos += piece
            if pos == bar:
                out += [BAR] + bar_toks
                bar_toks, pos = [], Fraction(0)
    out = compress_repeats(out)
    out.append(EOS)
    return out


def compress_repeats(tokens: list[int]) -> list[int]:
    """``tokens`` with every bar that equals one of the 16 bars before it (note for note)
    written ``BAR COPY_k``, k the nearest such bar. Tokens before the first bar line, and
    bars already written as copies, are kept; a bar still being written (no bar line after
    it and not complete) is compared like the others, so callers pass whole bars."""
    out: list[int] = []
    bars: list[tuple[int, ...]] = []      # every bar so far, expanded
    i, n = 0, len(tokens)
    while i < n and tokens[i] != BAR:
        out.append(tokens[i])
        i += 1
    while i < n:
        j = i + 1
        while j < n and tokens[j] not in (BAR, EOS):
            j += 1
        body = tuple(tokens[i + 1:j])
        if len(body) == 1 and is_copy(body[0]):
            back = token_copy_back(body[0])
            body = bars[-back] if back <= len(bars) else ()
            out += [BAR, tokens[i + 1]]
        else:
            back = next((k for k in range(1, min(MAX_COPY_BACK, len(bars)) + 1)
                         if bars[-k] == body), 0) if body else 0
            out += [BAR, copy_token(back)] if back else [BAR, *body]
        bars.append(body)
        if j < n and tokens[j] == EOS:           # the tune ends: keep EOS and what follows
            out += tokens[j:]
            break
        i = j
    return out


def expand_repeats(tokens) -> list[int]:
    """``tokens`` with every ``COPY_k`` replaced by the bar it repeats (a copy reaching
    before the first bar is dropped)."""
    out: list[int] = []
    bars: list[list[int]] = []
    for t in tokens:
        t = int(t)
        if t == BAR:
            bars.append([])
            out.append(t)
        elif is_copy(t):
            k = token_copy_back(t)
            body = list(bars[-1 - k]) if bars and k <= len(bars) - 1 else []
            if bars:
                bars[-1] += body
            out += body
        else:
            if bars:
                bars[-1].append(t)
            out.append(t)
    return out


def decode_events(tokens) -> tuple[str | None, str | None, list[tuple[int | None, Fraction]]]:
    """(meter, mode, [(rel_pitch or None, duration)]) of a token sequence; tolerant of junk."""
    meter = mode = None
    events: list[tuple[int | None, Fraction]] = []
    pending: int | None | str = "none"
    for t in expand_repeats(tokens):
        t = int(t)
        if METER_BASE <= t < MODE_BASE:
            meter = METERS[t - METER_BASE]
        elif MODE_BASE <= t < REST:
            mode = MODES[t - MODE_BASE]
        elif is_pitch(t):
            pending = token_pitch(t)
        elif is_dur(t) and pending != "none":
            events.append((pending, token_dur(t)))
            pending = "none"
        elif t == EOS:
            break
    return meter, mode, events
