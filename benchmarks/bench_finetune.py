"""LoRA fine-tuning on a laptop CPU: held-out bits/byte before/after, throughput, memory, peft.

Usage:
  python benchmarks/bench_finetune.py [--base smollm2-135m-instruct] [--minutes 4]
      [--text FILE] [--bytes 40000] [--offset 0] [--threads 2] [--skip-throughput]
      [--train-args "--lora-dropout 0.1 ..."]

1. Data: ``--bytes`` of one public-domain text from ``--offset`` (default: the first 40 kB of
   Shakespeare's As You Like It from ../shared/data/text), cut at a paragraph: 80 % for
   training, the last 20 % held out (``--val-list``; never trained on). Used as written.
2. Throughput: tokens/s of the run's own training step (``LoRATextTask.loss`` + backward +
   AdamW, the command's windows of 512 tokens a step and adapters) for float32 vs bf16
   products and 1 vs 2 torch threads, in this process, median of 4 steps after a warm-up.
3. The real command, ``reverie train text --lora --init-from BASE --max-minutes M``, in a child
   process; its peak resident memory (ru_maxrss of the child) and its held-out figures.
4. Held-out bits per byte with Reverie's loader + evaluator (``text_eval.bits_per_byte``, the
   rule and default context (2,048) of ``reverie eval text``) for the base and for the adapter
   folder, and with transformers + ``peft.PeftModel.from_pretrained(base, adapter)`` on the
   same GGUF/HF base.
5. The ways to run base + adapter — float32 merged at load, float32 LoRA layers on the fly,
   the packed base with the adapter on the fly (``auto``, the Write room's default; the
   adapter compressed at load, which ``bench_adapter_decode.py`` measures), merged then
   requantized to int4 — with load time, greedy decode tokens/s and held-out bits/byte.
The machine is shared: the load average is printed with every figure.
"""

from __future__ import annotations

import argparse
from contextlib import nullcontext
import json
import os
import resource
import shlex
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from desktop_app.core.paths import WRITING_MODEL  # noqa: E402  (spelled once)
# the window `reverie eval text` scores a file with by default (SmolLM2 allows 8,192): the
# figures printed are the ones a user gets from that command
from desktop_app.commands.eval_text import DEFAULT_CONTEXT as EVAL_CONTEXT  # noqa: E402
DATA = ROOT.parent / "shared" / "data" / "text" / "shakespeare" / "as-you-like-it.txt"


def load() -> str:
    return "load average %.1f %.1f %.1f" % os.getloadavg()


def make_data(text_file: Path, nbytes: int, tmp: Path, offset: int = 0
              ) -> tuple[Path, Path, str, str]:
    raw = text_file.read_bytes()[offset:offset + nbytes].decode("utf-8", "ignore")
    if offset:  # start at a paragraph
        raw = raw[raw.find("\n\n") + 2:]
    cut = raw.rfind("\n\n", 0, int(len(raw) * 0.8))
    cut = cut if cut > len(raw) // 2 else int(len(raw) * 0.8)
    folder = tmp / "data"
    folder.mkdir()
    (folder / "a-train.txt").write_text(raw[:cut], "utf-8")
    (folder / "b-heldout.txt").write_text(raw[cut:], "utf-8")
    (tmp / "val.txt").write_text("b-heldout.txt\n", "utf-8")
    return folder, tmp / "val.txt", raw[:cut], raw[cut:]


