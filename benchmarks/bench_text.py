"""Text generation speed: Reverie vs Hugging Face transformers.generate() on GPT-2-small weights.

Creates a random GPT-2-small-sized model (124M parameters) with transformers, saves it as
safetensors in a temporary folder, then runs Reverie (fp32, bf16 and int8 by default) and
transformers (fp32) interleaved in subprocesses: prompt 128 tokens, 256 new tokens, 1 thread.
Prints prompt tokens/s, generated tokens/s, peak RSS, the ratios and the memory-bandwidth
bound. Takes a few minutes; run it on a quiet machine.

    .venv/bin/python benchmarks/bench_text.py [--rounds 2] [--threads 1] [--precisions fp32,int8]
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

from desktop_app.ml.text import bench


def make_gpt2_small(folder: Path) -> None:
    import torch
    import transformers

    torch.manual_seed(0)
    model = transformers.GPT2LMHeadModel(transformers.GPT2Config())  # 124M, vocab 50257
    model.save_pretrained(folder, safe_serialization=True)
    bench.write_placeholder_tokenizer(folder, model.config.vocab_size)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--rounds", type=int, default=1)
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--prompt-tokens", type=int, default=128)
    p.add_argument("--new-tokens", type=int, default=256)
    p.add_argument("--precisions", default="fp32,bf16,int8",
                   help="Reverie precisions to time (transformers always runs fp32)")
    p.add_argument("--model", default=None, help="use this folder instead of random GPT-2")
    args = p.parse_args()
    with tempfile.TemporaryDirectory(prefix="reverie-bench-") as tmp:
        folder = Path(args.model) if args.model else Path(tmp) / "gpt2-small-random"
        if not args.model:
            print("creating random GPT-2-small weights with transformers ...", flush=True)
            make_gpt2_small(folder)
        precisions = [p.strip() for p in args.precisions.split(",") if p.strip()]
        runs = [("reverie", precisions[0]), ("transformers", "fp32")]
        runs += [("reverie", p) for p in precisions[1:]]
        best = bench.compare(folder, runs, rounds=args.rounds, prompt_tokens=args.prompt_tokens,
                             new_tokens=args.new_tokens, threads=args.threads)
        print(bench.report(best, folder, prompt_tokens=args.prompt_tokens,
                           new_tokens=args.new_tokens, threads=args.threads))


if __name__ == "__main__":
    main()
