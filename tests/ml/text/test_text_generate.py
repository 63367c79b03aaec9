"""Generation behaviour: seeds, variants, stop strings, EOS, cancel, context overflow, details."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from desktop_app.core.jobs import CancelToken
from desktop_app.core.sampling import SamplerSettings
from desktop_app.ml.text.generate import Generation
from desktop_app.ml.text.loader import load_text_model

WILD = SamplerSettings(temperature=1.5, top_k=0, top_p=1.0, min_p=0.0)  # many choices


@pytest.fixture(scope="module")
def gpt2(model_folders):
    lm = load_text_model(model_folders["gpt2"][0])
    lm.eos_ids = ()  # tests that need EOS set it themselves
    return lm


@pytest.fixture(scope="module")
def llama(model_folders):
    lm = load_text_model(model_folders["llama"][0])
    lm.eos_ids = ()
    return lm


def _run(lm, prompt="Once upon a time", settings=WILD, **kw):
    gen = Generation(lm, lm.tokenizer.encode(prompt), settings, **kw)
    steps = list(gen.steps())
    return gen, steps


def test_same_seed_same_text_different_seed_differs(gpt2):
    a = _run(gpt2, settings=WILD.with_seed(11), max_tokens=40)[0].results[0]
    b = _run(gpt2, settings=WILD.with_seed(11), max_tokens=40)[0].results[0]
    c = _run(gpt2, settings=WILD.with_seed(12), max_tokens=40)[0].results[0]
    assert a.token_ids == b.token_ids and a.text == b.text and a.seed == 11
    assert a.token_ids != c.token_ids


def test_fresh_seed_is_reported_and_reproduces(gpt2):
    gen, _ = _run(gpt2, settings=WILD, max_tokens=20)
    r = gen.results[0]
    assert isinstance(r.seed, int) and r.settings.seed == r.seed
    again = _run(gpt2, settings=WILD.with_seed(r.seed), max_tokens=20)[0].results[0]
    assert again.token_ids == r.token_ids


@pytest.mark.parametrize("which", ["gpt2", "llama"])
def test_variants_equal_single_runs_with_seed_plus_i(which, gpt2, llama):
    lm = {"gpt2": gpt2, "llama": llama}[which]
    gen, steps = _run(lm, settings=WILD.with_seed(100), max_tokens=24, variants=3)
    assert [r.seed for r in gen.results] == [100, 101, 102]
    assert {s.variant for s in steps} == {0, 1, 2}
    for i, r in enumerate(gen.results):
        single = _run(lm, settings=WILD.with_seed(100 + i), max_tokens=24)[0].results[0]
        assert r.token_ids == single.token_ids
        assert r.text == single.text
    assert len({r.token_ids for r in gen.results}) > 1


def test_streamed_text_and_token_texts_join_to_result(gpt2):
    gen, steps = _run(gpt2, settings=WILD.with_seed(3), max_tokens=48)
    r = gen.results[0]
    assert "".join(s.text for s in steps) == r.text
    assert "".join(t.text for t in r.tokens) == r.text
    assert r.finish_reason == "length" and len(r.token_ids) == 48


def test_token_details(gpt2):
    prompt = gpt2.tokenizer.encode("The fox")
    settings = SamplerSettings(seed=5, top_k=3, top_p=1.0, min_p=0.0, temperature=1.0)
    r = Generation(gpt2, prompt, settings, max_tokens=5).run()[0]
    with torch.no_grad():
        logits = gpt2.model(torch.tensor([prompt]))[0, -1].double()
    raw = torch.softmax(logits, -1).numpy()
    first = r.tokens[0]
    assert first.raw_probability == pytest.approx(raw[first.id], rel=1e-5)
    top3 = np.argsort(-raw)[:3]
    expected = raw[top3] / raw[top3].sum()
    assert first.id in top3
    assert first.probability == pytest.approx(expected[list(top3).index(first.id)], rel=1e-5)
    alts = first.alternatives
    assert len(alts) == 5
    assert [a.id for a in alts[:3]] == list(top3)
    assert all(a.probability == 0 for a in alts[3:])  # top-k removed them
    assert [a.raw_probability for a in alts] == sorted((a.raw_probability for a in alts),
                                                       reverse=True)


def test_greedy_probability_is_one(gpt2):
    r = _run(gpt2, settings=SamplerSettings(temperature=0.0, seed=1), max_tokens=4)[0].results[0]
    assert all(t.probability == 1.0 for t in r.tokens)


def test_stop_string_is_trimmed_and_never_streamed(gpt2):
    full = _run(gpt2, settings=WILD.with_seed(9), max_tokens=48)[0].results[0].text
    stop = full[20:23]
    assert len(stop) == 3
    gen, steps = _run(gpt2, settings=WILD.with_seed(9), max_tokens=48, stop=[stop])
    r = gen.results[0]
    assert r.finish_reason == "stop"
    assert r.text == full[:full.find(stop)]
    assert "".join(s.text for s in steps) == r.text


def test_eos_stops_generation(gpt2):
    settings = SamplerSettings(temperature=0.0, seed=1)
    first = _run(gpt2, settings=settings, max_tokens=3)[0].results[0].token_ids
    gpt2.eos_ids = (first[1],)
    try:
        r = _run(gpt2, settings=settings, max_tokens=10)[0].results[0]
    finally:
        gpt2.eos_ids = ()
    assert r.finish_reason == "eos"
    assert r.token_ids == first[:2]  # the EOS token is the last id, and adds no text
    assert r.tokens[-1].text == ""


def test_cancel_is_checked_every_token(gpt2):
    cancel = CancelToken()
    gen = Generation(gpt2, gpt2.tokenizer.encode("Once"), WILD.with_seed(1), max_tokens=50,
                     cancel=cancel)
    for n, step in enumerate(gen.steps(), 1):
        if n == 3:
            cancel.cancel()
    r = gen.results[0]
    assert r.finish_reason == "cancelled"
    assert len(r.token_ids) == 3


def test_long_prompt_drops_oldest_tokens(gpt2):
    prompt = list(range(1, 41))
    gen = Generation(gpt2, prompt, WILD.with_seed(1), max_tokens=8, context_length=32)
    r = gen.run()[0]
    assert gen.prompt_ids == prompt[16:]
    assert r.dropped_context_tokens == 16 and r.prompt_tokens == 24
    assert len(r.token_ids) == 8


@pytest.mark.parametrize("which", ["gpt2", "llama"])
def test_generation_past_the_context_shifts_and_reports(which, gpt2, llama):
    lm = {"gpt2": gpt2, "llama": llama}[which]
    gen = Generation(lm, list(range(1, 11)), WILD.with_seed(2), max_tokens=60, context_length=32,
                     variants=2)
    results = gen.run()
    for r in results:
        assert len(r.token_ids) == 60 and r.finish_reason == "length"
        assert r.dropped_context_tokens > 0 and r.dropped_context_tokens % 17 == 0


def test_gpt2_model_context_limit_is_respected(gpt2):
    # the tiny GPT-2 has 128 positions: 100 prompt + 100 new tokens must not overflow
    r = Generation(gpt2, list(range(1, 101)), WILD.with_seed(4), max_tokens=100).run()[0]
    assert len(r.token_ids) == 100 and r.dropped_context_tokens > 0


def test_empty_prompt_starts_from_a_special_token(gpt2):
    r = Generation(gpt2, [], WILD.with_seed(4), max_tokens=5).run()[0]
    assert len(r.token_ids) == 5 and r.prompt_tokens == 1


def test_penalties_and_dry_run_with_history(gpt2):
    s = SamplerSettings(seed=3, repeat_penalty=1.3, frequency_penalty=0.2, dry_multiplier=0.8)
    r = _run(gpt2, settings=s, max_tokens=20)[0].results[0]
    assert len(r.token_ids) == 20
