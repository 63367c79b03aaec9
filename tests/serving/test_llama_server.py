"""Reverie against a real llama.cpp server on loopback (a tiny GGUF written by the tests):
detection, streaming, greedy equality with the server's own /completion, top-N equality with
n_probs, settings under the server's names, post-sampling probabilities, Stop, a killed server.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys

import pytest

from desktop_app.backends.remote_http import ConnectionLost
from desktop_app.backends.remote_text import RemoteClient, RemoteGeneration, next_token
from desktop_app.core.jobs import CancelToken
from desktop_app.core.sampling import SamplerSettings
from desktop_app.core.serving import ServerSpec

PROMPT = "Once upon a time, in 1987, a dragon"
GREEDY = SamplerSettings(temperature=0.0, seed=1)


def _client(server, **kw) -> RemoteClient:
    return RemoteClient(ServerSpec(server.url, **kw))


def test_detects_the_llama_cpp_api_and_the_model(llama_server):
    client = _client(llama_server)
    info = client.info(refresh=True)
    assert info.api == "llama.cpp" and info.context == 256 and info.model == "tiny.gguf"
    model = client.model_info()
    assert model.server_api == "llama.cpp" and model.max_context == 256
    assert "seed reproduces" in model.reproducibility


def _greedy_beside_own(server, n: int, top: int, **spec):
    """Reverie's streamed greedy generation and the server's own /completion answer."""
    gen = RemoteGeneration(_client(server, **spec), PROMPT, GREEDY, max_tokens=n,
                           top_alternatives=top)
    streamed = "".join(step.text for step in gen.steps())
    own = server.post("/completion", {"prompt": PROMPT, "n_predict": n, "temperature": 0,
                                      "return_tokens": True, "n_probs": top})
    assert streamed == gen.results[0].text == own["content"]
    return gen.results[0], own


def test_greedy_stream_equals_the_servers_own_completion(llama_server):
    result, own = _greedy_beside_own(llama_server, 24, 10)
    assert list(result.token_ids) == own["tokens"]
    assert result.finish_reason == {"limit": "length", "eos": "eos"}[own["stop_type"]]
    # the inspector's top-10 for every token equals the server's n_probs answer
    for token, theirs in zip(result.tokens, own["completion_probabilities"], strict=True):
        assert token.id == theirs["id"]
        assert [a.id for a in token.alternatives] == [t["id"] for t in theirs["top_logprobs"]]
        for alt, t in zip(token.alternatives, theirs["top_logprobs"]):
            assert alt.raw_probability == pytest.approx(2.718281828459045 ** t["logprob"],
                                                        rel=1e-9)
            assert alt.probability is None  # after-sampler numbers: not in this mode


def test_the_openai_compatible_dialect_of_a_real_server_gives_the_same_tokens(llama_server):
    # llama-server's /v1/completions is a real OpenAI-compatible endpoint (vLLM's dialect
    # otherwise runs only against documented shapes here): same text, ids and top ids.
    result, own = _greedy_beside_own(llama_server, 16, 5, api="openai")
    assert list(result.token_ids) == own["tokens"] and result.finish_reason == "length"
    for token, theirs in zip(result.tokens, own["completion_probabilities"], strict=True):
        assert [a.id for a in token.alternatives] == [t["id"] for t in theirs["top_logprobs"]]


def test_every_setting_reaches_the_server_under_its_own_name(llama_server):
    client = _client(llama_server)
    settings = SamplerSettings(temperature=0.7, top_k=7, top_p=0.9, min_p=0.02, typical_p=0.95,
                               repeat_penalty=1.1, repeat_last_n=-1, presence_penalty=0.2,
                               frequency_penalty=0.1, dry_multiplier=0.8, dry_base=1.5,
                               dry_allowed_length=3, dry_penalty_last_n=32,
                               xtc_probability=0.3, xtc_threshold=0.2, seed=1234,
                               order=("top_k", "penalties", "dry", "typical_p", "top_p",
                                      "min_p", "xtc", "temperature"))
    path, body = client.request(PROMPT, settings, max_tokens=2, stream=False)
    echoed = llama_server.post(path, body)["generation_settings"]
    assert echoed["top_k"] == 7 and echoed["seed"] == 1234
    assert echoed["repeat_last_n"] == 256  # Reverie's "-1 = whole history" = the context
    for name in ("temperature", "top_p", "min_p", "typical_p", "repeat_penalty",
                 "presence_penalty", "frequency_penalty", "dry_multiplier", "dry_base",
                 "xtc_probability", "xtc_threshold"):
        assert echoed[name] == pytest.approx(getattr(settings, name), rel=1e-6), name
    assert echoed["dry_allowed_length"] == 3 and echoed["dry_penalty_last_n"] == 32
    assert echoed["samplers"] == ["top_k", "penalties", "dry", "typ_p", "top_p", "min_p",
                                  "xtc", "temperature"]
    assert client.mapped(settings).unsupported == ()


def test_a_seed_reproduces_the_text_and_another_seed_changes_it(llama_server):
    def run(seed):
        gen = RemoteGeneration(_client(llama_server), PROMPT,
                               SamplerSettings(temperature=8.0, top_k=0, top_p=1.0, min_p=0.0,
                                               seed=seed), max_tokens=20)
        list(gen.steps())
        return gen.results[0].text

    assert run(11) == run(11)
    assert run(11) != run(12)


def test_variants_use_consecutive_seeds(llama_server):
    gen = RemoteGeneration(_client(llama_server), PROMPT, SamplerSettings(seed=40),
                           max_tokens=6, variants=2)
    steps = list(gen.steps())
    assert {s.variant for s in steps} == {0, 1}
    assert [r.seed for r in gen.results] == [40, 41]


def test_inspector_gets_both_sides_of_the_servers_samplers(llama_server):
    answer = next_token(_client(llama_server), PROMPT, SamplerSettings(top_k=3, seed=1), 10)
    assert answer.api == "llama.cpp" and len(answer.raw) == 10
    assert all(a.raw_probability is not None and a.probability is None for a in answer.raw)
    assert answer.post is not None and 1 <= len(answer.post) <= 3
    assert sum(a.probability for a in answer.post) == pytest.approx(1.0, abs=1e-5)
    raw_top3 = {a.id for a in answer.raw[:3]}
    assert {a.id for a in answer.post} <= raw_top3  # top-k 3 keeps only the raw top 3


def test_stop_closes_the_request_and_the_server_frees_its_slot(llama_server):
    token = CancelToken()
    client = RemoteClient(ServerSpec(llama_server.url), token)
    gen = RemoteGeneration(client, PROMPT, SamplerSettings(seed=3), max_tokens=200)
    seen = 0
    for step in gen.steps():
        seen += step.token is not None
        if seen == 2:
            token.cancel()  # the socket is shut down now; the stream ends at once
    result = gen.results[0]
    assert result.finish_reason == "cancelled" and len(result.tokens) == 2
    # the server noticed the closed connection: its one slot takes the next request
    again = RemoteGeneration(_client(llama_server), PROMPT, GREEDY, max_tokens=3)
    list(again.steps())
    assert again.results[0].finish_reason == "length"


def test_a_server_killed_mid_stream_is_a_clear_error(own_llama_server):
    gen = RemoteGeneration(_client(own_llama_server, retries=0), PROMPT,
                           SamplerSettings(seed=3), max_tokens=200)
    steps = gen.steps()
    next(steps)
    own_llama_server.kill()
    with pytest.raises(ConnectionLost, match="broke in the middle|closed the stream mid-way"):
        for _ in steps:
            pass


def test_a_server_that_is_not_running_is_refused_after_retries(own_llama_server):
    url = own_llama_server.url
    own_llama_server.kill()
    notes = []
    client = RemoteClient(ServerSpec(url, retries=1), status=notes.append)
    with pytest.raises(ConnectionLost, match="connection refused.*tried 2 times"):
        client.info(refresh=True)
    assert len(notes) == 1 and "retrying" in notes[0]


def _cli(*args, **kw):
    return subprocess.Popen([sys.executable, "-m", "desktop_app", "generate", "text", *args],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, **kw)


def test_cli_streams_and_reports_what_it_sent(llama_server):
    proc = _cli("--server", llama_server.url, "--prompt", PROMPT, "--max-tokens", "8",
                "--temperature", "0", "--json")
    out, err = proc.communicate(timeout=120)
    assert proc.returncode == 0, err
    import json

    obj = json.loads(out)
    own = llama_server.post("/completion", {"prompt": PROMPT, "n_predict": 8, "temperature": 0})
    assert obj["text"] == own["content"]
    assert obj["server"]["api"] == "llama.cpp" and obj["server"]["sent"]["temperature"] == 0
    assert obj["server"]["unsupported"] == [] and "reproducibility" in obj["server"]


def test_cli_survives_the_server_being_killed_mid_stream(own_llama_server):
    proc = _cli("--server", own_llama_server.url, "--prompt", PROMPT, "--max-tokens", "250",
                env={**os.environ, "PYTHONUNBUFFERED": "1"})
    first = proc.stdout.read(1)  # the first streamed character
    own_llama_server.kill()
    out, err = proc.communicate(timeout=120)
    assert first and proc.returncode == 1
    lines = err.decode().strip().splitlines()
    assert lines[-1].startswith("reverie: error: ") and "Traceback" not in err.decode()


def test_cli_ctrl_c_keeps_the_text_and_exits_130(llama_server):
    proc = _cli("--server", llama_server.url, "--prompt", PROMPT, "--max-tokens", "250",
                "--json")
    # --json prints at the end, so watch the server's slot to know the request is under way
    for _ in range(2000):
        slots = llama_server.get("/slots")
        if any(s.get("is_processing") for s in slots):
            break
        try:
            proc.wait(timeout=0.01)
        except subprocess.TimeoutExpired:
            pass
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, err
    import json

    assert json.loads(out)["finish_reason"] == "cancelled"
