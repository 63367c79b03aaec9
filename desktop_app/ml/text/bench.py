"""Text generation speed: Reverie beside Hugging Face ``transformers.generate()`` on one folder.

Each measurement runs in its own subprocess (``python -m desktop_app.ml.text.bench --worker
TOOL ...``) so every tool gets its own peak RSS and a clean heap; the tools alternate
(Reverie, transformers, Reverie, transformers, ...) so background load hits both alike. Every
worker warms up first, then times a prompt of ``prompt_tokens`` random token ids (the same ids
for both tools) and ``new_tokens`` generated tokens with EOS disabled, with the Balanced
sampler settings (transformers: temperature 0.8, top-k 40, top-p 0.95 — its nearest match).

The memory-bandwidth bound is ``bandwidth / bytes of weights read per generated token``
(every matrix once; embedding tables that are only indexed are not counted).
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

BANDWIDTH_GBPS = 14.0  # this machine's memory read bandwidth when quiet (GB/s)


def weight_bytes_per_token(folder: Path, precision: str = "fp32") -> int:
    """Bytes of weights one decode step reads (from the safetensors headers or the GGUF
    tensor table; no loading). A GGUF file at int4/int8/auto counts its own block bytes."""
    from desktop_app.core.model_registry import read_safetensors_header
    from desktop_app.ml.text.loader import find_weight_files

    from desktop_app.ml.text import adapter, lora
    if adapter.is_adapter(folder):   # its base's weights; on the fly, the adapter's too
        base_bytes = weight_bytes_per_token(adapter.base_of(Path(folder)), precision)
        merged = precision in ("fp32", "bf16")
        return base_bytes + (0 if merged else (Path(folder) / lora.WEIGHTS_FILE).stat().st_size)
    if Path(folder).is_file():
        from desktop_app.ml.text.gguf_file import GGUFFile

        gf = GGUFFile(folder)
        tied = gf.config["tie_word_embeddings"]
        elem = {"fp32": 4, "bf16": 2}.get(precision)
        return sum(t.n_elements * elem if elem else t.raw.nbytes
                   for name, t in gf.tensors.items()
                   if tied or "embed_tokens" not in name)
    if precision in ("auto", "int4"):
        precision = "int8" if precision == "int4" else "fp32"

    cfg = json.loads((Path(folder) / "config.json").read_text(encoding="utf-8"))
    tied = cfg.get("tie_word_embeddings", cfg.get("model_type") == "gpt2")
    elem = {"fp32": 4, "bf16": 2, "int8": 1}[precision]
    total = 0
    for path in find_weight_files(Path(folder)):
        for name, entry in read_safetensors_header(path).items():
            if name == "__metadata__" or name.endswith((".attn.bias", ".attn.masked_bias")):
                continue
            only_indexed = name.endswith("wpe.weight") or (
                not tied and name.endswith(("embed_tokens.weight", "wte.weight")))
            if not only_indexed:
                n = 1
                for d in entry["shape"]:
                    n *= d
                total += n * elem
    return total


def write_placeholder_tokenizer(folder: Path, vocab_size: int) -> None:
    """A word-level tokenizer.json with tokens ``t0 .. t{V-1}`` (token ids matter, not text),
    for benchmarking random-weight models that come without a tokenizer."""
    from tokenizers import Tokenizer, models, pre_tokenizers

    vocab = {f"t{i}": i for i in range(vocab_size)}
    tok = Tokenizer(models.WordLevel(vocab, unk_token="t0"))
    tok.pre_tokenizer = pre_tokenizers.WhitespaceSplit()
    tok.save(str(Path(folder) / "tokenizer.json"))


def _prompt(vocab_size: int, n: int) -> list[int]:
    import numpy as np

    return np.random.default_rng(1234).integers(0, vocab_size, size=n).tolist()


def _peak_rss() -> int:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024  # Linux reports kB


def measure_reverie(folder: Path, prompt_tokens: int, new_tokens: int, precision: str,
                    compile: bool = True) -> dict:
    """Reverie's own generation loop (sampler included); with ``compile`` the decode step is
    compiled first (in the background, waited for: the steady state is what is timed)."""
    from desktop_app.core.sampling import SamplerSettings
    from desktop_app.ml.text import compiled
    from desktop_app.ml.text.generate import Generation
    from desktop_app.ml.text.loader import load_text_model

    t = time.perf_counter()
    lm = load_text_model(folder, precision=precision)
    load_s = time.perf_counter() - t
    compile_s = None
    compiled.set_enabled(compile)
    if compile and lm.start_compile():
        if not lm.compiler.wait(1800):
            raise RuntimeError(f"compiling the decode step failed: {lm.compiler.error}")
        compile_s = lm.compiler.compile_s
    lm.eos_ids = ()  # always generate the full budget
    ids = _prompt(lm.model.config.vocab_size, prompt_tokens)
    settings = SamplerSettings(seed=7)
    Generation(lm, ids[:16], settings, max_tokens=8).run()  # warm-up
    (r,) = Generation(lm, ids, settings, max_tokens=new_tokens).run()
    return {"prompt_tokens_per_s": r.prompt_tokens_per_s,
            "generated_tokens_per_s": r.generated_tokens_per_s,
            "generated": len(r.token_ids), "load_s": load_s, "compile_s": compile_s}


def measure_transformers(folder: Path, prompt_tokens: int, new_tokens: int,
                         precision: str) -> dict:
    import torch
    try:
        import transformers
    except ImportError:
        raise RuntimeError("transformers is not installed here (pip install transformers); "
                           "it is only the yardstick of --compare") from None

    transformers.logging.set_verbosity_error()
    if precision != "fp32":
        raise ValueError("transformers is timed at fp32 only")
    t = time.perf_counter()
    folder = Path(folder)
    if folder.is_file():  # a GGUF file: transformers dequantizes it to float32 itself
        model = transformers.AutoModelForCausalLM.from_pretrained(
            folder.parent, gguf_file=folder.name, dtype=torch.float32).eval()
    else:  # use_safetensors: never let transformers fall back to unpickling a .bin file
        model = transformers.AutoModelForCausalLM.from_pretrained(
            folder, use_safetensors=True).eval()  # float32
    load_s = time.perf_counter() - t
    ids = torch.tensor([_prompt(model.config.vocab_size, prompt_tokens)])
    eos = model.config.eos_token_id or 0
    if isinstance(eos, list):
        eos = eos[0]

    def gen(x, n):
        t0 = time.perf_counter()
        out = model.generate(x, attention_mask=torch.ones_like(x), do_sample=True,
                             temperature=0.8, top_k=40, top_p=0.95, max_new_tokens=n,
                             min_new_tokens=n, pad_token_id=eos)
        return time.perf_counter() - t0, out.shape[1] - x.shape[1]

    torch.manual_seed(7)
    gen(ids[:, :16], 8)  # warm-up
    t_prompt, _ = gen(ids, 1)  # prefill + one token
    t_all, n = gen(ids, new_tokens)
    return {"prompt_tokens_per_s": prompt_tokens / t_prompt,
            "generated_tokens_per_s": (n - 1) / max(t_all - t_prompt, 1e-9),
            "generated": n, "load_s": load_s}


def measure_llamacpp(path: Path, prompt_tokens: int, new_tokens: int, precision: str,
                     threads: int = 1) -> dict:
    """llama.cpp through llama-cpp-python (an optional benchmark extra), on the GGUF file
    itself: the prompt in one batch, then one token per call (greedy from its logits)."""
    try:
        import llama_cpp
    except ImportError:
        raise RuntimeError("llama-cpp-python is not installed (pip install "
                           "'reverie[bench]'); it is only a yardstick") from None
    if not Path(path).is_file():
        raise ValueError("llama.cpp runs GGUF files only")
    t = time.perf_counter()
    llm = llama_cpp.Llama(model_path=str(path), n_ctx=prompt_tokens + new_tokens + 16,
                          n_batch=512, n_threads=threads, n_threads_batch=threads,
                          verbose=False, logits_all=False)
    load_s = time.perf_counter() - t
    ids = _prompt(llm.n_vocab(), prompt_tokens)
    llm.eval(ids[:16])  # warm-up
    llm.reset()
    t0 = time.perf_counter()
    llm.eval(ids)
    t1 = time.perf_counter()
    tok = int(llm.scores[llm.n_tokens - 1].argmax())
    t2 = time.perf_counter()
    for _ in range(new_tokens - 1):
        llm.eval([tok])
        tok = int(llm.scores[llm.n_tokens - 1].argmax())
    t3 = time.perf_counter()
    return {"prompt_tokens_per_s": prompt_tokens / (t1 - t0),
            "generated_tokens_per_s": (new_tokens - 1) / max(t3 - t2, 1e-9),
            "generated": new_tokens, "load_s": load_s}


def _worker(args: argparse.Namespace) -> None:
    import torch

    torch.set_num_threads(args.threads)
    try:
        if args.worker == "kl":
            from desktop_app.ml.text.int4_quality import mean_kl

            out = mean_kl(Path(args.model), args.precision)
        elif args.worker == "llamacpp":
            out = measure_llamacpp(Path(args.model), args.prompt_tokens, args.new_tokens,
                                   args.precision, args.threads)
        elif args.worker == "reverie":
            out = measure_reverie(Path(args.model), args.prompt_tokens, args.new_tokens,
                                  args.precision, compile=not args.no_compile)
        else:
            out = measure_transformers(Path(args.model), args.prompt_tokens, args.new_tokens,
                                       args.precision)
    except Exception as exc:  # noqa: BLE001 - one line for the parent instead of a traceback
        print(f"ERROR {exc}", flush=True)
        raise SystemExit(1) from None
    out["peak_rss"] = _peak_rss()
    print("RESULT " + json.dumps(out), flush=True)


def run_worker(tool: str, folder: Path, *, prompt_tokens: int, new_tokens: int, threads: int,
               precision: str, timeout_s: float = 1200, compile: bool = True) -> dict[str, Any]:
    cmd = [sys.executable, "-m", "desktop_app.ml.text.bench", "--worker", tool, "--model",
           str(folder), "--prompt-tokens", str(prompt_tokens), "--new-tokens", str(new_tokens),
           "--threads", str(threads), "--precision", precision,
           *([] if compile else ["--no-compile"])]
    env = {**os.environ, "OMP_NUM_THREADS": str(threads), "TOKENIZERS_PARALLELISM": "false"}
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout_s, env=env)
    for line in proc.stdout.splitlines():
        if line.startswith("RESULT "):
            return json.loads(line[7:])
        if line.startswith("ERROR "):
            return {"error": line[6:]}
    tail = (proc.stderr or proc.stdout).strip().splitlines()[-1:] or ["no output"]
    return {"error": tail[0]}


def compare(folder: Path, runs, *, rounds: int = 1, prompt_tokens: int = 128,
            new_tokens: int = 256, threads: int = 1, compile: bool = True,
            log=print) -> dict[str, dict]:
    """Run every (tool, precision) of ``runs`` ``rounds`` times, interleaved (so background
    load hits all alike); each one's prompt and generation speeds are the medians of its
    rounds (peak RSS the largest)."""
    got: dict[str, list[dict]] = {}
    for r in range(rounds):
        for tool, precision in runs:
            key = f"{tool} {precision}"
            log(f"round {r + 1}/{rounds}, {threads} thread(s): {key} ...")
            res = run_worker(tool, folder, prompt_tokens=prompt_tokens, new_tokens=new_tokens,
                             threads=threads, precision=precision, compile=compile)
            if "error" in res:
                log(f"  {key} failed: {res['error']}")
            got.setdefault(key, []).append(res)
    out: dict[str, dict] = {}
    for key, results in got.items():
        ok = [r for r in results if "error" not in r]
        if not ok:
            out[key] = results[-1]
            continue
        out[key] = {"prompt_tokens_per_s": _median([r["prompt_tokens_per_s"] for r in ok]),
                    "generated_tokens_per_s": _median([r["generated_tokens_per_s"] for r in ok]),
                    "peak_rss": max(r["peak_rss"] for r in ok), "rounds": len(ok)}
    return out


def _median(xs: list[float]) -> float:
    xs = sorted(xs)
    n = len(xs)
    return xs[n // 2] if n % 2 else (xs[n // 2 - 1] + xs[n // 2]) / 2


REFERENCES = ("transformers fp32", "llamacpp file")


def report(best: dict[str, dict], folder: Path, *, prompt_tokens: int, new_tokens: int,
           threads: int) -> str:
    lines = [f"model: {folder}  prompt {prompt_tokens} tokens, {new_tokens} new tokens, "
             f"{threads} thread(s), batch 1, medians of interleaved rounds",
             f"{'tool':<22}{'prompt tok/s':>14}{'gen tok/s':>12}{'peak RSS':>11}"
             f"{'bound tok/s':>13}{'of bound':>10}"]
    for key, res in best.items():
        precision = key.split()[-1]
        if "error" in res:
            lines.append(f"{key:<22}  failed: {res['error']}")
            continue
        bound = BANDWIDTH_GBPS * 1e9 / weight_bytes_per_token(
            folder, "auto" if precision == "file" else precision)
        g = res["generated_tokens_per_s"]
        lines.append(f"{key:<22}{res['prompt_tokens_per_s']:>14.1f}{g:>12.2f}"
                     f"{res['peak_rss'] / 2**20:>8.0f} MB{bound:>13.1f}{g / bound:>9.0%}")
    for ref_key in REFERENCES:
        ref = best.get(ref_key)
        if not ref or "error" in ref:
            continue
        for key, res in best.items():
            if key.startswith("reverie") and "error" not in res:
                lines.append(
                    f"ratio {key} / {ref_key}: generation "
                    f"{res['generated_tokens_per_s'] / ref['generated_tokens_per_s']:.2f}x, "
                    f"prompt {res['prompt_tokens_per_s'] / ref['prompt_tokens_per_s']:.2f}x")
    lines.append(f"bound = {BANDWIDTH_GBPS:.0f} GB/s / bytes of weights read per token "
                 f"({weight_bytes_per_token(folder, 'fp32') / 1e6:.0f} MB at fp32)")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description="one timed run in this process (used by compare)")
    p.add_argument("--worker", choices=("reverie", "transformers", "llamacpp", "kl"),
                   required=True)
    p.add_argument("--model", required=True)
    p.add_argument("--prompt-tokens", type=int, default=128)
    p.add_argument("--new-tokens", type=int, default=256)
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--precision", choices=("auto", "fp32", "bf16", "int8", "int4", "file"),
                   default="fp32")
    p.add_argument("--no-compile", action="store_true", help="time Reverie's eager decode")
    _worker(p.parse_args(argv))


if __name__ == "__main__":
    main()
