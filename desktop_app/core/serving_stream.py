"""Reading serving engines' streams: SSE and NDJSON framing, and each API's chunks as tokens.

Pure Python (no network): the HTTP client in ``desktop_app.backends.remote_text`` feeds raw
lines in; unit tests feed the documented response shapes of llama.cpp's ``/completion``,
vLLM's ``/v1/completions`` (the legacy OpenAI shape) and Ollama's ``/api/generate``.

Each chunk becomes :class:`Piece` objects — text, an optional
:class:`~desktop_app.core.textgen.TokenInfo`, and at the end a finish reason and timings. What
a server cannot report is ``None`` (shown as "cannot report"): token ids on vLLM and Ollama
(``-1``), probabilities after the samplers everywhere but llama.cpp's
``post_sampling_probs`` mode, raw probabilities in that mode.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from typing import Any, Iterable, Iterator

from desktop_app.core.errors import ReverieError
from desktop_app.core.textgen import TokenAlternative, TokenInfo

UNKNOWN_ID = -1  # the server does not say which token id it was


class StreamError(ReverieError):
    """The server sent something that is not its documented stream format, or an error."""


@dataclass
class Piece:
    text: str = ""
    token: TokenInfo | None = None
    finish: str | None = None  # one of core.textgen.FINISH_REASONS once the stream ends
    timings: dict[str, Any] = field(default_factory=dict)


# --- framing ---------------------------------------------------------------------------------

def sse_events(lines: Iterable[bytes]) -> Iterator[dict[str, Any]]:
    """JSON objects from Server-Sent Events ``data:`` lines; stops at ``data: [DONE]``.
    Comments, ``event:`` and ``id:`` lines are skipped; a multi-line data field is joined."""
    data: list[str] = []
    for number, raw in enumerate(lines, 1):
        line = _decode(raw, number).rstrip("\r\n")
        if line == "":
            if data:
                payload = "\n".join(data)
                data = []
                if payload.strip() == "[DONE]":
                    return
                yield _json(payload, number)
            continue
        if line.startswith(":"):
            continue
        name, _, value = line.partition(":")
        if name == "data":
            data.append(value[1:] if value.startswith(" ") else value)
        elif name == "error" or (name not in ("event", "id", "retry") and not data):
            raise StreamError(f"the server sent a malformed event stream (line {number}: "
                              f"{_clip(line)})")
    if data:
        payload = "\n".join(data)
        if payload.strip() != "[DONE]":
            yield _json(payload, -1)


def ndjson_events(lines: Iterable[bytes]) -> Iterator[dict[str, Any]]:
    """JSON objects, one a line (Ollama); blank lines are skipped."""
    for number, raw in enumerate(lines, 1):
        line = _decode(raw, number).strip()
        if line:
            yield _json(line, number)


def _decode(raw: bytes, number: int) -> str:
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        raise StreamError(f"the server sent bytes that are not UTF-8 (line {number})") from None


def _json(text: str, number: int) -> dict[str, Any]:
    try:
        obj = json.loads(text)
    except ValueError:
        where = f"line {number}" if number > 0 else "the last line"
        raise StreamError(f"the server sent a malformed stream ({where} is not JSON: "
                          f"{_clip(text)})") from None
    if not isinstance(obj, dict):
        raise StreamError(f"the server sent a malformed stream (a {type(obj).__name__} where "
                          f"an object belongs)")
    if "error" in obj and obj["error"]:
        raise StreamError(f"the server reported an error: {error_message(obj)}")
    return obj


def error_message(obj: Any) -> str:
    """The message inside an error body of any of the three APIs."""
    if isinstance(obj, dict):
        err = obj.get("error", obj)
        if isinstance(err, dict):
            return _clip(str(err.get("message") or err.get("detail") or err))
        if "detail" in obj:
            return _clip(str(obj["detail"]))
        return _clip(str(err))
    return _clip(str(obj))


def _clip(text: str, n: int = 200) -> str:
    text = " ".join(str(text).split())
    return text if len(text) <= n else text[:n - 1] + "…"


# --- helpers ---------------------------------------------------------------------------------

def _prob(logprob: Any) -> float | None:
    if isinstance(logprob, bool) or not isinstance(logprob, (int, float)):
        return None
    if logprob == -math.inf:
        return 0.0
    if not math.isfinite(logprob) or logprob > 1e-6:
        raise StreamError(f"the server sent an invalid log-probability {logprob!r}")
    return math.exp(min(logprob, 0.0))


def _check_p(p: Any) -> float | None:
    if isinstance(p, bool) or not isinstance(p, (int, float)):
        return None
    if not (0.0 <= p <= 1.0 + 1e-6):
        raise StreamError(f"the server sent an invalid probability {p!r}")
    return min(float(p), 1.0)


def _token_text(entry: dict[str, Any]) -> str:
    raw = entry.get("bytes")
    if isinstance(raw, list) and raw and all(isinstance(b, int) and 0 <= b < 256 for b in raw):
        return bytes(raw).decode("utf-8", errors="replace")
    text = entry.get("token", "")
    return text if isinstance(text, str) else str(text)


def _id(entry: dict[str, Any]) -> int:
    value = entry.get("id")
    return value if isinstance(value, int) and not isinstance(value, bool) else UNKNOWN_ID


def _sorted(alts: list[TokenAlternative]) -> tuple[TokenAlternative, ...]:
    def key(a: TokenAlternative):
        p = a.probability if a.probability is not None else a.raw_probability
        return (-(p or 0.0), a.id)
    return tuple(sorted(alts, key=key))


# --- llama.cpp /completion -------------------------------------------------------------------

_LLAMA_FINISH = {"eos": "eos", "limit": "length", "word": "stop"}


def llama_token(entry: dict[str, Any], text: str) -> TokenInfo:
    """One ``completion_probabilities`` entry: ``logprob``/``top_logprobs`` (raw, before the
    samplers) or ``prob``/``top_probs`` (after them, ``post_sampling_probs``)."""
    if not isinstance(entry, dict):
        raise StreamError("the server sent a malformed completion_probabilities entry")
    post = "top_probs" in entry or "prob" in entry
    tops = entry.get("top_probs" if post else "top_logprobs") or []
    if not isinstance(tops, list):
        raise StreamError("the server sent malformed top probabilities")
    alts = []
    for top in tops:
        if not isinstance(top, dict):
            raise StreamError("the server sent malformed top probabilities")
        p = _check_p(top.get("prob")) if post else None
        raw = None if post else _prob(top.get("logprob"))
        alts.append(TokenAlternative(_id(top), _token_text(top), p, raw))
    p = _check_p(entry.get("prob")) if post else None
    raw = None if post else _prob(entry.get("logprob"))
    return TokenInfo(_id(entry), text, p, raw, _sorted(alts))


def _entry_pieces(entries: list[Any], text: str) -> list[Piece]:
    """One piece per token entry; the chunk's text goes with the last (a chunk's text can hold
    several tokens, and a token's own bytes can be half a character)."""
    last = len(entries) - 1
    return [Piece(text if i == last else "", llama_token(e, text if i == last else _token_text(e)))
            for i, e in enumerate(entries)]