def throughput(base: Path, train_text: str, steps: int = 4) -> list[tuple[str, int, float]]:
    """Tokens/s of the run's own training step (``LoRATextTask.loss`` with the command's
    default adapters, window count and recomputation rule, chunked loss) + backward + AdamW,
    windows of 512 tokens, for float32 and bf16 products, 1 and 2 threads (median of
    ``steps`` after one warm-up step, which also fills the lower-block cache as the first
    epoch does). The bf16 step is also timed with attention through SDPA's flash kernel
    (``bf16-sdpa``), the path before llama._attend_bf16_math, side by side. On a CPU without
    bf16 matrix units the command trains in float32; there emulated bf16 is timed once, on two
    threads only (a step takes minutes), to show why."""
    import numpy as np
    import torch

    from desktop_app.commands.train_text_lora import (DEFAULT_BATCH, LORA_ALPHA, LORA_LAYERS,
                                                      LORA_RANK, recomputes)
    from desktop_app.core.cpu_features import cpu_has_bf16
    from desktop_app.ml.text import llama
    from desktop_app.ml.text.train_data import TokenWindows
    from desktop_app.ml.training.lora_task import LoRATextTask, load_base

    rows = []
    math_limit = llama._MATH_SCORES_BYTES
    native = cpu_has_bf16()
    paths = ((False, "fp32"), (True, "bf16-sdpa"), (True, "bf16"))
    if not native:
        print("  no bf16 matrix units (AVX512-BF16/AMX) on this CPU: the command trains in "
              "float32 here; emulated bf16 is timed once, on 2 threads", flush=True)
        paths = ((False, "fp32"), (True, "bf16"))
    for bf16, label in paths:
        llama._MATH_SCORES_BYTES = 0 if label == "bf16-sdpa" else math_limit
        model, tok = load_base(base)
        ids = np.asarray([0] + tok.encode(train_text, add_special_tokens=False))
        task = LoRATextTask(base, str(base), model.config.to_hf(), tok, TokenWindows(ids, 512),
                            [], rank=LORA_RANK, alpha=LORA_ALPHA, bf16=bf16,
                            data_fingerprint="bench",
                            sample_prompt="", base_model=model, lora_layers=LORA_LAYERS,
                            recompute=recomputes(DEFAULT_BATCH, 512))
        torch.manual_seed(0)
        model = task.build_model()
        opt = torch.optim.AdamW([p for p in model.parameters() if p.requires_grad], lr=1e-4)
        batch = task.train_batch(torch.Generator().manual_seed(0), DEFAULT_BATCH, 0, 1)
        emulated = bf16 and not native
        for threads in ((2,) if emulated else (1, 2)):
            torch.set_num_threads(threads)
            times = []
            for i in range((1 if emulated else steps) + 1):
                t0 = time.perf_counter()
                ctx = torch.autocast("cpu", dtype=torch.bfloat16) if bf16 else nullcontext()
                with ctx:
                    loss = task.loss(model, batch)
                loss.backward()
                opt.step()
                opt.zero_grad(set_to_none=True)
                if i:
                    times.append(time.perf_counter() - t0)
            rate = task.batch_units(batch) / statistics.median(times)
            rows.append((label, threads, rate))
            print(f"  {label:9s} {threads} thread(s): {rate:6.1f} tokens/s ({load()})",
                  flush=True)
        del model, opt, task
    llama._MATH_SCORES_BYTES = math_limit
    rates = {(label, threads): rate for label, threads, rate in rows}
    for threads in ((1, 2) if native else ()):
        print(f"  bf16 attention as two bf16 products vs SDPA, {threads} thread(s): "
              f"{rates[('bf16', threads)] / rates[('bf16-sdpa', threads)]:.2f}x", flush=True)
    return rows


