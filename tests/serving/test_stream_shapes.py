"""The three engines' stream formats, as their sources and docs give them, read into tokens."""

from __future__ import annotations

import json
import math

import pytest

from desktop_app.core.serving_stream import (StreamError, llama_pieces, ndjson_events,
                                             ollama_pieces, openai_pieces, sse_events)


def _sse(*objs, done=True):
    lines = []
    for obj in objs:
        lines += [b"data: " + json.dumps(obj).encode() + b"\n", b"\n"]
    if done:
        lines += [b"data: [DONE]\n", b"\n"]
    return lines


# llama.cpp /completion, streamed (tools/server/server-task.cpp to_json_non_oaicompat)
LLAMA_CHUNK = {"index": 0, "content": " the", "tokens": [260], "stop": False,
               "completion_probabilities": [{
                   "id": 260, "token": " the", "bytes": [32, 116, 104, 101], "logprob": -1.8,
                   "top_logprobs": [{"id": 260, "token": " the", "bytes": [32, 116, 104, 101],
                                     "logprob": -1.8},
                                    {"id": 339, "token": " I", "bytes": [32, 73],
                                     "logprob": -2.16}]}]}
LLAMA_FINAL = {"content": "", "stop": True, "stop_type": "eos", "tokens_evaluated": 4,
               "timings": {"prompt_n": 4, "prompt_ms": 20.0, "prompt_per_second": 200.0,
                           "predicted_per_second": 70.0}}


def test_llama_cpp_chunks_become_tokens_with_raw_probabilities():
    events = list(sse_events(_sse(LLAMA_CHUNK, LLAMA_FINAL, done=False)))
    token = llama_pieces(events[0])[0].token
    assert token.id == 260 and token.text == " the" and token.probability is None
    assert token.raw_probability == pytest.approx(math.exp(-1.8))
    assert [a.id for a in token.alternatives] == [260, 339]
    final = llama_pieces(events[1])[-1]
    assert final.finish == "eos" and final.timings["prompt_tokens_per_s"] == 200.0


def test_llama_cpp_post_sampling_probabilities():
    chunk = {"content": "a", "stop": False, "completion_probabilities": [{
        "id": 5, "token": "a", "bytes": [97], "prob": 0.75,
        "top_probs": [{"id": 6, "token": "b", "bytes": [98], "prob": 0.25},
                      {"id": 5, "token": "a", "bytes": [97], "prob": 0.75}]}]}
    token = llama_pieces(chunk)[0].token
    assert token.probability == 0.75 and token.raw_probability is None
    assert [a.id for a in token.alternatives] == [5, 6]  # most probable first


# vLLM /v1/completions, stream=true, logprobs=2 (legacy OpenAI completions shape)
VLLM = [
    {"id": "cmpl-1", "object": "text_completion", "created": 1, "model": "m",
     "choices": [{"index": 0, "text": " Paris", "logprobs": {
         "text_offset": [0], "token_logprobs": [-0.1], "tokens": [" Paris"],
         "top_logprobs": [{" Paris": -0.1, " Lyon": -2.5}]},
         "finish_reason": None, "stop_reason": None}], "usage": None},
    {"id": "cmpl-1", "object": "text_completion", "created": 1, "model": "m",
     "choices": [{"index": 0, "text": ".", "logprobs": {
         "text_offset": [6], "token_logprobs": [-0.5], "tokens": ["."],
         "top_logprobs": [{".": -0.5, ",": -1.2}]},
         "finish_reason": "length", "stop_reason": None}], "usage": None},
    {"id": "cmpl-1", "object": "text_completion", "created": 1, "model": "m", "choices": [],
     "usage": {"prompt_tokens": 5, "completion_tokens": 2, "total_tokens": 7}},
]


def test_vllm_stream_reads_raw_logprobs_and_marks_ids_and_post_as_unknown():
    events = list(sse_events(_sse(*VLLM)))
    assert len(events) == 3
    first = openai_pieces(events[0])[0]
    assert first.text == " Paris" and first.token.id == -1 and first.token.probability is None
    assert first.token.raw_probability == pytest.approx(math.exp(-0.1))
    assert [a.text for a in first.token.alternatives] == [" Paris", " Lyon"]
    last = openai_pieces(events[1])
    assert last[0].text == "." and last[-1].finish == "length"
    assert openai_pieces(events[2]) == []


