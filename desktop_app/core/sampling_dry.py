"""DRY ("Don't Repeat Yourself"), the sequence-repetition penalty of the sampler chain (numpy).

A port of llama.cpp's ``llama_sampler_dry_apply`` (src/llama-sampling.cpp, itself ported from
koboldcpp PR #982 by pi6am). For every token that would *extend* a sequence which already
occurred earlier in the window, the penalty ``multiplier * base ** (len - allowed_length)`` is
subtracted from its logit, where ``len`` is the length of the longest such repeated sequence
(only when ``len >= allowed_length``). Sequence breakers (e.g. a newline) cap how far back a
repeat may reach, and a token that is itself a single-token breaker is never penalised.

Breakers reach this module already tokenized: either single token ids or token-id sequences
(head + tail). :func:`dry_breaker_ids` turns breaker *strings* into those sequences the way
llama.cpp does (``get_overlapping_token_sequences``), given the model's token pieces and an
encoder; the text engine calls it once per job.

Differences from llama.cpp, all documented choices: the arithmetic is float64 (llama.cpp's is
float32), and the repeat lengths are found with a vectorised suffix match instead of the
Z-algorithm; both give ``min(longest common suffix, rep_limit)`` exactly.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence

import numpy as np

from desktop_app.core.errors import UsageError

# log(FLT_MAX), as llama.cpp uses to clamp the exponent of ``base ** exponent``.
FLOAT_MAX_LOG = 88.7228391
# llama.cpp's limits when turning breaker strings into token sequences.
MAX_BREAKER_CHARS = 40
MAX_BREAKER_TAIL = 20

Breakers = dict[int, list[tuple[int, ...]]]  # head token id -> tails (possibly empty)


def normalize_breakers(breaker_ids: Iterable) -> Breakers:
    """Group tokenized breakers by head token.

    ``breaker_ids`` holds ints (single-token breakers) and/or sequences of ints (multi-token
    breakers, e.g. ``((13,), (29901, 29901))``); empty sequences are skipped.
    """
    heads: Breakers = {}
    for item in breaker_ids:
        try:
            if isinstance(item, (int, np.integer)) and not isinstance(item, bool):
                seq = (int(item),)
            elif isinstance(item, (str, bytes)):
                raise TypeError
            else:
                seq = tuple(_as_token(t) for t in item)
        except (TypeError, ValueError):
            raise UsageError(
                f"DRY sequence breakers must be token ids (ints or tuples of ints), got {item!r}; "
                "tokenize the breaker strings first (see dry_breaker_ids)."
            ) from None
        if not seq:
            continue
        tails = heads.setdefault(seq[0], [])
        if seq[1:] not in tails:
            tails.append(seq[1:])
    return heads


def _as_token(t) -> int:
    if isinstance(t, bool) or not isinstance(t, (int, np.integer)):
        raise TypeError
    return int(t)


def _rep_limit(window: np.ndarray, breakers: Breakers) -> int:
    """Step 1: the longest repeat allowed, limited by the most recent complete breaker."""
    n = window.size
    if not breakers:
        return n
    head_pos = np.flatnonzero(np.isin(window, np.fromiter(breakers, np.int64, len(breakers))))
    for pos in head_pos[::-1].tolist():
        i = n - 1 - pos  # distance from the end of the window
        longest = -1
        for tail in breakers[int(window[pos])]:
            k = len(tail)
            if longest < k <= i and tuple(window[pos + 1:pos + 1 + k].tolist()) == tail:
                longest = k
        if longest >= 0:
            return i - longest
    return n


# Above this many comparisons in one block, the vectorised match hands over to the O(n)
# Z-algorithm (long runs of a short loop, e.g. one token repeated thousands of times).
_BLOCK_BUDGET = 1 << 17


def suffix_match_lengths(window: np.ndarray, limit: int) -> np.ndarray:
    """For each position j < n-1: min(limit, length of the longest common suffix of
    ``window[:j+1]`` and ``window``), i.e. llama.cpp's ``dry_repeat_count`` in window order.

    Checks the still-matching positions in blocks of offsets that double in size (8 up to
    1024), so ordinary text costs a few numpy calls; when many positions keep matching for long
    (a short loop repeated many times) it switches to the linear-time Z-algorithm.
    """
    n = window.size
    counts = np.zeros(max(n - 1, 0), dtype=np.int64)
    if n < 2 or limit <= 0:
        return counts
    limit = min(limit, n - 1)  # a match at position j is at most j + 1 long
    last = n - 1
    alive = np.flatnonzero(window[:-1] == window[last])  # offset 0 matches
    counts[alive] = 1
    t, block = 1, 8
    while alive.size and t < limit:
        b = min(block, limit - t)
        if alive.size * b > _BLOCK_BUDGET:
            return z_match_lengths(window, limit)
        offs = np.arange(t, t + b)
        idx = alive[:, None] - offs[None, :]  # (alive, b) positions compared with last - offs
        eq = (idx >= 0) & (window[np.maximum(idx, 0)] == window[last - offs][None, :])
        run = np.where(eq.all(axis=1), b, np.argmin(eq, axis=1))  # leading matches per row
        counts[alive] += run
        alive = alive[run == b]
        t += b
        block = min(block * 2, 1024)
    return counts


def z_match_lengths(window: np.ndarray, limit: int) -> np.ndarray:
    """Same result as :func:`suffix_match_lengths`, by the Z-algorithm on the reversed window
    (what llama.cpp runs): O(n) Python steps."""
    r = window[::-1].tolist()  # r[i] is llama.cpp's last_tokens.rat(i)
    n = len(r)
    z = [0] * n
    left = right = 0  # the Z-box [left, right)
    for k in range(1, n):
        zk = min(right - k, z[k - left]) if k < right else 0
        while k + zk < n and r[zk] == r[k + zk]:
            zk += 1
        z[k] = zk
        if k + zk > right:
            left, right = k, k + zk
    # position j = n - 1 - k in window order
    return np.minimum(np.asarray(z[:0:-1], dtype=np.int64), limit)


def dry_penalties(window: np.ndarray, *, multiplier: float, base: float, allowed_length: int,
                  breakers: Breakers) -> tuple[np.ndarray, np.ndarray]:
    """Tokens to penalise and the amount to subtract from each logit (steps 1-4 of llama.cpp).

    ``window`` is the tail of the history (int64, oldest first) DRY looks at.
    """
    empty = (np.zeros(0, np.int64), np.zeros(0, np.float64))
    n = window.size
    if n <= allowed_length:
        return empty
    rep_limit = _rep_limit(window, breakers)
    if rep_limit < allowed_length:
        return empty
    counts = suffix_match_lengths(window, rep_limit)
    hit = counts >= allowed_length
    if not hit.any():
        return empty
    # The token after each repeated sequence would continue it; keep the longest per token.
    nxt, lens = window[1:][hit], counts[hit]
    tokens, inverse = np.unique(nxt, return_inverse=True)
    longest = np.zeros(tokens.size, dtype=np.int64)
    np.maximum.at(longest, inverse, lens)
    single = [h for h, tails in breakers.items() if () in tails]
    if single:
        keep = ~np.isin(tokens, np.asarray(single, dtype=np.int64))
        tokens, longest = tokens[keep], longest[keep]
    exponent = longest - allowed_length
    if base > 1.000001:
        max_exponent = int(FLOAT_MAX_LOG / np.log(base))
        if max_exponent > 0:
            exponent = np.minimum(exponent, max_exponent)
    return tokens, multiplier * np.power(float(base), exponent.astype(np.float64))


def dry_breaker_ids(breakers: Sequence[str], pieces: Sequence[str],
                    encode: Callable[[str], Sequence[int]], *,
                    max_tail_len: int = MAX_BREAKER_TAIL) -> tuple[tuple[int, ...], ...]:
    """Tokenize DRY breaker strings as llama.cpp does (``get_overlapping_token_sequences``).

    ``pieces[i]`` is the text of token ``i`` on its own; ``encode(text)`` tokenizes without
    special tokens. A token whose text contains a breaker becomes a single-token breaker; a
    token whose text *ends with the start* of a breaker becomes the head of a sequence whose
    tail is the encoding of the rest of the breaker (at most ``max_tail_len`` tokens). Breakers
    are cut to 40 characters; empty ones are skipped. Cost: one pass over the vocabulary per
    breaker (about 0.1 s for 150k tokens), so call it once per job and reuse the result.

    llama.cpp works on UTF-8 bytes, this on Python characters; they agree for ASCII breakers.
    """
    out: list[tuple[int, ...]] = []
    seen: set[tuple[int, ...]] = set()
    for raw in breakers:
        s = raw[:MAX_BREAKER_CHARS]
        if not s:
            continue
        for token_id, word in enumerate(pieces):
            if s in word:
                found = [(token_id,)]
            else:
                found = []
                pos = word.find(s[0])
                while pos != -1:
                    i = 1
                    while i < len(s) and pos + i < len(word) and word[pos + i] == s[i]:
                        i += 1
                    if pos + i == len(word):  # the token ends with s[:i]
                        tail = tuple(int(t) for t in encode(s[i:]))[:max_tail_len]
                        found.append((token_id, *tail))
                    pos = word.find(s[0], pos + 1)
            for seq in found:
                if seq not in seen:
                    seen.add(seq)
                    out.append(seq)
    return tuple(out)
