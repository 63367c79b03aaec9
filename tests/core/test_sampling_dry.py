"""DRY against a line-by-line Python port of llama.cpp's ``llama_sampler_dry_apply``.

The reference below keeps llama.cpp's ring-buffer indexing (``rat(i)``: i-th token from the
end) and its Z-algorithm, so the vectorised implementation is checked against the original
algorithm, not against a re-derivation of it.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings as hsettings, strategies as st

from desktop_app.core.errors import UsageError
from desktop_app.core.sampling import SamplerSettings, Sampler, next_token_distribution
from desktop_app.core.sampling_dry import (
    dry_breaker_ids, dry_penalties, normalize_breakers, suffix_match_lengths, z_match_lengths,
)

FAST = hsettings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def llama_dry_reference(logits, last_tokens, multiplier, base, allowed_length, penalty_last_n,
                        seq_breakers):
    """Port of llama.cpp's DRY apply (test wrapper: token-id breakers, context = history)."""
    logits = list(map(float, logits))
    if multiplier == 0.0 or base < 1.0 or penalty_last_n == 0:
        return logits
    total_context_size = len(last_tokens)
    eff_last_n = total_context_size if penalty_last_n == -1 else max(penalty_last_n, 0)
    last_n_repeat = min(len(last_tokens), eff_last_n, total_context_size)
    if last_n_repeat <= allowed_length:
        return logits
    window = last_tokens[len(last_tokens) - last_n_repeat:]

    def rat(i):
        return window[len(window) - 1 - i]

    processed = {}
    for b in seq_breakers:
        if b:
            processed.setdefault(b[0], []).append(list(b[1:]))
    # Step 1
    rep_limit = last_n_repeat
    for i in range(last_n_repeat):
        token = rat(i)
        if token not in processed:
            continue
        longest_match = -1
        for tail in processed[token]:
            seq_len = len(tail)
            if seq_len > longest_match and seq_len <= i:
                if all(tail[o] == rat(i - o - 1) for o in range(seq_len)):
                    longest_match = seq_len
        if longest_match >= 0:
            rep_limit = i - longest_match
            break
    if rep_limit < allowed_length:
        return logits
    # Step 2 (Z-algorithm, reversed)
    repeat_count = [0] * last_n_repeat
    last = last_n_repeat - 1
    rt = lt = 0
    for k in range(1, last_n_repeat):
        if k > rt:
            n = 0
            while n + k < last_n_repeat and rat(n) == rat(n + k):
                n += 1
            repeat_count[last - k] = min(n, rep_limit)
            if n > 0:
                lt, rt = k, k + n - 1
        else:
            p = k - lt
            right_part_len = rt - k + 1
            if repeat_count[last - p] < right_part_len:
                repeat_count[last - k] = min(repeat_count[last - p], rep_limit)
            else:
                i = rt + 1
                while i < last_n_repeat and rat(i) == rat(i - k):
                    i += 1
                repeat_count[last - k] = min(i - k, rep_limit)
                lt, rt = k, i - 1
    # Step 3
    max_repeat = {}
    for i in range(last_n_repeat - 1):
        repeat_len = repeat_count[i]
        if repeat_len >= allowed_length:
            token = rat(last_n_repeat - 2 - i)
            if token not in max_repeat or max_repeat[token] < repeat_len:
                max_repeat[token] = repeat_len
    # Step 4
    max_exponent = int(88.7228391 / math.log(base)) if base > 1.000001 else 0
    for tok in range(len(logits)):
        if tok in max_repeat and not any(t == [] for t in processed.get(tok, [])):
            exp = max_repeat[tok] - allowed_length
            if max_exponent > 0 and exp > max_exponent:
                exp = max_exponent
            logits[tok] -= multiplier * base ** exp
    return logits


def _softmax(z):
    z = np.asarray(z, dtype=np.float64)
    e = np.exp(z - z.max())
    return e / e.sum()


OFF = SamplerSettings(temperature=1.0, top_k=0, top_p=1.0, min_p=0.0, seed=0)

seqs = st.integers(1, 4).flatmap(lambda a: st.lists(st.integers(0, a), max_size=60))
breaker_lists = st.lists(st.lists(st.integers(0, 4), min_size=0, max_size=3).map(tuple),
                         max_size=3)


@FAST
@given(history=seqs, mult=st.sampled_from([0.5, 1.0, 3.0]), base=st.sampled_from([1.0, 1.1, 1.75]),
       allowed=st.integers(0, 4), last_n=st.integers(-1, 70), brk=breaker_lists)
