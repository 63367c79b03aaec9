"""Check Reverie's training loop against a published result: nanoGPT's CPU Shakespeare run.

nanoGPT (Karpathy, ``config/train_shakespeare_char.py`` with the README's CPU overrides
``--block_size=64 --batch_size=12 --n_layer=4 --n_head=4 --n_embd=128 --max_iters=2000
--lr_decay_iters=2000 --dropout=0.0``) reaches a validation loss of about 1.88 nats/char on
tiny Shakespeare (first 90 % train, last 10 % validation, 65-character vocabulary).

Here the same data, split, sizes and optimiser settings (AdamW lr 1e-3 -> 1e-4 cosine, 100
warm-up steps, betas 0.9/0.99, weight decay 0.1, clip 1.0) run through
``desktop_app.ml.training.loop.train``. ``--arch gpt2`` (default) uses Reverie's GPT-2 model
(learned positions, LayerNorm, GELU MLP, tied embeddings: nanoGPT's architecture, but with
biases); ``--arch llama`` uses Reverie's Llama (RMSNorm, RoPE, SwiGLU of width 344 so the
parameter count matches, ~0.80M).

Usage: python benchmarks/nanogpt_shakespeare.py [--arch gpt2|llama] [--iters 2000] [--threads 1]
Prints the validation loss (mean over the whole validation split in windows of 64, and
nanoGPT-style over 20 random batches) beside the published 1.88, plus the time taken.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from desktop_app.ml.text.llama import LlamaConfig, LlamaForCausalLM
from desktop_app.ml.text.train_data import TokenWindows
from desktop_app.ml.training.loop import TrainConfig, train

ROOT = Path(__file__).resolve().parents[1]
DATA_CANDIDATES = [ROOT / "shared/data/text/tinyshakespeare/input.txt",
                   ROOT.parent / "shared/data/text/tinyshakespeare/input.txt"]
PUBLISHED = 1.88


class CharTask:
    """Character-level next-character prediction (a TrainTask for the shared loop)."""

    def __init__(self, text: str, context: int = 64, eval_iters: int = 20, batch: int = 12,
                 arch: str = "gpt2"):
        self.arch = arch
        chars = sorted(set(text))
        self.stoi = {c: i for i, c in enumerate(chars)}
        ids = np.array([self.stoi[c] for c in text], dtype=np.uint16)
        n = int(0.9 * len(ids))
        self.train_ids, self.val_ids = ids[:n], ids[n:]
        self.train = TokenWindows(self.train_ids, context)
        self.val = TokenWindows(self.val_ids, context)
        self.vocab = len(chars)
        self.context = context
        # fixed random validation batches (nanoGPT's estimate_loss draws eval_iters of them)
        g = torch.Generator().manual_seed(1234)
        self._eval = [self.val.random_batch(g, batch) for _ in range(eval_iters)]

    def identity(self) -> dict:
        return {"kind": "char-shakespeare", "vocab": self.vocab, "context": self.context,
                "arch": self.arch}

    def build_model(self):
        if self.arch == "gpt2":
            from desktop_app.ml.text.gpt2 import GPT2Config, GPT2LMHeadModel
            return GPT2LMHeadModel(GPT2Config(vocab_size=self.vocab, n_positions=self.context,
                                              n_embd=128, n_layer=4, n_head=4,
                                              activation_function="gelu"))
        cfg = LlamaConfig(vocab_size=self.vocab, hidden_size=128, intermediate_size=344,
                          num_hidden_layers=4, num_attention_heads=4,
                          max_position_embeddings=self.context, tie_word_embeddings=True)
        return LlamaForCausalLM(cfg)

    def train_batch(self, gen, batch_size, part, nparts):
        return self.train.random_batch(gen, batch_size, part, nparts)

    def loss(self, model, batch):
        x, y = batch
        logits = model(x)
        return F.cross_entropy(logits.reshape(-1, logits.shape[-1]), y.reshape(-1))

    def batch_units(self, batch) -> int:
        return int(batch[0].numel())

    def eval_batches(self):
        return self._eval

    def sample(self, model, step):
        return None

    def export(self, model, out_dir):
        pass


@torch.no_grad()
def full_val_loss(model, task: CharTask, batch: int = 64) -> float:
    """Mean loss over every character of the validation split (non-overlapping windows of 64,
    each predicted character conditioned on the preceding ones inside its window)."""
    model.eval()
    ids = torch.from_numpy(task.val_ids.astype(np.int64))
    T = task.context
    n = (len(ids) - 1) // T
    x = ids[: n * T].view(n, T)
    y = ids[1: n * T + 1].view(n, T)
    total = 0.0
    for i in range(0, n, batch):
        logits = model(x[i:i + batch])
        total += float(F.cross_entropy(logits.reshape(-1, logits.shape[-1]),
                                       y[i:i + batch].reshape(-1), reduction="sum"))
    return total / (n * T)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", type=Path, default=None)
    ap.add_argument("--iters", type=int, default=2000)
    ap.add_argument("--arch", choices=["gpt2", "llama"], default="gpt2")
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--out", type=Path, default=None, help="run folder (default: a temp dir)")
    ap.add_argument("--json", type=Path, default=None, help="also write the figures here")
    a = ap.parse_args(argv)
    torch.set_num_threads(a.threads)
    data = a.data or next((p for p in DATA_CANDIDATES if p.is_file()), None)
    if data is None or not data.is_file():
        print("tiny Shakespeare not found (../shared/data/text/tinyshakespeare/input.txt)",
              file=sys.stderr)
        return 1
    task = CharTask(data.read_text(encoding="utf-8"), arch=a.arch)
    cfg = TrainConfig(steps=a.iters, batch_size=12, lr=1e-3, min_lr=1e-4, warmup_steps=100,
                      weight_decay=0.1, beta1=0.9, beta2=0.99, grad_clip=1.0,
                      eval_every=250, checkpoint_every=500, log_every=100, seed=1337,
                      device="cpu")
    out = a.out or Path(tempfile.mkdtemp(prefix="nanogpt-shakespeare-"))

    def show(ev):
        if ev.kind == "step":
            print(f"iter {ev.step}: loss {ev.loss:.4f}, {ev.tokens_per_s:,.0f} chars/s, "
                  f"ETA {ev.eta_s / 60:.1f} min", flush=True)
        elif ev.kind == "eval":
            print(f"iter {ev.step}: val loss (20 batches) {ev.val_loss:.4f}", flush=True)

    t0 = time.perf_counter()
    res = train(task, cfg, out, callbacks=[show], resume=True, export=False)
    seconds = time.perf_counter() - t0
    model = task.build_model()
    from desktop_app.ml.training import state
    state.load_checkpoint(out, model, None)
    full = full_val_loss(model, task)
    nparams = sum(p.numel() for p in model.parameters())
    figures = {"arch": a.arch, "iters": res.step, "params": nparams, "val_loss_20_batches": res.val_losses[-1][1],
               "val_loss_full_split": full, "published_val_loss": PUBLISHED,
               "seconds_this_process": round(seconds, 1), "threads": a.threads,
               "train_loss_last_100": float(np.mean(res.losses[-100:])) if res.losses else None}
    print(json.dumps(figures, indent=2))
    print(f"Reverie loop ({a.arch}): val loss {full:.4f} nats/char over the whole validation split "
          f"({res.val_losses[-1][1]:.4f} on 20 random batches); nanoGPT published ~{PUBLISHED}"
          f"; ratio {full / PUBLISHED:.3f}; {nparams / 1e6:.2f}M parameters")
    if a.json:
        a.json.parent.mkdir(parents=True, exist_ok=True)
        a.json.write_text(json.dumps(figures, indent=2) + "\n")
    return 0 if math.isfinite(full) else 1


if __name__ == "__main__":
    sys.exit(main())
