"""``reverie bench text --model DIR``: time prompt processing and generation on a model folder.

Prints prompt tokens/s, generated tokens/s, peak RSS and the memory-bandwidth bound for
Reverie, and with ``--compare`` the same for Hugging Face ``transformers.generate()`` (when
transformers is installed) with the ratios. Runs are interleaved subprocesses
(see :mod:`desktop_app.ml.text.bench`).
"""

from __future__ import annotations

import argparse
import sys

from desktop_app.commands import options as opt
from desktop_app.core.errors import ReverieError


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--model", type=opt.text, default="reverie-stories", metavar="NAME_OR_DIR",
                        help="model name or folder (default: reverie-stories)")
    parser.add_argument("--prompt-tokens", type=opt.int_in(1, 32768), default=128, metavar="N")
    parser.add_argument("--new-tokens", type=opt.int_in(1, 32768), default=256, metavar="N")
    parser.add_argument("--threads", type=opt.THREADS, default=1, metavar="N",
                        help="CPU threads for every tool (default 1)")
    parser.add_argument("--rounds", type=opt.int_in(1, 100), default=1, metavar="N",
                        help="interleaved rounds; the best of each tool is kept (default 1)")
    parser.add_argument("--precision", action="append", choices=("fp32", "bf16", "int8"), default=None,
                        help="precision(s) to time Reverie at (repeatable; default fp32)")
    parser.add_argument("--compare", action="store_true",
                        help="also time transformers.generate() on the same folder (fp32)")


def run(args: argparse.Namespace) -> int:
    from desktop_app.commands.generate_text import resolve_text_model
    from desktop_app.ml.text import bench

    folder = resolve_text_model(args.model)
    precisions = tuple(args.precision or ["fp32"])
    runs = [("reverie", p) for p in precisions]
    if args.compare:
        runs.append(("transformers", "fp32"))
    best = bench.compare(folder, runs, rounds=args.rounds, prompt_tokens=args.prompt_tokens,
                         new_tokens=args.new_tokens, threads=args.threads,
                         log=lambda msg: print(msg, file=sys.stderr))
    if all("error" in res for res in best.values()):
        raise ReverieError(f"the benchmark failed: {next(iter(best.values()))['error']}")
    print(bench.report(best, folder, prompt_tokens=args.prompt_tokens,
                       new_tokens=args.new_tokens, threads=args.threads))
    return 0
