"""The HTTP client against a loopback server answering in vLLM's and Ollama's documented
formats: detection, streaming, what is sent, and one clear error for each failure."""

from __future__ import annotations

import json

import pytest

from desktop_app.backends.remote_http import ConnectionLost, ServerError
from desktop_app.backends.remote_text import RemoteClient, RemoteGeneration
from desktop_app.commands.serving_run import score_on_server
from desktop_app.core.errors import ReverieError, UsageError
from desktop_app.core.sampling import PRESETS, SamplerSettings
from desktop_app.core.serving import ServerSpec
from desktop_app.core.serving_stream import StreamError
from test_stream_shapes import OLLAMA, VLLM

JSON, SSE, NDJSON = "application/json", "text/event-stream", "application/x-ndjson"


def _sse(objs):
    return [b"data: " + json.dumps(o).encode() + b"\n\n" for o in objs] + [b"data: [DONE]\n\n"]


def _vllm(canned):
    canned.add("GET", "/v1/models", 200, JSON, json.dumps({"object": "list", "data": [
        {"id": "meta-llama/Llama-3.1-8B", "object": "model", "max_model_len": 8192}]}).encode())
    canned.add("POST", "/v1/completions", 200, SSE, _sse(VLLM))


def test_vllm_is_detected_and_streams(canned):
    _vllm(canned)
    client = RemoteClient(ServerSpec(canned.url))
    gen = RemoteGeneration(client, "The capital of France is", PRESETS["Creative"].with_seed(3),
                           max_tokens=2, top_alternatives=30)
    text = "".join(s.text for s in gen.steps())
    assert text == " Paris." and gen.results[0].finish_reason == "length"
    assert gen.info.api == "openai" and gen.info.context == 8192
    body = json.loads(canned.requests[-1][3])
    assert body["model"] == "meta-llama/Llama-3.1-8B" and body["logprobs"] == 20  # vLLM's cap
    assert body["seed"] == 3 and body["min_p"] == 0.05 and body["stream"] is True
    assert "dry_multiplier" not in body
    assert gen.report()["unsupported"][0]["setting"] == "dry_multiplier"
    # probed in order: llama.cpp's /props, Ollama's /api/tags, then /v1/models
    assert [r[1] for r in canned.requests[:3]] == ["/props", "/api/tags", "/v1/models"]


def test_ollama_is_detected_streams_ndjson_and_names_its_model(canned):
    canned.add("GET", "/api/tags", 200, JSON, json.dumps({"models": [
        {"name": "llama3.2:latest", "model": "llama3.2:latest"}]}).encode())
    canned.add("POST", "/api/show", 200, JSON, json.dumps(
        {"model_info": {"llama.context_length": 131072}}).encode())
    canned.add("POST", "/api/generate", 200, NDJSON,
               [json.dumps(o).encode() + b"\n" for o in OLLAMA])
    gen = RemoteGeneration(RemoteClient(ServerSpec(canned.url, api="ollama")), "Hello",
                           SamplerSettings(seed=8, repeat_penalty=1.1), max_tokens=2)
    assert "".join(s.text for s in gen.steps()) == "The"
    assert gen.info.context == 131072 and gen.results[0].prompt_tokens == 26
    body = json.loads(canned.requests[-1][3])
    assert body["model"] == "llama3.2:latest" and body["raw"] is True
    assert body["options"]["seed"] == 8 and body["options"]["repeat_penalty"] == 1.1
    assert body["options"]["num_predict"] == 2 and body["top_logprobs"] == 5


def test_several_models_need_a_name(canned):
    canned.add("GET", "/api/tags", 200, JSON, json.dumps({"models": [
        {"name": "a"}, {"name": "b"}]}).encode())
    with pytest.raises(UsageError, match="2 models.*--model"):
        RemoteClient(ServerSpec(canned.url, api="ollama")).info()
    with pytest.raises(ServerError, match="no model 'c'"):
        RemoteClient(ServerSpec(canned.url, api="ollama", model="c")).info()