def llama_pieces(obj: dict[str, Any]) -> list[Piece]:
    """A ``/completion`` stream chunk (or a whole non-streamed answer) as pieces."""
    text = obj.get("content", "")
    if not isinstance(text, str):
        raise StreamError("the server sent a chunk whose content is not text")
    probs = obj.get("completion_probabilities") or []
    ids = obj.get("tokens") if isinstance(obj.get("tokens"), list) else []
    if probs:
        pieces = _entry_pieces(probs, text)
    elif ids and not obj.get("stop"):  # no probabilities asked for: ids only
        pieces = [Piece(text if i == len(ids) - 1 else "",
                        TokenInfo(int(t), text if i == len(ids) - 1 else "", None, None))
                  for i, t in enumerate(ids)]
    else:
        pieces = [Piece(text)] if text else []
    if obj.get("stop"):
        timings = obj.get("timings") if isinstance(obj.get("timings"), dict) else {}
        finish = _LLAMA_FINISH.get(str(obj.get("stop_type", "")), "length")
        pieces.append(Piece(finish=finish, timings={
            "prompt_tokens": timings.get("prompt_n", obj.get("tokens_evaluated", 0)),
            "prompt_tokens_per_s": timings.get("prompt_per_second", 0.0),
            "generated_tokens_per_s": timings.get("predicted_per_second", 0.0),
            "prompt_ms": timings.get("prompt_ms", 0.0)}))
    return pieces


# --- OpenAI-compatible /v1/completions (vLLM) ------------------------------------------------

def _openai_id(token: str) -> tuple[int, str]:
    """vLLM's ``return_tokens_as_token_ids`` spells tokens "token_id:123"."""
    if token.startswith("token_id:") and token[9:].isdigit():
        return int(token[9:]), ""
    return UNKNOWN_ID, token


