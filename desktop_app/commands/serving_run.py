"""The ``--server`` paths of ``generate text``, ``eval text`` and ``bench text``.

Each uses :class:`desktop_app.backends.remote_text.RemoteClient` on the main thread, as the
local paths use ``Generation``; Ctrl-C closes the request at once and keeps the text so far.
Settings the server has no equivalent for are named on stderr (and under ``server.unsupported``
in ``--json``), never dropped silently.
"""

from __future__ import annotations

import math
import statistics
import sys
import time

from desktop_app.core.errors import ReverieError, UsageError
from desktop_app.core.jobs import CancelToken
from desktop_app.core.serving import API_TITLES, ServerSpec


def _refuse_local_flags(args, defaults: dict) -> None:
    for name, default in defaults.items():
        value = getattr(args, name, None)
        if value != default:
            flag = "--" + name.replace("_", "-")
            raise UsageError(f"{flag} is for local models; the server decides it")


def _client(spec: ServerSpec, cancel: CancelToken, quiet: bool):
    from desktop_app.backends.remote_text import RemoteClient  # noqa: PLC0415

    status = None if quiet else (lambda msg: print(f"note: {msg}", file=sys.stderr))
    return RemoteClient(spec, cancel, status=status)


def generate_on_server(args, spec: ServerSpec, settings, prompt: str) -> int:
    from desktop_app.backends.remote_text import RemoteGeneration  # noqa: PLC0415
    from desktop_app.commands.generate_text import (consume, print_json, print_summary,
                                                    with_sigint)

    _refuse_local_flags(args, {"precision": "auto", "threads": None, "context_length": None})
    cancel = CancelToken()
    client = _client(spec, cancel, quiet=args.json)
    gen = RemoteGeneration(client, prompt, settings, max_tokens=args.max_tokens,
                           stop=tuple(args.stop), variants=args.variants, chat=args.chat,
                           system=args.system)
    if not args.json:
        print(f"seed: {gen.seed} ({API_TITLES[gen.info.api]}: {gen.info.model})",
              file=sys.stderr)
        for name, value, reason in gen.mapped.unsupported:
            print(f"note: not sent: {name} = {value!r} ({API_TITLES[gen.info.api]}: {reason})",
                  file=sys.stderr)
    streaming = not args.json and args.variants == 1
    try:
        with_sigint(cancel, lambda: consume(gen, stream=streaming))
    except ReverieError:
        if streaming and gen.first_token_s is not None:
            sys.stdout.write("\n")  # the text so far stays on its own line(s)
            sys.stdout.flush()
        raise
    results = gen.results
    if args.json:
        objs = [r.to_json() for r in results]
        print_json(objs, gen, {"name": gen.info.model, "sha256": ""},
                   {"server": gen.report()})
    else:
        print_summary(args, results)
    return 130 if any(r.finish_reason == "cancelled" for r in results) else 0


# --- eval text --server ----------------------------------------------------------------------

def score_on_server(client, text: str) -> tuple[float, int, bool]:
    """(natural-log likelihood, tokens scored, whether the first token went unscored) of
    ``text`` through an OpenAI-compatible server's ``echo`` + ``logprobs`` (vLLM)."""
    info = client.info()
    if info.api != "openai":
        raise UsageError(f"a {API_TITLES[info.api]} cannot report the log-probabilities of a "
                         f"given text (no echo of prompt logprobs), so eval text --server "
                         f"needs an OpenAI-compatible server such as vLLM")
    answer = client._post("/v1/completions", {
        "model": info.model, "prompt": text, "max_tokens": 1, "echo": True, "logprobs": 0,
        "temperature": 0.0})
    try:
        choice = answer["choices"][0]
        logprobs = choice["logprobs"]["token_logprobs"]
        n_prompt = int(answer["usage"]["prompt_tokens"])
    except (KeyError, IndexError, TypeError, ValueError):
        raise ReverieError("the server's echo answer has no prompt log-probabilities; does it "
                           "support echo with logprobs?") from None
    scored = [lp for lp in logprobs[:n_prompt] if isinstance(lp, (int, float))]
    if any(not math.isfinite(lp) or lp > 1e-6 for lp in scored):
        raise ReverieError("the server sent an invalid log-probability")
    return float(sum(scored)), len(scored), len(scored) < n_prompt


