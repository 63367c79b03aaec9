"""Text generation on a serving engine (llama.cpp server, vLLM, Ollama), behind the text jobs.

The engine runs these exactly as it runs local models: a ``TextGenerationJob`` whose
``server`` is set streams ``TokenChunk`` events from the server's SSE (llama.cpp, OpenAI) or
NDJSON (Ollama) stream; ``LoadTextModelJob`` contacts the server and detects its API;
``ServerNextTokenJob`` asks for the next token's top-N probabilities for the inspector. The
CLI uses :class:`RemoteClient` directly, as it uses ``Generation`` for local models.

Every failure is a one-line error (the engine's ``Failed``); a stream that ends without the
server's final message is "server gone mid-stream". Stop closes the socket at once (see
:mod:`desktop_app.backends.remote_http`). Nothing here writes the document: text reaches the
room only as events, so a failure can never harm it.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any, Callable, Iterator

from desktop_app.backends import remote_http as http
from desktop_app.core.errors import ReverieError, UsageError
from desktop_app.core.jobs import CancelToken, JobCancelled
from desktop_app.core.sampling import SamplerSettings, fresh_seed
from desktop_app.core.serving import (API_TITLES, MAX_TOP_LOGPROBS, REPRODUCIBILITY,
                                      MappedSettings, ServerSpec, map_settings, read_api_key)
from desktop_app.core.serving_stream import (Piece, StreamError, llama_pieces, llama_token,
                                             ndjson_events, ollama_pieces, openai_pieces,
                                             sse_events)
from desktop_app.core.textgen import GenerationResult, TextModelInfo, TokenInfo

DEFAULT_OLLAMA_CONTEXT = 4096  # Ollama's default num_ctx when /api/show does not say


@dataclass(frozen=True)
class ServerInfo:
    api: str
    model: str
    context: int
    has_chat_template: bool
    build: str = ""


@dataclass(frozen=True)
class RemoteStep:
    variant: int
    token: TokenInfo | None
    text: str


_INFO: dict[tuple, ServerInfo] = {}  # (url, api, model) -> what the server said


class RemoteClient:
    """One conversation with a server, on the thread that uses it (worker or CLI)."""

    def __init__(self, spec: ServerSpec, token: CancelToken | None = None,
                 status: Callable[[str], None] | None = None):
        self.spec = spec
        self.token = token or CancelToken()
        self.status = status
        self.key = read_api_key(spec)

    # -- plumbing ---------------------------------------------------------------------------
    def _get(self, path: str, retry: bool = True) -> Any:
        return http.get_json(self.spec, path, token=self.token, api_key=self.key,
                             status=self.status, retry=retry)

    def _post(self, path: str, body: dict) -> Any:
        return http.post_json(self.spec, path, body, token=self.token, api_key=self.key,
                              status=self.status)

    # -- what is there ----------------------------------------------------------------------
    def info(self, refresh: bool = False) -> ServerInfo:
        """Contact the server, detect its API where ``api`` is "auto", and pick its model."""
        key = (self.spec.url, self.spec.api, self.spec.model)
        if not refresh and key in _INFO:
            return _INFO[key]
        api = self.spec.api
        if api == "auto":
            info = self._detect()
        else:
            path, parse = _PROBES[api]
            info = parse(self, self._get(path))
            if info is None:
                raise ReverieError(f"{self.spec.url}{path} does not answer like "
                                   f"{API_TITLES[api]}; is --api right?")
        _INFO[key] = info
        return info

    def _detect(self) -> ServerInfo:
        first = True  # only the first probe retries: the later ones only ask "is it you?"
        for api in ("llama.cpp", "ollama", "openai"):  # Ollama and llama.cpp serve /v1 too
            path, parse = _PROBES[api]
            try:
                data = self._get(path, retry=first)
            except http.ServerError as exc:
                if exc.status in (401, 403):
                    raise
                data = None
            except http.ConnectionLost:
                raise
            except ReverieError:  # answered, but not with JSON
                data = None
            first = False
            info = parse(self, data) if data is not None else None
            if info is not None:
                return info
        raise ReverieError(f"{self.spec.url} answers, but not as a llama.cpp server, vLLM "
                           f"(OpenAI-compatible) or Ollama; pass --api to say which")

    def _llama(self, props: Any) -> ServerInfo | None:
        if not isinstance(props, dict) or "default_generation_settings" not in props:
            return None
        settings = props.get("default_generation_settings") or {}
        ctx = settings.get("n_ctx") or (settings.get("params") or {}).get("n_ctx") or 0
        name = str(props.get("model_alias") or props.get("model_path") or "llama.cpp model")
        return ServerInfo("llama.cpp", name.replace("\\", "/").rsplit("/", 1)[-1], int(ctx),
                          bool(props.get("chat_template")), str(props.get("build_info", "")))

    def _openai(self, models: Any) -> ServerInfo | None:
        data = models.get("data") if isinstance(models, dict) else None
        if not isinstance(data, list):
            return None
        ids = [m.get("id") for m in data if isinstance(m, dict) and m.get("id")]
        entry = self._choose(ids, "OpenAI-compatible")
        meta = next((m for m in data if isinstance(m, dict) and m.get("id") == entry), {})
        ctx = meta.get("max_model_len")
        return ServerInfo("openai", entry, ctx if isinstance(ctx, int) else 0, False)

    def _ollama(self, tags: Any) -> ServerInfo | None:
        models = tags.get("models") if isinstance(tags, dict) else None
        if not isinstance(models, list):
            return None
        name = self._choose([m.get("name") for m in models if isinstance(m, dict)], "Ollama")
        ctx = DEFAULT_OLLAMA_CONTEXT
        try:
            shown = self._post("/api/show", {"model": name})
            for k, v in (shown.get("model_info") or {}).items():
                if k.endswith(".context_length") and isinstance(v, int) and v > 0:
                    ctx = v
        except (ReverieError, AttributeError):
            pass  # an older Ollama: keep its default context
        return ServerInfo("ollama", name, ctx, True)

    def _choose(self, names: list, kind: str) -> str:
        names = [str(n) for n in names if n]
        if self.spec.model:
            if self.spec.model in names or not names:
                return self.spec.model
            raise http.ServerError(f"the {kind} server has no model {self.spec.model!r}; it "
                                   f"has: {', '.join(names[:10])}", 404)
        if len(names) == 1:
            return names[0]
        if not names:
            raise ReverieError(f"the {kind} server has no model loaded")
        raise UsageError(f"the {kind} server has {len(names)} models; name one with --model "
                         f"(one of: {', '.join(names[:10])})")

    def model_info(self, refresh: bool = True) -> TextModelInfo:
        info = self.info(refresh=refresh)
        return TextModelInfo(
            name=f"{info.model} ({API_TITLES[info.api]})", path=self.spec.url, arch="server",
            parameters=0, max_context=info.context or DEFAULT_OLLAMA_CONTEXT,
            precision="server", has_chat_template=info.has_chat_template,
            server_api=info.api, reproducibility=REPRODUCIBILITY[info.api])

    # -- requests ---------------------------------------------------------------------------
    def mapped(self, settings: SamplerSettings) -> MappedSettings:
        info = self.info()
        return map_settings(settings, info.api, context=info.context or None)

    def _prompt(self, info: ServerInfo, prompt: str, chat: bool, system: str | None) -> str:
        if not chat:
            return prompt
        if info.api == "openai":
            raise UsageError("--chat needs the server's chat template, which /v1/completions "
                             "does not apply; use a llama.cpp or Ollama server, or write the "
                             "template into the prompt")
        if info.api == "llama.cpp":
            messages = ([{"role": "system", "content": system}] if system else []) + [
                {"role": "user", "content": prompt}]
            answer = self._post("/apply-template", {"messages": messages})
            if not isinstance(answer, dict) or not isinstance(answer.get("prompt"), str):
                raise StreamError("the server's /apply-template answer has no prompt")
            return answer["prompt"]
        return prompt  # Ollama applies its template itself (raw: false)

    def request(self, prompt: str, settings: SamplerSettings, *, max_tokens: int,
                stop: tuple[str, ...] = (), top_n: int = 5, chat: bool = False,
                system: str | None = None, stream: bool = True, post: bool = False
                ) -> tuple[str, dict[str, Any]]:
        """(path, body) of one completion request with ``settings`` (seed included)."""
        info = self.info()
        params = self.mapped(settings).params
        text = self._prompt(info, prompt, chat, system)
        n = min(int(top_n), MAX_TOP_LOGPROBS[info.api])
        if info.api == "llama.cpp":
            return "/completion", {"prompt": text, "n_predict": max_tokens, "stream": stream,
                                   "n_probs": n, "post_sampling_probs": post,
                                   "stop": list(stop), "cache_prompt": True, **params}
        if info.api == "openai":
            body = {"model": info.model, "prompt": text, "max_tokens": max_tokens,
                    "stream": stream, "stop": list(stop) or None, **params}
            if n > 0:
                body["logprobs"] = n
            if stream:
                body["stream_options"] = {"include_usage": True}
            return "/v1/completions", body
        body = {"model": info.model, "prompt": text, "stream": stream, "raw": not chat,
                "options": {"num_predict": max_tokens, "stop": list(stop), **params}}
        if chat and system:
            body["system"] = system
        if n > 0:
            body["logprobs"], body["top_logprobs"] = True, n
        return "/api/generate", body

    def stream(self, path: str, body: dict, *, has_stop: bool) -> Iterator[Piece]:
        """The pieces of one streamed answer; raises ConnectionLost if it ends early."""
        api = self.info().api
        with http.open_request(self.spec, "POST", path, body, token=self.token,
                               api_key=self.key, status=self.status,
                               accept="text/event-stream" if api != "ollama"
                               else "application/x-ndjson") as resp:
            events = ndjson_events(resp.lines()) if api == "ollama" else sse_events(resp.lines())
            tokens = 0
            try:
                for obj in events:
                    if api == "llama.cpp":
                        pieces = llama_pieces(obj)
                    elif api == "openai":
                        pieces = openai_pieces(obj, has_stop_strings=has_stop)
                    else:
                        pieces = ollama_pieces(obj, has_stop_strings=has_stop)
                    for piece in pieces:
                        tokens += piece.token is not None
                        yield piece
                        if piece.finish:
                            return
            except http.ConnectionLost as exc:
                raise http.ConnectionLost(f"{exc} after {tokens} tokens") from None
        raise http.ConnectionLost(f"the server at {self.spec.url} closed the stream mid-way, "
                                  f"after {tokens} tokens, without finishing")


_PROBES = {"llama.cpp": ("/props", RemoteClient._llama),
           "openai": ("/v1/models", RemoteClient._openai),
           "ollama": ("/api/tags", RemoteClient._ollama)}


class RemoteGeneration:
    """Like ``ml.text.generate.Generation``, on a server: iterate :meth:`steps`, then read
    :attr:`results`. Variants run one after another with seeds ``seed + i``."""

    def __init__(self, client: RemoteClient, prompt: str, settings: SamplerSettings, *,
                 max_tokens: int = 200, stop: tuple[str, ...] = (), variants: int = 1,
                 top_alternatives: int = 5, chat: bool = False, system: str | None = None):
        if max_tokens < 1 or variants < 1:
            raise UsageError("max_tokens and variants must be at least 1")
        if settings.seed is None:
            settings = settings.with_seed(fresh_seed())
        self.client, self.prompt, self.settings = client, prompt, settings
        self.seed = int(settings.seed)
        self.max_tokens, self.n_variants = int(max_tokens), int(variants)
        self.stop = tuple(s for s in stop if s)
        self.top_n, self.chat, self.system = int(top_alternatives), chat, system
        self.info = client.info()
        self.mapped = client.mapped(settings)  # validates the seed before anything is sent
        self.results: list[GenerationResult] = []
        self.first_token_s: float | None = None  # request sent -> first token, variant 0
        self.dropped = 0

    def report(self) -> dict[str, Any]:
        """What --json lists about the server: where, which API, what was sent and what not."""
        return {"url": self.client.spec.url, "api": self.info.api, "model": self.info.model,
                **self.mapped.report(), "reproducibility": REPRODUCIBILITY[self.info.api]}

    def steps(self) -> Iterator[RemoteStep]:
        for v in range(self.n_variants):
            settings = self.settings.with_seed((self.seed + v) % 2**32)
            path, body = self.client.request(self.prompt, settings, max_tokens=self.max_tokens,
                                             stop=self.stop, top_n=self.top_n, chat=self.chat,
                                             system=self.system)
            tokens: list[TokenInfo] = []
            text: list[str] = []
            finish, timings = "cancelled", {}
            start = time.perf_counter()
            try:
                for piece in self.client.stream(path, body, has_stop=bool(self.stop)):
                    if piece.finish:
                        finish, timings = piece.finish, piece.timings
                        if piece.text:
                            text.append(piece.text)
                            yield RemoteStep(v, None, piece.text)
                        break
                    if piece.token is not None:
                        if self.first_token_s is None:
                            self.first_token_s = time.perf_counter() - start
                        tokens.append(piece.token)
                    text.append(piece.text)
                    yield RemoteStep(v, piece.token, piece.text)
            except JobCancelled:
                self.results.append(self._result(v, settings, text, tokens, "cancelled", {},
                                                 start))
                return
            self.results.append(self._result(v, settings, text, tokens, finish, timings, start))

    def _result(self, v, settings, text, tokens, finish, timings, start) -> GenerationResult:
        elapsed = max(time.perf_counter() - start, 1e-9)
        rate = timings.get("generated_tokens_per_s") or (len(tokens) / elapsed)
        return GenerationResult(
            text="".join(text), token_ids=tuple(t.id for t in tokens), tokens=tuple(tokens),
            finish_reason=finish, dropped_context_tokens=0, settings=settings,
            seed=int(settings.seed), model_name=self.info.model,
            prompt_tokens=int(timings.get("prompt_tokens") or 0),
            prompt_tokens_per_s=float(timings.get("prompt_tokens_per_s") or 0.0),
            generated_tokens_per_s=float(rate), variant=v)


def next_token(client: RemoteClient, text: str, settings: SamplerSettings, top_n: int):
    """The server's top-N for the token after ``text``: raw (before its samplers) and, on
    llama.cpp, after them too (a second request with ``post_sampling_probs``)."""
    from desktop_app.core.textgen_inspect import ServerNextToken  # noqa: PLC0415

    info = client.info()
    if settings.seed is None:
        settings = settings.with_seed(0)
    raw = post = None
    prompt_tokens = 0
    for want_post in ((False, True) if info.api == "llama.cpp" else (False,)):
        path, body = client.request(text, settings, max_tokens=1, top_n=top_n, stream=False,
                                    post=want_post)
        answer = client._post(path, body)
        alts, n = _first_token_alternatives(info.api, answer)
        prompt_tokens = n or prompt_tokens
        if want_post:
            post = alts
        else:
            raw = alts
    return ServerNextToken(url=client.spec.url, text_chars=len(text), raw=raw or (),
                           post=post, api=info.api, prompt_tokens=prompt_tokens,
                           max_context=info.context)


def _first_token_alternatives(api: str, answer: Any):
    if not isinstance(answer, dict):
        raise StreamError("the server's answer is not a JSON object")
    if api == "llama.cpp":
        probs = answer.get("completion_probabilities") or []
        token = llama_token(probs[0], "") if probs else None
        return (token.alternatives if token else ()), int(answer.get("tokens_evaluated") or 0)
    pieces = openai_pieces(answer) if api == "openai" else ollama_pieces(answer)
    tokens = [p.token for p in pieces if p.token is not None]
    done = [p for p in pieces if p.finish]
    n = int(done[0].timings.get("prompt_tokens") or 0) if done else 0
    return (tokens[0].alternatives if tokens else ()), n


# --- engine handlers -------------------------------------------------------------------------

def _client(job, ctx) -> RemoteClient:
    return RemoteClient(job.server, ctx.token, status=lambda msg: ctx.progress(None, msg))


def run_load(job, ctx) -> TextModelInfo:
    ctx.progress(None, f"Contacting {job.server.url}")
    return _client(job, ctx).model_info(refresh=True)


def run_generation(job, ctx) -> tuple[GenerationResult, ...]:
    from desktop_app.backends.text import emit_steps  # noqa: PLC0415 - shared with local

    client = _client(job, ctx)
    gen = RemoteGeneration(client, job.prompt, job.settings, max_tokens=job.max_tokens,
                           stop=job.stop, variants=job.variants,
                           top_alternatives=job.top_alternatives, chat=job.chat,
                           system=job.system_prompt)
    ctx.progress(None, f"Generating on {job.server.label}")
    emit_steps(job, ctx, gen.steps())
    ctx.token.raise_if_cancelled()
    return tuple(gen.results)


def run_next_token(job, ctx):
    return next_token(_client(job, ctx), job.text, job.settings, job.top_n)
