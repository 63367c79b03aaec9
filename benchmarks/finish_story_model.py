"""Export the built-in story model from its newest checkpoint, measure it, write its model card.

Reads the training run (default ``~/.cache/reverie-train/stories``), writes the Hugging Face
folder ``models/text/reverie-stories/`` (config.json, model.safetensors, tokenizer files,
generation_config.json), then MEASURES: train and held-out loss per token (evenly spaced
windows of the encoded splits), held-out bits per byte over the held-out works (sliding window,
``desktop_app.ml.training.text_eval``), compares them with the character 5-gram Kneser-Ney
baseline (``benchmarks/results/char5gram_stories.json``, written by char_ngram_baseline.py) and
PPMd's ~1.71, generates continuations of three prompts at temperatures 0.7, 1.0 and 1.3 (fixed
seed, Reverie's own generation loop), and writes ``MODEL_CARD.md`` and ``eval.json``.

Usage: python benchmarks/finish_story_model.py [--run DIR] [--max-val-bytes N] [--threads 1]
"""

from __future__ import annotations

import argparse
import calendar
import json
import platform
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "benchmarks"))

from desktop_app.ml import checkpoints as ck  # noqa: E402
from desktop_app.ml.text.bpe import load_tokenizer  # noqa: E402
from desktop_app.ml.text.llama import LlamaConfig, LlamaForCausalLM  # noqa: E402
from desktop_app.ml.text.train_data import TokenWindows, load_corpus  # noqa: E402
from desktop_app.ml.training import state  # noqa: E402
from desktop_app.ml.training.loop import evaluate  # noqa: E402
from desktop_app.ml.training.text_eval import bits_per_byte  # noqa: E402
from desktop_app.ml.training.text_task import TextTask, export_hf  # noqa: E402
from desktop_app.core.paths import STORY_MODEL  # noqa: E402  (spelled once)
from story_card import PROMPTS, TEMPERATURES, write_card  # noqa: E402

SHARED = next((p for p in (ROOT / "shared", ROOT.parent / "shared") if p.is_dir()),
              ROOT.parent / "shared")
SAMPLE_SEED = 20261129
#: (--steps given, step at which that process was stopped with SIGTERM and resumed), in order;
#: the final --steps is the one in TRAIN_COMMAND
RESIZES = [(1800, 43), (1400, 141), (1200, 220), (1000, 340), (1400, 728)]
TRAIN_COMMAND = (
    "OMP_NUM_THREADS=1 reverie train text --data ../shared/data/text/stories "
    "--val-list ../shared/data/text/splits/val_stories.txt "
    "--out ~/.cache/reverie-train/stories --size tiny --steps 1700 --batch-size 16 "
    "--lr 2e-3 --min-lr 2e-4 --warmup 100 --eval-every 100 --eval-batches 8 "
    "--sample-every 300 --checkpoint-every 50 --log-every 10 --seed 1337 --threads 1 --resume")
FINAL_STEPS = 1700