def adapter_speed(adapter: Path, heldout: str, tokens: int = 64) -> None:
    """The ways to run base + adapter: load time, decode tokens/s (greedy, the engine's own
    ``Generation``, eager) and held-out bits per byte. float32 merged at load (``reverie eval
    text``'s reference), float32 with LoRA layers on the fly, the packed base at its own
    precision with the adapter on the fly (``auto``: the Write room's default), and merged then
    requantized to int4 (what ``--precision int4`` did before the on-the-fly path)."""
    import torch

    from desktop_app.core.sampling import SamplerSettings
    from desktop_app.ml import checkpoints as ck
    from desktop_app.ml.text import lora
    from desktop_app.ml.text.adapter import base_of, load_adapter_model
    from desktop_app.ml.text.bpe import EOT_ID
    from desktop_app.ml.text.generate import Generation, prompt_ids
    from desktop_app.ml.text.loader import load_text_model
    from desktop_app.ml.text.quant import quantize_model
    from desktop_app.ml.training.text_eval import bits_per_byte

    def lora_layers():
        lm = load_text_model(base_of(adapter), precision="fp32")
        cfg = lora.read_adapter_config(adapter)
        lora.apply_lora(lm.model, cfg["r"], cfg["lora_alpha"],
                        targets=tuple(cfg["target_modules"]), layers=cfg["layers_to_transform"])
        state = ck.load_tensors(adapter / lora.WEIGHTS_FILE)
        with torch.no_grad():
            for name, m in lora.lora_modules(lm.model).items():
                for part in ("lora_A", "lora_B"):
                    getattr(m, part).weight.copy_(state[f"{lora.PEFT_PREFIX}{name}.{part}.weight"])
        return lm

    def requantized():
        lm = load_adapter_model(adapter, precision="fp32")
        quantize_model(lm.model, lm.arch, bits=4)
        return lm

    for label, make in (("fp32, merged at load", lambda: load_adapter_model(adapter)),
                        ("fp32, LoRA layers on the fly", lora_layers),
                        ("auto: the packed base + the adapter on the fly",
                         lambda: load_adapter_model(adapter, precision="auto")),
                        ("merged, then requantized to int4", requantized)):
        t0 = time.perf_counter()
        lm = make()
        loaded = time.perf_counter() - t0
        ids = prompt_ids(lm, "It was a dark and stormy night; the rain fell in torrents")
        settings = SamplerSettings(temperature=0.0, seed=0)
        with torch.no_grad():
            Generation(lm, ids, settings, max_tokens=8).run()  # warm-up
            res = Generation(lm, ids, settings, max_tokens=tokens).run()[0]
            bpb = bits_per_byte(lm.model, lm.tokenizer.tok, [heldout], EVAL_CONTEXT,
                                bos_id=EOT_ID, batch=1, check_roundtrip=False).bits_per_byte
        print(f"  {label}: load {loaded:.2f} s, decode {res.generated_tokens_per_s:.1f} "
              f"tokens/s, held-out {bpb:.4f} bits/byte ({load()})", flush=True)
        del lm


def reverie_bpb(model_path: Path, heldout: str) -> float:
    from desktop_app.ml.text.bpe import EOT_ID
    from desktop_app.ml.text.loader import load_text_model
    from desktop_app.ml.training.text_eval import bits_per_byte

    lm = load_text_model(model_path, precision="fp32")
    return bits_per_byte(lm.model, lm.tokenizer.tok, [heldout], EVAL_CONTEXT, bos_id=EOT_ID,
                         batch=4, check_roundtrip=False).bits_per_byte


