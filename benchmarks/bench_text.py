"""Text generation speed and quality: Reverie vs transformers vs llama.cpp on SmolLM2 Q4_1.

By default runs ``reverie bench text --model smollm2-135m-instruct --precision int4
--compare --threads 1 --threads 2 --rounds 3``: Reverie (int4 weights from the GGUF file), Hugging Face
transformers (fp32, the same file dequantized) and llama.cpp (llama-cpp-python, when the
optional ``bench`` extra is installed) in interleaved subprocesses; prompt 128 tokens, 128 new
tokens; medians, ratios, and the mean KL divergence of the int4 model from fp32 over held-out
story text. Extra arguments go to ``reverie bench text``. ``--random-gpt2`` times a random
GPT-2-small folder instead (Reverie fp32/bf16/int8/int4 vs transformers).

    .venv/bin/python benchmarks/bench_text.py [--rounds 5] [--threads 1]
    ATEN_CPU_CAPABILITY=avx2 .venv/bin/python benchmarks/bench_text.py --threads 1   # AVX2 row
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

from desktop_app.core.paths import WRITING_MODEL

DEFAULTS = ["--model", WRITING_MODEL, "--precision", "int4", "--compare",
            "--threads", "1", "--threads", "2", "--rounds", "3", "--new-tokens", "128"]


def make_gpt2_small(folder: Path) -> None:
    import torch
    import transformers

    from desktop_app.ml.text import bench

    torch.manual_seed(0)
    model = transformers.GPT2LMHeadModel(transformers.GPT2Config())  # 124M, vocab 50257
    model.save_pretrained(folder, safe_serialization=True)
    bench.write_placeholder_tokenizer(folder, model.config.vocab_size)


def main() -> int:
    from desktop_app.cli import main as cli_main

    extra = sys.argv[1:]
    if "--random-gpt2" in extra:
        extra.remove("--random-gpt2")
        with tempfile.TemporaryDirectory(prefix="reverie-bench-") as tmp:
            folder = Path(tmp) / "gpt2-small-random"
            print("creating random GPT-2-small weights with transformers ...", flush=True)
            make_gpt2_small(folder)
            args = ["bench", "text", "--model", str(folder), "--compare"]
            for p in ("fp32", "bf16", "int8", "int4"):
                args += ["--precision", p]
            return cli_main(args + extra)
    args = list(DEFAULTS)
    for flag in ("--threads", "--rounds", "--new-tokens", "--model", "--prompt-tokens"):
        while flag in extra and flag in args:  # the caller's values win
            i = args.index(flag)
            del args[i:i + 2]
    if any(a == "--precision" for a in extra):
        i = args.index("--precision")
        del args[i:i + 2]
    return cli_main(["bench", "text", *args, *extra])


if __name__ == "__main__":
    sys.exit(main())