def _losses(model, tok, run: Path, context: int, windows: int) -> tuple[float, float]:
    tr = TokenWindows(np.load(run / "data" / "train.npy", allow_pickle=False), context)
    va = TokenWindows(np.load(run / "data" / "val.npy", allow_pickle=False), context)
    task = TextTask(model.config, tok, tr, va, eval_batches=max(1, windows // 16))
    val = evaluate(task, model, "cpu")
    task._eval = tr.even_batches(max(1, windows // 16), 16)
    train = evaluate(task, model, "cpu")
    return train, val


def _samples(folder: Path, max_tokens: int) -> list[dict]:
    from desktop_app.core.sampling import SamplerSettings
    from desktop_app.ml.text.generate import Generation, prompt_ids
    from desktop_app.ml.text.loader import load_text_model

    lm = load_text_model(folder)
    out = []
    for prompt in PROMPTS:
        for temp in TEMPERATURES:
            settings = SamplerSettings(temperature=temp, top_k=0, top_p=1.0, min_p=0.0,
                                       seed=SAMPLE_SEED)
            gen = Generation(lm, prompt_ids(lm, prompt), settings, max_tokens=max_tokens)
            for _ in gen.steps():
                pass
            out.append({"prompt": prompt, "temperature": temp, "seed": SAMPLE_SEED,
                        "text": gen.results[0].text})
    return out


def _machine() -> str:
    cpu = platform.processor() or "unknown CPU"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    import os
    return f"{cpu}, {os.cpu_count()} cores (shared with other jobs), torch {torch.__version__}"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--run", type=Path, default=Path.home() / ".cache/reverie-train/stories")
    ap.add_argument("--out", type=Path, default=ROOT / "models" / "text" / STORY_MODEL)
    ap.add_argument("--data", default=str(SHARED / "data/text/stories"))
    ap.add_argument("--val-list", default=str(SHARED / "data/text/splits/val_stories.txt"))
    ap.add_argument("--max-val-bytes", type=int, default=0,
                    help="score only the first N/11 bytes of each held-out work (0: all)")
    ap.add_argument("--loss-windows", type=int, default=256)
    ap.add_argument("--sample-tokens", type=int, default=100)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--dtype", choices=["float32", "bfloat16"], default="float32")
    a = ap.parse_args(argv)
    torch.set_num_threads(a.threads)
    t0 = time.time()
    run_info = ck.load_json(a.run / "run.json")
    ident = run_info["identity"]
    cfg = LlamaConfig.from_hf(ident["task"]["model"])
    context = int(ident["task"]["context"])
    model = LlamaForCausalLM(cfg)
    step = state.load_checkpoint(a.run, model, None)
    model.eval()
    meta = ck.load_json(state.latest_dir(a.run) / "state.json")
    tok = load_tokenizer(a.run / "tokenizer.json")
    export_hf(model, tok, a.out, context, getattr(torch, a.dtype))
    print(f"exported step {step} to {a.out}", flush=True)

    train_loss, val_loss = _losses(model, tok, a.run, context, a.loss_windows)
    print(f"train loss {train_loss:.4f}, held-out loss {val_loss:.4f} (per token)", flush=True)
    corpus = load_corpus([a.data], a.val_list)
    docs = [t for _, t in corpus.val]
    if a.max_val_bytes:
        per = max(1, a.max_val_bytes // len(docs))
        docs = [d.encode("utf-8")[:per].decode("utf-8", "ignore") for d in docs]
    bpb = bits_per_byte(model, tok, docs, context, stride=context // 2)
    print(f"held-out bits per byte {bpb.bits_per_byte:.4f} over {bpb.bytes:,} bytes", flush=True)
    base_file = ROOT / "benchmarks/results/char5gram_stories.json"
    baseline = json.loads(base_file.read_text()) if base_file.is_file() else None
    samples = _samples(a.out, a.sample_tokens)
    tokens_seen = step * ident["train"]["batch_size"] * context
    train_tokens = int(np.load(a.run / "data" / "train.npy", mmap_mode="r").shape[0])
    train_bytes = sum(len(t.encode("utf-8")) for _, t in corpus.train)
    created = calendar.timegm(time.strptime(run_info["created"], "%Y-%m-%dT%H:%M:%SZ"))
    ckpt_time = (state.latest_dir(a.run) / "state.json").stat().st_mtime
    # wall clock from the first start of the run: state.json's train_seconds only counts the
    # processes that recorded it, and this run began before that was added
    train_seconds = max(ckpt_time - created, float(meta.get("train_seconds") or 0))
    figures = {
        "step": step, "tokens_seen": tokens_seen, "train_tokens": train_tokens,
        "train_bytes": train_bytes, "train_bytes_per_token": train_bytes / train_tokens,
        "parameters": model.num_parameters(),
        "vocab_size": cfg.vocab_size, "context": context, "train_loss": train_loss,
        "heldout_loss": val_loss, "heldout": bpb.to_json(),
        "heldout_scored": "all" if not a.max_val_bytes else f"first {a.max_val_bytes} bytes",
        "baseline_char5gram_kn_bpb": baseline["bits_per_byte"] if baseline else None,
        "ppmd_bpb": 1.71, "train_wall_seconds": round(train_seconds),
        "machine": _machine(), "weights_dtype": a.dtype,
        "weights_bytes": (a.out / "model.safetensors").stat().st_size,
        "command": TRAIN_COMMAND, "resizes": RESIZES, "final_steps": FINAL_STEPS, "samples": samples,
        "training": {k: ident["train"][k] for k in sorted(ident["train"])},
        "checkpoint_written": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime(ckpt_time)),
        "git": _git_head(),
    }
    ck.save_json(a.out / "eval.json", figures)
    write_card(a.out / "MODEL_CARD.md", figures)
    print(f"wrote {a.out / 'MODEL_CARD.md'} in {time.time() - t0:.0f} s", flush=True)
    return 0


def _git_head() -> str:
    try:
        return subprocess.run(["git", "-C", str(ROOT), "rev-parse", "--short", "HEAD"],
                              capture_output=True, text=True, timeout=10).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return ""


if __name__ == "__main__":
    sys.exit(main())