def peft_bpb(base: Path, adapter: Path, heldout: str) -> tuple[float, float]:
    """(base, base + adapter) bits/byte with transformers + peft on the same scoring rule."""
    import torch
    from peft import PeftModel
    from transformers import AutoModelForCausalLM

    from desktop_app.ml.text.bpe import EOT_ID
    from desktop_app.ml.text.loader import load_text_model
    from desktop_app.ml.training.text_eval import bits_per_byte

    if base.is_file():  # a .gguf: transformers' own GGUF loader
        hf = AutoModelForCausalLM.from_pretrained(str(base.parent), gguf_file=base.name,
                                                  dtype=torch.float32)
    else:
        hf = AutoModelForCausalLM.from_pretrained(str(base), dtype=torch.float32)
    tok = load_text_model(base, precision="fp32").tokenizer.tok

    class Logits(torch.nn.Module):  # text_eval wants model(ids) -> logits
        def __init__(self, m):
            super().__init__()
            self.m = m

        def forward(self, ids):
            return self.m(input_ids=ids).logits

    before = bits_per_byte(Logits(hf), tok, [heldout], EVAL_CONTEXT, bos_id=EOT_ID,
                           batch=4, check_roundtrip=False).bits_per_byte
    peft_model = PeftModel.from_pretrained(hf, str(adapter))
    after = bits_per_byte(Logits(peft_model), tok, [heldout], EVAL_CONTEXT, bos_id=EOT_ID,
                          batch=4, check_roundtrip=False).bits_per_byte
    return before, after


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--base", default=WRITING_MODEL)
    ap.add_argument("--text", type=Path, default=DATA)
    ap.add_argument("--bytes", type=int, default=40_000)
    ap.add_argument("--offset", type=int, default=0, help="skip this many bytes (front matter)")
    ap.add_argument("--minutes", type=float, default=4.0)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--out", type=Path, default=None, help="keep the adapter here")
    ap.add_argument("--skip-throughput", action="store_true")
    ap.add_argument("--train-args", default="", metavar="ARGS",
                    help="more options for the train command, e.g. \"--lora-dropout 0.1\"")
    args = ap.parse_args()

    from desktop_app.ml.text.adapter import resolve_model

    base = resolve_model(args.base)
    tmp = Path(tempfile.mkdtemp(prefix="bench-finetune-"))
    data, val, train_text, heldout = make_data(args.text, args.bytes, tmp, args.offset)
    print(f"base {args.base} ({base}); text {args.text.name}: {len(train_text.encode()):,} "
          f"bytes training, {len(heldout.encode()):,} held out; {os.cpu_count()} CPUs; "
          f"{load()}", flush=True)
    if not args.skip_throughput:
        from desktop_app.commands.train_text_lora import DEFAULT_BATCH
        print(f"training throughput, context 512, {DEFAULT_BATCH} window(s) a step (the "
              f"command's default adapters):")
        throughput(base, train_text)
    out = args.out or tmp / "adapter"
    cmd = [sys.executable, "-m", "desktop_app", "train", "text", "--lora", "--init-from",
           args.base, "--data", str(data), "--val-list", str(val), "--out", str(out),
           "--max-minutes", str(args.minutes), "--threads", str(args.threads),
           "--progress", "json", *shlex.split(args.train_args)]
    print("$ reverie " + " ".join(cmd[3:]), flush=True)
    t0 = time.perf_counter()
    proc = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True)
    wall = time.perf_counter() - t0
    peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 2**20  # KiB -> GiB
    if proc.returncode:
        print(proc.stdout[-3000:], proc.stderr[-3000:])
        return 1
    events = [json.loads(line) for line in proc.stdout.splitlines() if line.startswith("{")]
    evals = [e for e in events if e.get("kind") == "eval"]
    steps = [e for e in events if e.get("kind") == "step"]
    done = events[-1]
    rates = [e["tokens_per_s"] for e in steps if e.get("tokens_per_s")]
    print(f"run: {done.get('step')} steps, {wall:.0f} s wall (training "
          f"{done.get('elapsed_s', 0):.0f} s), median {statistics.median(rates):.0f} tokens/s, "
          f"peak memory {peak:.2f} GiB ({load()})")
    print("held-out bits/byte during the run: " + ", ".join(
        f"step {e['step']}: {e['bits_per_byte']:.4f}" for e in evals))
    rb, ra = reverie_bpb(base, heldout), reverie_bpb(out, heldout)
    print(f"Reverie eval: base {rb:.4f} -> adapter {ra:.4f} bits/byte "
          f"({(ra - rb) / rb * 100:+.1f} %; target <= -10 %)")
    pb, pa = peft_bpb(base, out, heldout)
    print(f"transformers + peft: base {pb:.4f} -> adapter {pa:.4f} bits/byte; "
          f"Reverie vs peft on the adapter: {abs(ra - pa) / pa * 100:.2f} % apart (target < 2 %)")
    print(f"peak memory of the training process: {peak:.2f} GiB (target < 3 GB)")
    if not args.skip_throughput:
        print("base + adapter, the ways to run them:")
        adapter_speed(out, heldout)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
