"""llama.cpp's sampler test vectors (tests/test-sampling.cpp), run through Reverie's public API.

llama.cpp's tests build logits as log(p) and compare the candidate list after one sampler
(+ its ``dist`` sampler, which renormalises) with expected probabilities to 1e-5. Its lists are
in llama.cpp's internal candidate order; here each expectation is written over the whole
vocabulary (token id order, 0 for removed tokens) with the original in a comment. Where the
llama.cpp test skips the renormalising ``dist`` step (typical, XTC) the expectation here is the
renormalised one, which is what ``next_token_distribution`` returns.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from desktop_app.core.sampling import SamplerSettings, next_token_distribution, sampler_trace

# Every stage off: the base for testing one stage at a time.
OFF = SamplerSettings(temperature=1.0, top_k=0, top_p=1.0, min_p=0.0, typical_p=1.0,
                      repeat_penalty=1.0, frequency_penalty=0.0, presence_penalty=0.0,
                      dry_multiplier=0.0, xtc_probability=0.0, seed=0)
P4 = [0.1, 0.2, 0.3, 0.4]


def run(probs, settings, history=(), **kw):
    logits = np.log(np.asarray(probs, dtype=np.float32)).astype(np.float64)
    return next_token_distribution(logits, settings, history, **kw)


def check(got, expected):
    assert got.shape == (len(expected),)
    np.testing.assert_allclose(got, expected, atol=1e-5, rtol=0)
    assert abs(got.sum() - 1.0) < 1e-12
    assert np.all(got[np.asarray(expected) == 0] == 0.0), "removed tokens must be exactly 0"


@pytest.mark.parametrize("temp, expected", [
    (1.0, [0.1, 0.2, 0.3, 0.4]),
    (0.0, [0.0, 0.0, 0.0, 1.0]),
])
def test_temp(temp, expected):
    check(run(P4, OFF.replace(temperature=temp)), expected)


@pytest.mark.parametrize("k, expected", [
    (1, [0, 0, 0, 1.0]),                         # {1.0}
    (3, [0, 0.22222, 0.33333, 0.44444]),         # {0.44444, 0.33333, 0.22222}
    (4, [0.1, 0.2, 0.3, 0.4]),                   # {0.4, 0.3, 0.2, 0.1}
    (0, [0.1, 0.2, 0.3, 0.4]),
])
def test_top_k(k, expected):
    check(run(P4, OFF.replace(top_k=k)), expected)


@pytest.mark.parametrize("p, expected", [
    (0.0, [0, 0, 0, 1.0]),                       # {1.0}
    (0.7, [0, 0, 0.428571, 0.571429]),           # {0.571429, 0.428571}
    (0.8, [0, 0.22222, 0.33333, 0.44444]),       # {0.44444, 0.33333, 0.22222}
    (1.0, [0.1, 0.2, 0.3, 0.4]),
])
@pytest.mark.parametrize("as_float32", [False, True])
def test_top_p(p, expected, as_float32):
    if as_float32:  # llama.cpp passes p as a C float
        p = float(np.float32(p))
    check(run(P4, OFF.replace(top_p=p)), expected)


@pytest.mark.parametrize("p, expected", [
    (0.00, [0.1, 0.2, 0.3, 0.4]),
    (0.24, [0.1, 0.2, 0.3, 0.4]),
    (0.26, [0, 0.2 / 0.9, 0.3 / 0.9, 0.4 / 0.9]),
    (0.49, [0, 0.2 / 0.9, 0.3 / 0.9, 0.4 / 0.9]),
    (0.51, [0, 0, 0.3 / 0.7, 0.4 / 0.7]),
    (0.74, [0, 0, 0.3 / 0.7, 0.4 / 0.7]),
    (0.76, [0, 0, 0, 1.0]),
    (1.00, [0, 0, 0, 1.0]),
    (1.05, [0, 0, 0, 1.0]),
])
def test_min_p(p, expected):
    check(run(P4, OFF.replace(min_p=p)), expected)


class _Coin:
    """An rng stand-in whose ``random()`` returns a fixed value (XTC's coin)."""

    def __init__(self, value):
        self.value = value
        self.calls = 0

    def random(self):
        self.calls += 1
        return self.value


XTC_P = [0.4, 0.3, 0.2, 0.1]


@pytest.mark.parametrize("threshold, expected", [
    (0.09, [0, 0, 0, 1.0]),                      # {0.1}
    (0.19, [0, 0, 2 / 3, 1 / 3]),                # {0.2, 0.1}
    (0.29, [0, 0.5, 1 / 3, 1 / 6]),              # {0.3, 0.2, 0.1}
    (0.39, [0.4, 0.3, 0.2, 0.1]),                # XTC should not: only one token above 0.39
])
def test_xtc(threshold, expected):
    settings = OFF.replace(xtc_probability=0.99, xtc_threshold=threshold)
    coin = _Coin(0.5)
    check(run(XTC_P, settings, rng=coin), expected)
    assert coin.calls == 1
    # The coin says no (0.995 > 0.99): nothing is removed.
    check(run(XTC_P, settings, rng=_Coin(0.995)), XTC_P)


@pytest.mark.parametrize("probs, expected", [
    ([0.97, 0.01, 0.01, 0.01], [1.0, 0, 0, 0]),        # {0.97}
    ([0.4, 0.2, 0.2, 0.2], [0, 1 / 3, 1 / 3, 1 / 3]),  # {0.2, 0.2, 0.2}
])
def test_typical(probs, expected):
    check(run(probs, OFF.replace(typical_p=0.5)), expected)


P5 = [0.2] * 5


@pytest.mark.parametrize("history, expected, repeat, freq, presence", [
    ([0], [0, 0.25, 0.25, 0.25, 0.25], 50.0, 0.0, 0.0),
    ([0, 1, 2], [0, 0, 0, 0.5, 0.5], 50.0, 0.0, 0.0),
    ([0, 1, 2, 0, 0], [0, 0, 0, 0.5, 0.5], 50.0, 0.0, 0.0),
    ([0], [0.000011, 0.249997, 0.249997, 0.249997, 0.249997], 1.0, 5.0, 5.0),
    ([0, 1, 2], [0.000023, 0.000023, 0.000023, 0.499966, 0.499966], 1.0, 5.0, 5.0),
    ([0, 1, 2, 0, 0], [0.000000, 0.000023, 0.000023, 0.499977, 0.499977], 1.0, 5.0, 5.0),
])
def test_penalties(history, expected, repeat, freq, presence):
    settings = OFF.replace(repeat_penalty=repeat, frequency_penalty=freq,
                           presence_penalty=presence, repeat_last_n=len(history))
    got = run(P5, settings, history)
    np.testing.assert_allclose(got, expected, atol=1e-5, rtol=0)
    assert abs(got.sum() - 1.0) < 1e-12


@pytest.mark.parametrize("probs, history, expected, mult, base, allowed, last_n, breakers", [
    ([0.25] * 4, [0, 1], [0.25] * 4, 1.0, 1.1, 2, 4, ()),
    ([0.25] * 4, [0, 1, 2, 0, 1], [0.296923, 0.296923, 0.109232, 0.296923],
     1.0, 1.1, 2, 5, ()),
    (P5, [0, 1, 3, 4, 0, 1], P5, 1.0, 1.1, 2, 6, ((3,),)),
    (P5, [0, 1, 2, 0, 1], [0.241818, 0.241818, 0.032727, 0.241818, 0.241818],
     2.0, 1.1, 2, 5, ()),
    (P5, [0, 1, 2, 3, 4, 0, 1], P5, 1.0, 1.1, 4, 7, ()),
])
def test_dry(probs, history, expected, mult, base, allowed, last_n, breakers):
    settings = OFF.replace(dry_multiplier=mult, dry_base=base, dry_allowed_length=allowed,
                           dry_penalty_last_n=last_n)
    got = run(probs, settings, history, breaker_ids=breakers)
    np.testing.assert_allclose(got, expected, atol=1e-5, rtol=0)
    assert abs(got.sum() - 1.0) < 1e-12


def test_dry_breaker_accepts_flat_ints_too():
    settings = OFF.replace(dry_multiplier=1.0, dry_base=1.1, dry_allowed_length=2,
                           dry_penalty_last_n=6)
    got = run(P5, settings, [0, 1, 3, 4, 0, 1], breaker_ids=(3,))
    np.testing.assert_allclose(got, P5, atol=1e-12)


# --- test_sampler_queue: chains of top-k / top-p / min-p over a 10000-token vocabulary -------

def _queue_expectations(n_vocab, seq, top_k, top_p, min_p):
    """Yield (letter, lowest kept token id) after each stage, as llama.cpp's test computes it
    (logits log(id), so the candidates are always the ids from some ``lo`` up to n_vocab - 1;
    its arithmetic on the C-float parameters is done in float32 here too)."""
    f32 = np.float32
    lo = 0
    for s in seq:
        if s == "k":
            lo = max(lo, n_vocab - top_k)
        elif s == "p":
            # The smallest set of top ids whose sum reaches ceil(top_p * sum of candidate ids).
            divisor = n_vocab * (n_vocab - 1) // 2 - lo * (lo - 1) // 2
            target = math.ceil(f32(top_p) * f32(divisor))
            lo, cumsum = n_vocab, 0
            while True:
                lo -= 1
                cumsum += lo
                if cumsum >= target:
                    break
        else:
            # p_i / p_max = id / (n_vocab - 1); llama.cpp's test: floor(min_p * n_vocab),
            # clamped to [1, n_vocab - 1] and to the ids still present.
            lo = max(lo, 1, min(math.floor(f32(min_p) * f32(n_vocab)), n_vocab - 1))
        yield s, lo


QUEUE_CASES = [
    ("k", 10000, 1.0, 1.0), ("k", 1, 1.0, 1.0), ("p", 10000, 1.0, 1.0),
    ("p", 10000, 0.0, 1.0), ("m", 10000, 1.0, 1.0), ("m", 10000, 1.0, 1e-12),
    ("k", 100, 1.0, 1.0), ("p", 10000, 0.0003, 1.0), ("p", 10000, 0.8, 1.0),
    ("m", 10000, 1.0, 9997.9 / 9999.0), ("m", 10000, 1.0, 0.1),
    ("kp", 100, 0.8, 0.1), ("km", 100, 0.8, 0.1), ("pk", 100, 0.8, 0.1),
    ("pm", 100, 0.8, 0.1), ("mk", 100, 0.8, 0.1), ("mp", 100, 0.8, 9997.9 / 9999.0),
    ("mp", 100, 0.8, 0.1),
    ("kpm", 100, 0.8, 0.1), ("kmp", 100, 0.8, 0.1), ("pkm", 100, 0.8, 0.1),
    ("pmk", 100, 0.8, 0.1), ("mkp", 100, 0.8, 0.1), ("mpk", 100, 0.8, 0.1),
]
_STAGE = {"k": "top_k", "p": "top_p", "m": "min_p"}


@pytest.mark.parametrize("seq, top_k, top_p, min_p", QUEUE_CASES)
def test_sampler_queue(seq, top_k, top_p, min_p):
    n_vocab = 10000
    with np.errstate(divide="ignore"):
        logits = np.log(np.arange(n_vocab, dtype=np.float64))  # token 0: -inf, p = 0
    f32 = lambda x: float(np.float32(x))  # noqa: E731  (llama.cpp's parameters are C floats)
    settings = OFF.replace(top_k=top_k, top_p=f32(top_p), min_p=f32(min_p),
                           order=tuple(_STAGE[s] for s in seq))
    trace = dict(sampler_trace(logits, settings))
    probs = trace["raw"]
    for letter, lo in _queue_expectations(n_vocab, seq, top_k, top_p, min_p):
        probs = trace.get(_STAGE[letter], probs)  # a disabled stage changes nothing
        kept = np.flatnonzero(probs)
        # token 0 has probability 0: llama.cpp may keep it as a candidate, Reverie shows 0.
        assert kept.tolist() == list(range(max(lo, 1), n_vocab)), (letter, lo)
        assert abs(probs.sum() - 1.0) < 1e-9
