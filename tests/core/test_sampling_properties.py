"""Properties of the sampler chain (hypothesis): every distribution is valid whatever the
settings, greedy and top-k pick what they should, one seed gives one sequence of draws, and
the optimised top-p, typical and XTC stages agree with straightforward full-sort references
(llama.cpp's definitions)."""

from __future__ import annotations

import numpy as np
from hypothesis import HealthCheck, given, settings as hsettings, strategies as st

from desktop_app.core.sampling import (
    STAGES, SamplerSettings, draw, make_rng, next_token_distribution, sampler_trace,
)

OFF = SamplerSettings(temperature=1.0, top_k=0, top_p=1.0, min_p=0.0, seed=0)
FAST = hsettings(max_examples=40, deadline=None,
                 suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])

@st.composite
def any_settings(draw_):
    order = draw_(st.permutations(STAGES))
    order = order[: draw_(st.integers(0, len(STAGES)))]
    return SamplerSettings(
        temperature=draw_(st.sampled_from([0.0, -1.0, 0.1, 0.7, 1.0, 1.5, 4.0])),
        top_k=draw_(st.integers(-1, 12)),
        top_p=draw_(st.sampled_from([0.0, 0.1, 0.5, 0.9, 0.99, 1.0])),
        min_p=draw_(st.sampled_from([0.0, 0.01, 0.1, 0.5, 1.0, 1.2])),
        typical_p=draw_(st.sampled_from([0.0, 0.2, 0.7, 0.95, 1.0])),
        repeat_penalty=draw_(st.sampled_from([0.8, 1.0, 1.3, 50.0])),
        repeat_last_n=draw_(st.integers(-1, 20)),
        frequency_penalty=draw_(st.sampled_from([-0.5, 0.0, 0.5, 5.0])),
        presence_penalty=draw_(st.sampled_from([-0.5, 0.0, 0.5, 5.0])),
        dry_multiplier=draw_(st.sampled_from([0.0, 0.8, 5.0])),
        dry_base=draw_(st.sampled_from([1.0, 1.75, 3.0])),
        dry_allowed_length=draw_(st.integers(0, 4)),
        dry_penalty_last_n=draw_(st.integers(-1, 30)),
        xtc_probability=draw_(st.sampled_from([0.0, 0.5, 1.0])),
        xtc_threshold=draw_(st.sampled_from([0.0, 0.05, 0.1, 0.3, 0.6])),
        seed=draw_(st.integers(0, 2**32)),
        order=tuple(order),
    )


logit_arrays = st.integers(1, 40).flatmap(lambda n: st.lists(
    st.one_of(st.floats(-30, 30, allow_nan=False), st.sampled_from([0.0, 1.0, -np.inf])),
    min_size=n, max_size=n).filter(lambda xs: any(np.isfinite(xs))))
histories = st.lists(st.integers(0, 45), max_size=40)
breakers = st.lists(st.one_of(st.integers(0, 45), st.lists(st.integers(0, 45), max_size=3)
                              .map(tuple)), max_size=3).map(tuple)


@FAST
@given(logits=logit_arrays, s=any_settings(), history=histories, brk=breakers)
def test_property_distribution_is_valid(logits, s, history, brk):
    logits = np.array(logits)
    trace = sampler_trace(logits, s, history, breaker_ids=brk)
    final = next_token_distribution(logits, s, history, breaker_ids=brk)
    np.testing.assert_array_equal(trace[-1][1], final)
    assert [n for n, _ in trace[1:]] == list(s.enabled_stages())
    for _, probs in trace:
        assert probs.shape == logits.shape and probs.dtype == np.float64
        assert np.all(np.isfinite(probs)) and np.all(probs >= 0)
        assert abs(probs.sum() - 1.0) < 1e-9
    for (_, before), (_, after) in zip(trace, trace[1:]):
        assert np.all(after[before == 0] == 0), "removed tokens must stay exactly zero"
    assert np.all(final[np.isneginf(logits)] == 0)
    if "top_k" in s.order and s.top_k > 0:
        assert np.count_nonzero(final) <= s.top_k
    if s.greedy:
        assert np.count_nonzero(final) == 1 and final.max() == 1.0
    token = draw(final, make_rng(s.seed))
    assert final[token] > 0