def openai_pieces(obj: dict[str, Any], *, has_stop_strings: bool = False) -> list[Piece]:
    """A ``/v1/completions`` chunk: ``choices[0]`` with ``text``, ``logprobs`` and
    ``finish_reason``. Logprobs come in the legacy shape (``tokens``, ``token_logprobs``,
    ``top_logprobs`` as {token: logprob}: vLLM) or as a ``content`` list of {id, token, bytes,
    logprob, top_logprobs} (llama.cpp's server and others following OpenAI's newer shape).
    Raw probabilities only (before the samplers)."""
    choices = obj.get("choices")
    if not isinstance(choices, list):
        if "usage" in obj:
            return []
        raise StreamError("the server sent a completion chunk without choices")
    if not choices:
        return []
    choice = choices[0]
    if not isinstance(choice, dict):
        raise StreamError("the server sent a malformed choice")
    text = choice.get("text", "")
    if not isinstance(text, str):
        raise StreamError("the server sent a chunk whose text is not text")
    lp = choice.get("logprobs") or {}
    tokens = lp.get("tokens") or [] if isinstance(lp, dict) else []
    logprobs = lp.get("token_logprobs") or [] if isinstance(lp, dict) else []
    tops = lp.get("top_logprobs") or [] if isinstance(lp, dict) else []
    content = lp.get("content") if isinstance(lp, dict) else None
    if content is not None and not isinstance(content, list):
        raise StreamError("the server sent malformed logprobs")
    pieces = _entry_pieces(content, text) if content else []
    for i, tok in enumerate(tokens):
        if not isinstance(tok, str):
            raise StreamError("the server sent a malformed token")
        tid, ttext = _openai_id(tok)
        last = i == len(tokens) - 1
        alts = []
        top = tops[i] if i < len(tops) and isinstance(tops[i], dict) else {}
        for name, value in top.items():
            aid, atext = _openai_id(str(name))
            alts.append(TokenAlternative(aid, atext, None, _prob(value)))
        raw = _prob(logprobs[i]) if i < len(logprobs) else None
        piece_text = text if last else ""
        pieces.append(Piece(piece_text, TokenInfo(tid, piece_text if last else ttext, None, raw,
                                                   _sorted(alts))))
    if not tokens and not content and text:  # no logprobs asked for: one chunk is one token
        pieces.append(Piece(text, TokenInfo(UNKNOWN_ID, text, None, None)))
    reason = choice.get("finish_reason")
    if reason:
        stop_reason = choice.get("stop_reason")
        finish = {"length": "length"}.get(reason)
        if finish is None:  # "stop": an EOS token, or a stop string (vLLM names it)
            finish = "stop" if (isinstance(stop_reason, str) or
                                (stop_reason is None and has_stop_strings and
                                 "stop_reason" not in choice)) else "eos"
        usage = obj.get("usage") if isinstance(obj.get("usage"), dict) else {}
        pieces.append(Piece(finish=finish,
                            timings={"prompt_tokens": usage.get("prompt_tokens", 0)}))
    return pieces


# --- Ollama /api/generate --------------------------------------------------------------------

def ollama_pieces(obj: dict[str, Any], *, has_stop_strings: bool = False) -> list[Piece]:
    """An ``/api/generate`` NDJSON line: ``response`` text, ``logprobs`` (a list of
    {token, logprob, bytes, top_logprobs}) when asked, ``done`` / ``done_reason`` and the
    ``*_count`` / ``*_duration`` (nanoseconds) timings on the last line."""
    text = obj.get("response", "")
    if not isinstance(text, str):
        raise StreamError("the server sent a line whose response is not text")
    entries = obj.get("logprobs") or []
    if not isinstance(entries, list):
        raise StreamError("the server sent malformed logprobs")
    pieces = []
    joined = "".join(_token_text(e) for e in entries if isinstance(e, dict))
    for i, entry in enumerate(entries):
        if not isinstance(entry, dict):
            raise StreamError("the server sent malformed logprobs")
        last = i == len(entries) - 1
        own = _token_text(entry)
        piece_text = own if joined == text else (text if last else "")
        alts = [TokenAlternative(UNKNOWN_ID, _token_text(t), None, _prob(t.get("logprob")))
                for t in entry.get("top_logprobs") or [] if isinstance(t, dict)]
        pieces.append(Piece(piece_text, TokenInfo(UNKNOWN_ID, piece_text, None,
                                                  _prob(entry.get("logprob")), _sorted(alts))))
    if not entries and text:  # no logprobs asked for: one line is one token
        pieces.append(Piece(text, TokenInfo(UNKNOWN_ID, text, None, None)))
    if obj.get("done"):
        reason = obj.get("done_reason", "stop")
        # Ollama says "stop" for an end-of-sequence token and for a stop string alike.
        finish = "length" if reason == "length" else ("stop" if has_stop_strings else "eos")
        prompt_ns = obj.get("prompt_eval_duration") or 0
        eval_ns = obj.get("eval_duration") or 0
        n_prompt = obj.get("prompt_eval_count") or 0
        n_eval = obj.get("eval_count") or 0
        pieces.append(Piece(finish=finish, timings={
            "prompt_tokens": n_prompt,
            "prompt_tokens_per_s": n_prompt / (prompt_ns / 1e9) if prompt_ns else 0.0,
            "generated_tokens_per_s": n_eval / (eval_ns / 1e9) if eval_ns else 0.0,
            "prompt_ms": prompt_ns / 1e6}))
    return pieces