def test_dry_matches_llama_cpp_reference(history, mult, base, allowed, last_n, brk):
    vocab = 6
    logits = np.linspace(-1.0, 1.5, vocab)
    s = OFF.replace(dry_multiplier=mult, dry_base=base, dry_allowed_length=allowed,
                    dry_penalty_last_n=last_n)
    got = next_token_distribution(logits, s, history, breaker_ids=tuple(brk))
    ref = _softmax(llama_dry_reference(logits, history, mult, base, allowed, last_n, brk))
    np.testing.assert_allclose(got, ref, rtol=1e-12, atol=1e-15)


@FAST
@given(history=seqs, limit=st.integers(0, 70))
def test_suffix_match_lengths_equal_z_algorithm(history, limit):
    window = np.asarray(history, dtype=np.int64)
    got = suffix_match_lengths(window, limit)
    np.testing.assert_array_equal(z_match_lengths(window, max(limit, 0)), got)
    n = window.size
    assert got.shape == (max(n - 1, 0),)
    for j in range(max(n - 1, 0)):
        t = 0
        while t <= j and window[j - t] == window[n - 1 - t]:
            t += 1
        assert got[j] == min(t, limit)


def test_both_match_paths_agree_on_long_loops():
    rng = np.random.default_rng(0)
    for period in (1, 2, 3, 50):
        loop = rng.integers(0, 5, size=period)
        window = np.concatenate([rng.integers(0, 5, size=30), np.tile(loop, 4000 // period)])
        for limit in (3, 500, window.size):
            np.testing.assert_array_equal(suffix_match_lengths(window, limit),
                                          z_match_lengths(window, limit))


def test_long_loop_is_penalised_hard_and_capped():
    # A verbatim 7-token loop repeated: the next token of the loop gets an enormous penalty,
    # clamped so that base ** exponent stays finite.
    history = list(range(7)) * 300
    tokens, amounts = dry_penalties(np.asarray(history), multiplier=1.0, base=1.75,
                                    allowed_length=2, breakers={})
    assert tokens.tolist() == [0]
    assert np.isfinite(amounts).all() and amounts[0] > 1e30
    p = next_token_distribution(np.zeros(8), OFF.replace(dry_multiplier=0.8), history)
    assert p[0] == 0.0 and abs(p.sum() - 1) < 1e-12


def test_multi_token_breaker_limits_the_repeat():
    # "a b X Y a b" with breaker (X, Y): the repeat may not reach back across X Y.
    a, b, x, y = 0, 1, 2, 3
    hist = [a, b, 4, x, y, a, b]
    s = OFF.replace(dry_multiplier=1.0, dry_base=2.0, dry_allowed_length=2,
                    dry_penalty_last_n=-1)
    free = next_token_distribution(np.zeros(6), s, hist)
    assert free[4] < free[5]  # 4 followed "a b" before: penalised
    broken = next_token_distribution(np.zeros(6), s, hist, breaker_ids=((x, y),))
    assert broken[4] < broken[5]  # the breaker is before "a b": still a repeat of length 2
    hist2 = [a, b, 4, a, x, y, b]
    capped = next_token_distribution(np.zeros(6), s.replace(dry_allowed_length=1), hist2,
                                     breaker_ids=((x, y),))
    ref = _softmax(llama_dry_reference(np.zeros(6), hist2, 1.0, 2.0, 1, -1, [(x, y)]))
    np.testing.assert_allclose(capped, ref, atol=1e-15)


def test_normalize_breakers_forms_and_errors():
    assert normalize_breakers((3, (4, 5), [4, 6], (), np.int64(3))) == {3: [()], 4: [(5,), (6,)]}
    with pytest.raises(UsageError, match="tokenize"):
        normalize_breakers(("\n",))
    with pytest.raises(UsageError):
        normalize_breakers(((1, "x"),))
    with pytest.raises(UsageError):
        Sampler(OFF, breaker_ids=("\n",))


def test_dry_breaker_ids_like_llama_cpp():
    pieces = ["a", "\n", "b\n", "x:", ":y", "foo", "*", "ab", "zza", "b"]
    vocab = {p: i for i, p in enumerate(pieces)}

    def encode(text):  # a toy greedy longest-match tokenizer over the pieces above
        out, i = [], 0
        while i < len(text):
            j = max(j for j in range(i + 1, len(text) + 1) if text[i:j] in vocab)
            out.append(vocab[text[i:j]])
            i = j
        return out

    got = dry_breaker_ids(["\n", ":", "", "ab"], pieces, encode)
    # Pieces containing a breaker are single-token breakers; pieces ending with the start of
    # "ab" ("a", "zza") become heads followed by the encoding of the rest ("b").
    assert set(got) == {(1,), (2,), (3,), (4,), (7,), (0, 9), (8, 9)}
    assert len(set(got)) == len(got)
    assert dry_breaker_ids(["a\n\n\n"], pieces, encode, max_tail_len=2) == ((0, 1, 1),
                                                                           (8, 1, 1))
