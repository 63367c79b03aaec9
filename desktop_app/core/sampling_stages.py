"""The stages of the sampler chain as pure numpy functions on a candidate set.

Ports of llama.cpp's samplers (src/llama-sampling.cpp): penalties, DRY, top-k, typical, top-p,
min-p, XTC and temperature. Each stage takes a :class:`Candidates` and returns one; a stage
never revives a token an earlier stage removed. Probabilities a stage looks at are the softmax
of the *surviving* candidates' logits, exactly as in llama.cpp's chain.

Ordering ties: where llama.cpp's result depends on an unspecified sort order (equal logits at a
top-k / top-p cut, or several tokens with the largest logit under greedy), Reverie orders by
logit descending, then token id ascending, so the lower token id wins (typical: score, then
token id; XTC spares the last above-threshold token in that order). Everything is float64.
"""

from __future__ import annotations

import math

import numpy as np

from desktop_app.core.sampling_dry import Breakers, dry_penalties

# top-p compares the running sum with p within this tolerance, to absorb rounding the way
# llama.cpp's float32 sum does (probabilities 0.4 + 0.3 "reach" 0.7).
TOP_P_TOLERANCE = 1e-7
# top-p first looks at this many of the most probable candidates (llama.cpp's adaptive partial
# sort starts with 256 too) and sorts all probability values only when their sum stays below p.
_TOP_P_FIRST = 256