@FAST
@given(logits=st.lists(st.integers(-3, 3), min_size=1, max_size=30), k=st.integers(1, 40))
def test_property_greedy_and_top_k(logits, k):
    logits = np.array(logits, dtype=np.float64)  # small integers: many ties
    greedy = next_token_distribution(logits, OFF.replace(temperature=0.0))
    assert greedy[int(np.argmax(logits))] == 1.0  # argmax = lowest id among ties
    assert np.count_nonzero(greedy) == 1
    top = next_token_distribution(logits, OFF.replace(top_k=k))
    kept = np.flatnonzero(top)
    assert kept.size == min(k, logits.size)
    # the kept ones are the largest logits, ties going to the lower ids
    ranking = np.lexsort((np.arange(logits.size), -logits))[: kept.size]
    assert sorted(ranking.tolist()) == kept.tolist()


@FAST
@given(seed=st.integers(0, 2**64 - 1), logits=logit_arrays)
def test_property_same_seed_same_draws(seed, logits):
    probs = next_token_distribution(np.array(logits), SamplerSettings(seed=seed))
    r1, r2 = make_rng(seed), make_rng(seed)
    assert [draw(probs, r1) for _ in range(10)] == [draw(probs, r2) for _ in range(10)]


# Straightforward full-sort references (llama.cpp's definitions) for the optimised stages.

def _ref_keep_prefix(logits, p):
    order = np.lexsort((np.arange(logits.size), -logits))
    probs = np.exp(logits - logits.max())
    probs /= probs.sum()
    cum = 0.0
    for i, idx in enumerate(order):
        cum += probs[idx]
        if cum >= p - 1e-7:
            return set(order[: i + 1].tolist())
    return set(order.tolist())


@FAST
@given(n=st.integers(1, 3000), p=st.floats(0, 0.999), scale=st.sampled_from([0.01, 1.0, 8.0]),
       seed=st.integers(0, 1000))
def test_property_top_p_matches_full_sort(n, p, scale, seed):
    logits = np.round(np.random.default_rng(seed).normal(scale=scale, size=n), 2)
    got = next_token_distribution(logits, OFF.replace(top_p=p))
    assert set(np.flatnonzero(got).tolist()) == _ref_keep_prefix(logits, p)


@FAST
@given(n=st.integers(2, 300), p=st.floats(0.0, 0.999), seed=st.integers(0, 1000))
def test_property_typical_matches_reference(n, p, seed):
    logits = np.random.default_rng(seed).normal(scale=2.0, size=n)
    probs = np.exp(logits - logits.max())
    probs /= probs.sum()
    entropy = -np.sum(probs * np.log(probs))
    order = sorted(range(n), key=lambda i: (abs(-np.log(probs[i]) - entropy), i))
    cum, keep = 0.0, set()
    for idx in order:
        cum += probs[idx]
        keep.add(idx)
        if cum > p:
            break
    got = next_token_distribution(logits, OFF.replace(typical_p=p))
    assert set(np.flatnonzero(got).tolist()) == keep


@FAST
@given(logits=logit_arrays, threshold=st.floats(0.0, 0.5))
def test_property_xtc(logits, threshold):
    logits = np.array(logits)
    s = OFF.replace(xtc_probability=1.0, xtc_threshold=threshold)
    got = next_token_distribution(logits, s, rng=make_rng(0))
    probs = next_token_distribution(logits, OFF)
    above = np.flatnonzero((probs >= threshold) & np.isfinite(logits))
    if above.size >= 2:
        spared = max(above.tolist(), key=lambda i: (-logits[i], i))
        assert got[spared] > 0
        assert np.all(got[np.setdiff1d(above, [spared])] == 0)
        below = np.setdiff1d(np.flatnonzero(probs), above)
        assert np.all(got[below] > 0)
    else:
        np.testing.assert_allclose(got, probs)