def test_vllm_finish_reasons_and_token_ids():
    stop = {"choices": [{"text": "", "finish_reason": "stop", "stop_reason": "\n\n"}]}
    eos = {"choices": [{"text": "", "finish_reason": "stop", "stop_reason": None}]}
    assert openai_pieces(stop)[-1].finish == "stop" and openai_pieces(eos)[-1].finish == "eos"
    ids = {"choices": [{"text": "x", "logprobs": {"tokens": ["token_id:42"],
                                                  "token_logprobs": [-1.0],
                                                  "top_logprobs": [{"token_id:42": -1.0}]}}]}
    assert openai_pieces(ids)[0].token.id == 42


def test_openai_content_list_logprobs_are_read_and_malformed_ones_refused():
    # llama.cpp's /v1/completions (and OpenAI's newer shape): logprobs.content, with ids
    chunk = {"choices": [{"text": " the", "logprobs": {"content": [
        LLAMA_CHUNK["completion_probabilities"][0]]}, "finish_reason": None}]}
    (piece,) = openai_pieces(chunk)
    assert piece.text == " the" and piece.token.id == 260
    assert [a.id for a in piece.token.alternatives] == [260, 339]
    assert piece.token.raw_probability == pytest.approx(math.exp(-1.8))
    with pytest.raises(StreamError):
        openai_pieces({"choices": [{"text": "x", "logprobs": {"content": "oops"}}]})


# Ollama /api/generate, stream=true, logprobs=true, top_logprobs=2 (api/types.go Logprob)
OLLAMA = [
    {"model": "llama3.2", "created_at": "2025-11-12T10:00:00Z", "response": "The",
     "done": False, "logprobs": [{"token": "The", "logprob": -0.2, "bytes": [84, 104, 101],
                                  "top_logprobs": [{"token": "The", "logprob": -0.2},
                                                   {"token": "A", "logprob": -1.9}]}]},
    {"model": "llama3.2", "created_at": "2025-11-12T10:00:00Z", "response": "", "done": True,
     "done_reason": "length", "context": [1, 2], "total_duration": 5_000_000,
     "prompt_eval_count": 26, "prompt_eval_duration": 130_000_000, "eval_count": 2,
     "eval_duration": 40_000_000},
]


def test_ollama_ndjson_reads_tokens_and_timings():
    lines = [json.dumps(o).encode() + b"\n" for o in OLLAMA]
    events = list(ndjson_events(lines))
    token = ollama_pieces(events[0])[0].token
    assert token.text == "The" and token.id == -1 and token.probability is None
    assert [a.text for a in token.alternatives] == ["The", "A"]
    final = ollama_pieces(events[1])[-1]
    assert final.finish == "length" and final.timings["prompt_tokens"] == 26
    assert final.timings["generated_tokens_per_s"] == pytest.approx(50.0)


@pytest.mark.parametrize("lines, words", [
    ([b"data: {not json\n", b"\n"], "not JSON"),
    ([b"hello\n", b"\n"], "malformed event stream"),
    ([b'data: {"error": {"code": 500, "message": "slot failed"}}\n', b"\n"], "slot failed"),
    ([b"data: [1, 2]\n", b"\n"], "a list where an object"),
    ([b"data: \xff\n", b"\n"], "not UTF-8"),
])
def test_malformed_streams_are_one_clear_error(lines, words):
    with pytest.raises(StreamError, match=words):
        list(sse_events(lines))


def test_invalid_numbers_are_refused():
    bad = dict(LLAMA_CHUNK, completion_probabilities=[dict(
        LLAMA_CHUNK["completion_probabilities"][0], logprob=3.0)])
    with pytest.raises(StreamError, match="log-probability"):
        llama_pieces(bad)
    with pytest.raises(StreamError, match="error"):
        list(ndjson_events([b'{"error": "model \\"x\\" not found"}\n']))
