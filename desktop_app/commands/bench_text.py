"""``reverie bench text --model NAME``: time prompt processing and generation on a model.

Prints prompt tokens/s, generated tokens/s, peak RSS and the memory-bandwidth bound for
Reverie at each ``--precision``, and with ``--compare`` the same for Hugging Face
``transformers.generate()`` (fp32, the same file; when transformers is installed) and for
llama.cpp through llama-cpp-python (a GGUF model, when the optional ``bench`` extra is
installed), the ratios, and the mean KL divergence of each quantized precision from the
fp32 model on held-out story text. ``--threads 1 --threads 2`` repeats everything per thread count.
Runs are interleaved subprocesses (see :mod:`desktop_app.ml.text.bench`); speeds are medians.
``--server URL`` times a serving engine instead: time to first token and tokens/s by the
client's clock beside the server's own.
"""

from __future__ import annotations

import argparse
import importlib.util
import sys

from desktop_app.commands import options as opt
from desktop_app.commands.text_source import add_server_arguments, server_spec
from desktop_app.core.errors import ReverieError
from desktop_app.core.paths import STORY_MODEL
from desktop_app.core.textgen import PRECISIONS, precision_arg


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--model", type=opt.text, default=None, metavar="NAME_OR_DIR",
                        help=f"model name, folder or GGUF file (default: {STORY_MODEL}); "
                             "with --server, the server's model name")
    parser.add_argument("--prompt-tokens", type=opt.int_in(1, 32768), default=128, metavar="N")
    parser.add_argument("--new-tokens", type=opt.int_in(1, 32768), default=256, metavar="N")
    parser.add_argument("--threads", type=opt.THREADS, action="append", default=None,
                        metavar="N", help="CPU threads for every tool; repeat (--threads 1 "
                                          "--threads 2) to time each count (default 1)")
    parser.add_argument("--rounds", type=opt.int_in(1, 100), default=1, metavar="N",
                        help="interleaved rounds; medians are reported (default 1)")
    parser.add_argument("--precision", action="append", type=precision_arg,
                        metavar="{auto,fp32,bf16,int8,int4}",
                        choices=PRECISIONS, default=None, help="precision(s) to time Reverie at (repeatable; "
                                           "default auto: the file's own)")
    parser.add_argument("--compile", action=argparse.BooleanOptionalAction, default=True,
                        help="compile Reverie's decode step ahead of time (AOTInductor) before timing "
                             "(default; --no-compile times the eager path)")
    parser.add_argument("--compare", action="store_true",
                        help="also time transformers (fp32) and llama.cpp (GGUF, when "
                             "llama-cpp-python is installed) and print the KL divergence")
    add_server_arguments(parser)


def run(args: argparse.Namespace) -> int:
    spec = server_spec(args)
    if spec is not None:
        from desktop_app.commands.serving_run import bench_on_server  # noqa: PLC0415

        return bench_on_server(args, spec)
    from desktop_app.commands.generate_text import resolve_text_model
    from desktop_app.ml.text import bench

    folder = resolve_text_model(args.model or STORY_MODEL)
    precisions = tuple(dict.fromkeys(args.precision or ["auto"]))
    runs = [("reverie", p) for p in precisions]
    if args.compare:
        runs.append(("transformers", "fp32"))
        if folder.is_file() and importlib.util.find_spec("llama_cpp") is not None:
            runs.append(("llamacpp", "file"))
        elif folder.is_file():
            print("llama-cpp-python is not installed: llama.cpp is left out "
                  "(pip install 'reverie[bench]')", file=sys.stderr)
    log = lambda msg: print(msg, file=sys.stderr)  # noqa: E731
    failed = True
    for threads in dict.fromkeys(args.threads or [1]):
        best = bench.compare(folder, runs, rounds=args.rounds, prompt_tokens=args.prompt_tokens,
                             new_tokens=args.new_tokens, threads=threads,
                             compile=args.compile, log=log)
        failed = failed and all("error" in res for res in best.values())
        print(bench.report(best, folder, prompt_tokens=args.prompt_tokens,
                           new_tokens=args.new_tokens, threads=threads), flush=True)
    if failed:
        raise ReverieError(f"the benchmark failed: {next(iter(best.values()))['error']}")
    if args.compare:
        for p in precisions:
            if p == "fp32":
                continue
            res = bench.run_worker("kl", folder, prompt_tokens=1, new_tokens=1, threads=1,
                                   precision=p)
            if "error" in res:
                print(f"KL reverie {p}: failed: {res['error']}")
            else:
                print(f"KL(fp32 || reverie {p} = {res['precision']}) over {res['positions']} "
                      f"held-out story tokens: {res['kl']:.2e} (top-1 agreement "
                      f"{res['top1_agree']:.1%})")
    return 0