def eval_on_server(args, spec: ServerSpec, docs: list[str]) -> int:
    import json  # noqa: PLC0415

    _refuse_local_flags(args, {"precision": "fp32", "threads": None, "context": None})
    cancel = CancelToken()
    client = _client(spec, cancel, quiet=args.json)
    start = time.perf_counter()
    nll = tokens = unscored = 0
    for doc in docs:
        ll, n, skipped = score_on_server(client, doc)
        nll -= ll
        tokens += n
        unscored += skipped
    n_bytes = sum(len(d.encode("utf-8")) for d in docs)
    bpb = nll / math.log(2) / max(n_bytes, 1)
    seconds = time.perf_counter() - start
    model = client.info().model
    if args.json:
        print(json.dumps({"bits_per_byte": bpb, "tokens": tokens, "bytes": n_bytes,
                          "files": len(docs), "context": None,
                          "model": {"name": model, "sha256": ""},
                          "server": {"url": spec.url, "api": "openai",
                                     "files_with_first_token_unscored": unscored},
                          "seconds": round(seconds, 2)}))
    else:
        note = (f"; the first token of {unscored} file(s) has no log-probability (no BOS)"
                if unscored else "")
        print(f"{model} on {spec.url}: {bpb:.4f} bits per byte over {n_bytes:,} bytes "
              f"({tokens:,} tokens, {len(docs)} files, one pass each){note} in "
              f"{seconds:.1f} s")
    return 0


# --- bench text --server ---------------------------------------------------------------------

def bench_on_server(args, spec: ServerSpec) -> int:
    """Time generation on the server: the client's time to first token beside the server's
    own prompt time, and tokens/s by the client's clock and the server's."""
    from desktop_app.backends.remote_text import RemoteGeneration  # noqa: PLC0415
    from desktop_app.core.sampling import SamplerSettings  # noqa: PLC0415

    _refuse_local_flags(args, {"precision": None, "compare": False})
    cancel = CancelToken()
    client = _client(spec, cancel, quiet=False)
    words = "the quick brown fox jumps over a lazy dog and runs far away ".split()
    rows = []
    for round_ in range(args.rounds):
        # A new first word each round: the server's prompt cache must not skip the prefill.
        prompt = f"{round_ + 1}. " + " ".join(words[i % len(words)]
                                              for i in range(args.prompt_tokens - 2))
        gen = RemoteGeneration(client, prompt, SamplerSettings(seed=1), max_tokens=args.new_tokens,
                               top_alternatives=0)
        t0 = time.perf_counter()
        for _step in gen.steps():
            pass
        wall = time.perf_counter() - t0
        r = gen.results[0]
        if r.finish_reason == "cancelled":
            return 130
        rows.append((gen.first_token_s or wall, r.prompt_tokens, r.prompt_tokens_per_s,
                     r.generated_tokens_per_s, len(r.tokens) / max(wall, 1e-9)))
    med = [statistics.median(col) for col in zip(*rows)]
    info = client.info()
    print(f"{info.model} on {spec.url} ({API_TITLES[info.api]}), {args.rounds} round(s), "
          f"medians:")
    print(f"  time to first token (client): {med[0] * 1000:.1f} ms for {med[1]:.0f} prompt "
          f"tokens")
    if med[2]:
        print(f"  prompt: {med[2]:.1f} tok/s (server's clock)")
    if med[3]:
        print(f"  generation: {med[3]:.1f} tok/s (server's clock), {med[4]:.1f} tok/s "
              f"end to end (client's clock, prompt included)")
    return 0