def test_the_key_is_sent_as_a_bearer_token_and_401_says_what_to_do(canned, monkeypatch):
    monkeypatch.setenv("VLLM_KEY", "sk-test")
    canned.add("GET", "/v1/models", 401, JSON, b'{"error": {"message": "Unauthorized"}}')
    with pytest.raises(ServerError, match="HTTP 401: Unauthorized.*--api-key-env"):
        RemoteClient(ServerSpec(canned.url, api="openai", api_key_env="VLLM_KEY")).info()
    assert canned.requests[-1][2]["Authorization"] == "Bearer sk-test"


@pytest.mark.parametrize("status, body, words", [
    (500, b'{"error": {"message": "CUDA out of memory"}}', "failed \\(HTTP 500: CUDA out"),
    (404, b'{"detail": "Not Found"}', "no /v1/completions or no such model"),
    (400, b'{"error": {"message": "max_tokens too large"}}', "HTTP 400: max_tokens"),
])
def test_http_errors_are_one_line(canned, status, body, words):
    canned.add("GET", "/v1/models", 200, JSON, json.dumps({"data": [{"id": "m"}]}).encode())
    canned.add("POST", "/v1/completions", status, JSON, body)
    gen = RemoteGeneration(RemoteClient(ServerSpec(canned.url, api="openai")), "x",
                           SamplerSettings(seed=1), max_tokens=2)
    with pytest.raises(ServerError, match=words):
        list(gen.steps())


def test_a_loading_server_is_retried_with_a_status_line(canned):
    canned.add("GET", "/v1/models", 503, JSON, b'{"error": {"message": "Loading model"}}')
    canned.add("GET", "/v1/models", 200, JSON, json.dumps({"data": [{"id": "m"}]}).encode())
    notes = []
    client = RemoteClient(ServerSpec(canned.url, api="openai", retries=2), status=notes.append)
    assert client.info().model == "m"
    assert len(notes) == 1 and "Loading model" in notes[0] and "retrying" in notes[0]


def test_malformed_and_cut_streams_fail_cleanly(canned):
    canned.add("GET", "/v1/models", 200, JSON, json.dumps({"data": [{"id": "m"}]}).encode())
    canned.add("POST", "/v1/completions", 200, SSE, [b"data: {\"choices\": [{\"text\": 1}]}\n\n"])
    canned.add("POST", "/v1/completions", 200, SSE, _sse(VLLM[:1])[:1] + [None])
    spec = ServerSpec(canned.url, api="openai", retries=0)
    with pytest.raises(StreamError, match="not text"):
        list(RemoteGeneration(RemoteClient(spec), "x", SamplerSettings(seed=1),
                              max_tokens=2).steps())
    gen = RemoteGeneration(RemoteClient(spec), "x", SamplerSettings(seed=1), max_tokens=2)
    steps = gen.steps()
    assert next(steps).text == " Paris"
    with pytest.raises(ConnectionLost, match="broke in the middle|mid-way"):
        list(steps)


def test_not_a_serving_engine(canned):
    canned.add("GET", "/props", 200, "text/html", b"<html>hello</html>")
    with pytest.raises(ReverieError, match="not as a llama.cpp server"):
        RemoteClient(ServerSpec(canned.url)).info()


def test_eval_scores_through_vllm_echo(canned):
    canned.add("GET", "/v1/models", 200, JSON, json.dumps({"data": [{"id": "m"}]}).encode())
    canned.add("POST", "/v1/completions", 200, JSON, json.dumps({
        "choices": [{"text": "Hello world!", "logprobs": {
            "tokens": ["<s>", "Hello", " world", "!"], "token_logprobs": [None, -2.0, -1.0, -4.0],
            "top_logprobs": [None, {}, {}, {}], "text_offset": [0, 0, 5, 11]},
            "finish_reason": "length"}],
        "usage": {"prompt_tokens": 3, "completion_tokens": 1, "total_tokens": 4}}).encode())
    ll, n, unscored = score_on_server(RemoteClient(ServerSpec(canned.url, api="openai")),
                                      "Hello world")
    assert (ll, n, unscored) == (-3.0, 2, True)
    body = json.loads(canned.requests[-1][3])
    assert body["echo"] is True and body["logprobs"] == 0
