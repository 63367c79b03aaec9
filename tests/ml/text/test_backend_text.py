"""The text job handlers through the engine's job runner and the threaded engine."""

from __future__ import annotations

import pytest

from desktop_app.backends import registry
from desktop_app.core.events import Cancelled, Failed, Finished, Progress, Started, TokenChunk
from desktop_app.core.jobs import CancelToken
from desktop_app.core.sampling import SamplerSettings
from desktop_app.core.textgen import (GenerationResult, LoadTextModelJob, TextGenerationJob,
                                      TextModelInfo, TokenInfo)
from desktop_app.engine.model_cache import ModelCache
from desktop_app.engine.runner import run_job


def _run(job, cache=None, token=None):
    events = []
    run_job(job, token or CancelToken(), registry.handler_for, cache or ModelCache(),
            events.append)
    return events


def test_generation_streams_token_chunks_and_finishes(model_folders):
    folder = str(model_folders["gpt2"][0])
    job = TextGenerationJob(model_dir=folder, prompt="Once upon a time",
                            settings=SamplerSettings(seed=4), max_tokens=12, variants=2)
    events = _run(job)
    assert isinstance(events[0], Started) and events[0].label == "Generating text"
    assert any(isinstance(e, Progress) for e in events)  # model loading
    end = events[-1]
    assert isinstance(end, Finished), end
    results = end.result
    assert len(results) == 2 and all(isinstance(r, GenerationResult) for r in results)
    for v, r in enumerate(results):
        chunks = [e for e in events if isinstance(e, TokenChunk) and e.variant == v]
        assert "".join(c.text for c in chunks) == r.text
        infos = [t for c in chunks for t in c.tokens]
        assert all(isinstance(t, TokenInfo) for t in infos)
        assert tuple(t.id for t in infos) == r.token_ids
        assert any(c.tokens_per_s for c in chunks)
    assert [r.seed for r in results] == [4, 5]


def test_model_is_cached_between_jobs(model_folders):
    cache = ModelCache()
    folder = str(model_folders["gpt2"][0])
    info = _run(LoadTextModelJob(model_dir=folder), cache)[-1].result
    assert isinstance(info, TextModelInfo) and info.arch == "gpt2" and info.max_context == 128
    events = _run(TextGenerationJob(model_dir=folder, prompt="x", max_tokens=2), cache)
    assert not any(isinstance(e, Progress) and "Loading" in e.message for e in events)


@pytest.mark.parametrize("arch", ["gpt2", "llama"])
def test_a_quantized_model_reports_all_its_parameters(model_folders, arch):
    """int4/int8 weights are buffers, not parameters: the count shown in the Write room is
    the stored model's, whatever the precision (it showed 35.1K for SmolLM2 at int4)."""
    folder = str(model_folders[arch][0])
    counts = {precision: _run(LoadTextModelJob(model_dir=folder, precision=precision))[-1]
              .result.parameters for precision in ("fp32", "int8", "int4")}
    assert counts["fp32"] > 0 and counts["int8"] == counts["fp32"] == counts["int4"]


def test_cancelled_generation_ends_cancelled(model_folders):
    token = CancelToken()
    folder = str(model_folders["gpt2"][0])
    events = []

    def emit(e):
        events.append(e)
        if isinstance(e, TokenChunk) and len(events) > 5:
            token.cancel()

    run_job(TextGenerationJob(model_dir=folder, prompt="x", max_tokens=100), token,
            registry.handler_for, ModelCache(), emit)
    assert isinstance(events[-1], Cancelled)
    assert sum(isinstance(e, TokenChunk) for e in events) < 20


def test_bad_folder_fails_with_readable_message(tmp_path):
    events = _run(TextGenerationJob(model_dir=str(tmp_path), prompt="x"))
    assert isinstance(events[-1], Failed)
    assert "config.json" in events[-1].message and not events[-1].detail


def test_through_the_threaded_engine(qtbot, model_folders):
    from desktop_app.engine.engine import InferenceEngine

    engine = InferenceEngine(coalesce_ms=30)
    events = []
    engine.event.connect(events.append)
    try:
        job_id = engine.submit(TextGenerationJob(model_dir=str(model_folders["llama"][0]),
                                                 prompt="The fox", max_tokens=16,
                                                 settings=SamplerSettings(seed=1)))
        qtbot.waitUntil(lambda: any(isinstance(e, (Finished, Failed, Cancelled))
                                    and e.job_id == job_id for e in events), timeout=60_000)
    finally:
        engine.shutdown()
    end = events[-1]
    assert isinstance(end, Finished), end
    text = "".join(e.text for e in events if isinstance(e, TokenChunk))
    assert text == end.result[0].text
    tokens = [t for e in events if isinstance(e, TokenChunk) for t in e.tokens]
    assert len(tokens) == 16


@pytest.mark.parametrize("bad", [dict(max_tokens=0), dict(precision="fp8")])
def test_bad_requests_fail(model_folders, bad):
    job = TextGenerationJob(model_dir=str(model_folders["gpt2"][0]), prompt="x", **bad)
    assert isinstance(_run(job)[-1], Failed)


@pytest.mark.parametrize("arch", ["gpt2", "llama"])
def test_inspector_reuses_the_last_texts_cache_with_the_same_logits(model_folders, arch):
    import numpy as np
    import torch

    from desktop_app.backends import text_inspect
    from desktop_app.core.textgen_inspect import NextTokenLogitsJob

    from desktop_app.ml.text.loader import load_text_model

    folder = str(model_folders[arch][0])
    cache = ModelCache()
    lm = load_text_model(folder)  # the reference: full passes without a kept cache
    texts = ["Once upon a time the dragon", "Once upon a time the dragon slept by the sea",
             "Once upon a time", "Once upon a hill", "A wholly new text"]
    for text in texts:  # longer, shorter (prefix), diverging and unrelated texts
        text_inspect._RESULTS.clear()
        (got,) = [e.result for e in _run(NextTokenLogitsJob(model_dir=folder, text=text),
                                         cache) if isinstance(e, Finished)]
        ids = list(got.history)
        assert len(text_inspect._PREFIX) == 1
        held, _ = next(iter(text_inspect._PREFIX.values()))
        assert held == ids
        with torch.inference_mode():
            ref = lm.model(torch.tensor([ids]))[0, -1].float().numpy()
        np.testing.assert_allclose(got.logits, ref, atol=1e-4 * float(np.abs(ref).max()) + 1e-4)
    text_inspect._PREFIX.clear()
