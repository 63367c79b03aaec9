"""The serving backend behind the engine contract: the same jobs and events as a local model —
TokenChunks while streaming, Stop pressed on the GUI thread while the worker waits on the
socket, and a Failed event (never a crash) for a server that is gone."""

from __future__ import annotations

import pytest

from desktop_app.core.events import Cancelled, Failed, Finished, TokenChunk
from desktop_app.core.sampling import SamplerSettings
from desktop_app.core.serving import ServerSpec
from desktop_app.core.textgen import LoadTextModelJob, TextGenerationJob
from desktop_app.core.textgen_inspect import ServerNextTokenJob
from desktop_app.engine.engine import InferenceEngine

WAIT_MS = 60_000


@pytest.fixture
def engine(qtbot):
    eng = InferenceEngine(coalesce_ms=30)
    events: list = []
    eng.event.connect(events.append)
    eng.events = events
    yield eng
    eng.shutdown()


def _terminal(engine, job_id):
    return next((e for e in engine.events if e.job_id == job_id
                 and isinstance(e, (Finished, Failed, Cancelled))), None)


def _wait(qtbot, engine, job_id):
    qtbot.waitUntil(lambda: _terminal(engine, job_id) is not None, timeout=WAIT_MS)
    return _terminal(engine, job_id)


def _job(server, **kw) -> TextGenerationJob:
    spec = ServerSpec(server.url, retries=0)
    return TextGenerationJob(model_dir=spec.url, server=spec, prompt="Once upon a time",
                             **kw)


def test_load_generate_and_inspect_through_the_engine(qtbot, engine, llama_server):
    spec = ServerSpec(llama_server.url)
    load = engine.submit(LoadTextModelJob(model_dir=spec.url, server=spec))
    info = _wait(qtbot, engine, load).result
    assert info.server_api == "llama.cpp" and info.max_context == 256
    job = _job(llama_server, settings=SamplerSettings(seed=5), max_tokens=12)
    done = _wait(qtbot, engine, engine.submit(job))
    assert isinstance(done, Finished)
    result = done.result[0]
    chunks = [e for e in engine.events if e.job_id == job.job_id and isinstance(e, TokenChunk)]
    assert "".join(c.text for c in chunks) == result.text
    assert sum(len(c.tokens) for c in chunks) == len(result.tokens) == 12
    inspect = ServerNextTokenJob(server=spec, text="Once upon a time",
                                 settings=SamplerSettings(seed=1), top_n=5)
    answer = _wait(qtbot, engine, engine.submit(inspect)).result
    assert len(answer.raw) == 5 and answer.post is not None


def test_stop_on_the_gui_thread_wakes_the_worker_blocked_on_the_socket(qtbot, engine,
                                                                        llama_server):
    job = _job(llama_server, settings=SamplerSettings(seed=5), max_tokens=200)
    job_id = engine.submit(job)
    qtbot.waitUntil(lambda: any(isinstance(e, TokenChunk) and e.job_id == job_id
                                for e in engine.events), timeout=WAIT_MS)
    engine.cancel(job_id)
    done = _wait(qtbot, engine, job_id)
    assert isinstance(done, Cancelled)
    # the engine lives on and the server serves the next request
    again = _wait(qtbot, engine, engine.submit(_job(llama_server, max_tokens=3)))
    assert isinstance(again, Finished)


def test_a_killed_server_is_a_failed_event(qtbot, engine, own_llama_server):
    job_id = engine.submit(_job(own_llama_server, settings=SamplerSettings(seed=5),
                                max_tokens=250))
    qtbot.waitUntil(lambda: any(isinstance(e, TokenChunk) and e.job_id == job_id
                                for e in engine.events), timeout=WAIT_MS)
    own_llama_server.kill()
    done = _wait(qtbot, engine, job_id)
    assert isinstance(done, Failed) and "Error" not in done.message.split(":")[0]
    assert "mid" in done.message or "broke" in done.message
    refused = _wait(qtbot, engine, engine.submit(_job(own_llama_server, max_tokens=3)))
    assert isinstance(refused, Failed) and "connection refused" in refused.message