class Candidates:
    """Surviving tokens: ``ids`` (sorted ascending, or None for the whole vocabulary in id
    order) and their float64 logits ``z`` (``-inf`` has probability 0)."""

    __slots__ = ("ids", "z", "vocab")

    def __init__(self, z: np.ndarray, ids: np.ndarray | None, vocab: int):
        self.z = z
        self.ids = ids
        self.vocab = vocab

    @property
    def size(self) -> int:
        return self.z.size

    def take(self, positions: np.ndarray) -> Candidates:
        """Keep the candidates at ``positions`` (sorted ascending)."""
        positions = np.asarray(positions, dtype=np.int64)
        ids = positions if self.ids is None else self.ids[positions]
        return Candidates(self.z[positions], ids, self.vocab)

    def locate(self, tokens: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Positions of the given token ids among the candidates, and which were found."""
        tokens = np.asarray(tokens, dtype=np.int64)
        if self.ids is None:
            found = (tokens >= 0) & (tokens < self.vocab)
            return tokens[found], found
        pos = np.searchsorted(self.ids, tokens)
        found = pos < self.ids.size
        found[found] = self.ids[pos[found]] == tokens[found]
        return pos[found], found

    def probs(self) -> np.ndarray:
        """Softmax of the candidates' logits."""
        e = np.exp(self.z - self.z.max())
        return e / e.sum()

    def full_probs(self, p: np.ndarray | None = None) -> np.ndarray:
        """The distribution over the whole vocabulary, exactly 0 for removed tokens
        (``p``: the candidates' probabilities when already computed)."""
        p = self.probs() if p is None else p
        if self.ids is None:
            return p
        out = np.zeros(self.vocab, dtype=np.float64)
        out[self.ids] = p
        return out


def top_positions(z: np.ndarray, k: int) -> np.ndarray:
    """Positions of the ``k`` largest values of ``z`` (ties: lower position first), ascending.

    One ``argpartition`` (O(n)); the slower exact tie handling runs only when equal values
    straddle the cut.
    """
    n = z.size
    if k >= n:
        return np.arange(n)
    if k <= 0:
        return np.zeros(0, dtype=np.int64)
    idx = np.argpartition(z, n - k)[n - k:]
    kth = z[idx].min()  # the k-th largest value
    if np.count_nonzero(z == kth) == np.count_nonzero(z[idx] == kth):
        return np.sort(idx)
    above = np.flatnonzero(z > kth)
    ties = np.flatnonzero(z == kth)[: k - above.size]
    return np.sort(np.concatenate([above, ties]))


def _descending(z: np.ndarray, positions: np.ndarray) -> np.ndarray:
    """``positions`` ordered by logit descending, then position (token id) ascending."""
    return positions[np.lexsort((positions, -z[positions]))]


def _tail(history: np.ndarray, last_n: int) -> np.ndarray:
    """The last ``last_n`` tokens (``-1``: all of them)."""
    if last_n < 0 or last_n >= history.size:
        return history
    return history[history.size - last_n:]


# --- stages -----------------------------------------------------------------------------------

def penalties(c: Candidates, history: np.ndarray, repeat_penalty: float, last_n: int,
              frequency: float, presence: float) -> Candidates:
    """llama.cpp's penalties: per distinct token in the window, divide a positive logit by
    ``repeat_penalty`` (multiply a non-positive one), then subtract
    ``count * frequency + presence``."""
    window = _tail(history, last_n)
    if window.size == 0:
        return c
    tokens, counts = np.unique(window, return_counts=True)
    pos, found = c.locate(tokens)
    counts = counts[found]
    z = c.z[pos]
    z = np.where(z <= 0, z * repeat_penalty, z / repeat_penalty)
    c.z[pos] = z - (counts * frequency + presence)
    return c


def dry(c: Candidates, history: np.ndarray, multiplier: float, base: float, allowed_length: int,
        last_n: int, breakers: Breakers) -> Candidates:
    """DRY: subtract ``multiplier * base ** (len - allowed_length)`` from each token that would
    extend a repeat of length ``len >= allowed_length`` (see :mod:`sampling_dry`)."""
    tokens, amounts = dry_penalties(_tail(history, last_n), multiplier=multiplier, base=base,
                                    allowed_length=allowed_length, breakers=breakers)
    if tokens.size:
        pos, found = c.locate(tokens)
        c.z[pos] -= amounts[found]
    return c


def top_k(c: Candidates, k: int) -> Candidates:
    """Keep the ``k`` candidates with the largest logits."""
    if k >= c.size:
        return c
    return c.take(top_positions(c.z, k))


def top_p(c: Candidates, p: float) -> Candidates:
    """Keep the smallest most-probable prefix whose probabilities sum to at least ``p``
    (at least one token)."""
    probs = c.probs()
    n = c.size
    # Peaked distributions: the prefix is usually inside the top few hundred.
    first = _descending(c.z, top_positions(c.z, min(n, _TOP_P_FIRST)))
    reached = np.flatnonzero(np.cumsum(probs[first]) >= p - TOP_P_TOLERANCE)
    if reached.size:
        return c.take(np.sort(first[: reached[0] + 1]))
    if first.size == n:
        return c
    # Otherwise sort the probability *values* (much cheaper than an argsort with tie-breaks;
    # equal values give the same running sums in any order) to find the prefix length m,
    # then take the top m positions with the usual tie rule.
    cum = np.cumsum(np.sort(probs)[::-1])
    reached = np.flatnonzero(cum >= p - TOP_P_TOLERANCE)
    if reached.size == 0:
        return c
    return c.take(top_positions(c.z, int(reached[0]) + 1))


def min_p(c: Candidates, p: float) -> Candidates:
    """Keep candidates with probability >= ``p`` times the largest (compared as logits,
    ``z >= z_max + log p``, like llama.cpp); if none qualifies (p > 1) keep the most probable."""
    zmax = c.z.max()
    keep = np.flatnonzero(c.z >= zmax + math.log(p))
    if keep.size == 0:
        keep = np.array([int(np.argmax(c.z))])
    return c.take(keep)


def typical(c: Candidates, p: float) -> Candidates:
    """Locally typical sampling: order candidates by ``|-log p_i - H|`` (H the entropy), ties by
    token id, and keep the shortest such prefix whose probabilities sum to more than ``p``."""
    zmax = c.z.max()
    e = np.exp(c.z - zmax)
    total = e.sum()
    probs = e / total
    logp = c.z - (zmax + math.log(total))
    live = probs > 0
    entropy = -float(np.sum(probs[live] * logp[live]))
    shifted = np.where(np.isfinite(logp), np.abs(-logp - entropy), np.inf)
    # An unstable argsort is enough for the running sums: equal scores come from equal
    # probabilities. The cut is then re-taken with the tie rule (lower token id first).
    order = np.argsort(shifted)
    over = np.flatnonzero(np.cumsum(probs[order]) > p)
    if over.size == 0:
        return c
    return c.take(top_positions(-shifted, int(over[0]) + 1))


def xtc(c: Candidates, probability: float, threshold: float, rng: np.random.Generator
        ) -> Candidates:
    """Exclude Top Choices: with chance ``probability`` (one ``rng.random()`` coin), remove every
    token whose probability is >= ``threshold`` except the least probable of them, provided at
    least two are above it."""
    if probability <= 0 or threshold > 0.5 or c.size < 2:
        return c
    if rng.random() > probability:
        return c
    probs = c.probs()
    above = np.flatnonzero((probs >= threshold) & np.isfinite(c.z))
    if above.size < 2:
        return c
    spared = _descending(c.z, above)[-1]
    keep = np.ones(c.size, dtype=bool)
    keep[above] = False
    keep[spared] = True
    return c.take(np.flatnonzero(keep))


def temperature(c: Candidates, t: float) -> Candidates:
    """Divide logits by ``t``; ``t <= 0`` is greedy: keep only the largest logit (lowest id on
    ties)."""
    if t <= 0:
        return c.take(np.array([int(np.argmax(c.z))]))
    # Shifted by the maximum first (softmax is unchanged) so a tiny t cannot overflow to +inf.
    c.z -= c.z.max()
    c.z /= t
    return c
