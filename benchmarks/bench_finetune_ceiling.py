"""How far can *any* fine-tune take the writing model on a small text? (issue 17's ceiling)

Usage:
  python benchmarks/bench_finetune_ceiling.py [--text FILE] [--offset 0] [--bytes 40000]
      [--lr 5e-5] [--steps 40] [--every 5] [--train embeddings|all] [--threads 2]
      [--bf16 | --no-bf16] [--eval-context 2048]

The same data as ``bench_finetune.py`` (``--bytes`` of one text from ``--offset``, 80 % trained
on, the last 20 % held out), but instead of low-rank adapters every weight of the base is
trained (``--train all``; ``embeddings``: the tied token embeddings only): AdamW (β 0.9/0.95,
no weight decay), warm-up 3 steps then cosine to lr/10, two random windows of 512 tokens a
step, bf16 autocast where the CPU has bf16 units (float32 elsewhere: emulated bf16 is 30 times
slower on AVX2), gradient clipping 1.0, seed 0. Held-out bits per byte with Reverie's
evaluator and ``reverie eval text``'s default window of 2,048 tokens (``--eval-context``; the
figures before session 19 used 512) before the first step and every ``--every`` steps; the
best figure is printed relative to the base's. A full fine-tune has 135M trainable
parameters against the default adapters' 9.8M, so its best held-out figure bounds what an
adapter of the same steps can reach. Not a product path: no checkpoints, nothing written.
"""

from __future__ import annotations

import argparse
import math
import os
import sys
import tempfile
import time
from pathlib import Path

import torch
import torch.nn.functional as F

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))
from bench_finetune import DATA, load, make_data  # noqa: E402
from desktop_app.commands.eval_text import DEFAULT_CONTEXT as EVAL_CONTEXT  # noqa: E402
from desktop_app.core.cpu_features import cpu_has_bf16  # noqa: E402
from desktop_app.core.paths import WRITING_MODEL  # noqa: E402


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--base", default=WRITING_MODEL)
    ap.add_argument("--text", type=Path, default=DATA)
    ap.add_argument("--offset", type=int, default=0)
    ap.add_argument("--bytes", type=int, default=40_000)
    ap.add_argument("--lr", type=float, default=5e-5)
    ap.add_argument("--steps", type=int, default=40)
    ap.add_argument("--every", type=int, default=5)
    ap.add_argument("--train", choices=("all", "embeddings"), default="all")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--bf16", action=argparse.BooleanOptionalAction, default=None,
                    help="bf16 autocast (default: where the CPU has bf16 units)")
    ap.add_argument("--eval-context", type=int, default=EVAL_CONTEXT)
    args = ap.parse_args()
    bf16 = cpu_has_bf16() if args.bf16 is None else args.bf16

    from desktop_app.ml.text.adapter import resolve_model
    from desktop_app.ml.text.bpe import EOT_ID
    from desktop_app.ml.text.loader import load_text_model
    from desktop_app.ml.training.text_eval import bits_per_byte

    torch.manual_seed(0)
    torch.set_num_threads(args.threads)
    with tempfile.TemporaryDirectory() as tmp:
        _, _, train_text, held = make_data(args.text, args.bytes, Path(tmp), args.offset)
    lm = load_text_model(resolve_model(args.base), precision="fp32")
    model, tok = lm.model, lm.tokenizer.tok
    ids = torch.tensor([EOT_ID] + tok.encode(train_text, add_special_tokens=False).ids)
    model.requires_grad_(False)
    for name, p in model.named_parameters():
        p.requires_grad_(args.train == "all" or "embed_tokens" in name)
    params = [p for p in model.parameters() if p.requires_grad]
    print(f"{args.text.name} from byte {args.offset}: {len(train_text)} B trained on "
          f"({len(ids)} tokens), {len(held)} B held out; training {args.train} "
          f"({sum(p.numel() for p in params):,} parameters), lr {args.lr}, "
          f"{'bf16' if bf16 else 'float32'}, scored with windows of {args.eval_context}", flush=True)

    def held_out_bpb() -> float:
        model.eval()
        with torch.no_grad():
            r = bits_per_byte(model, tok, [held], args.eval_context, bos_id=EOT_ID, batch=4,
                              check_roundtrip=False)
        model.train()
        return r.bits_per_byte

    base = best = held_out_bpb()
    print(f"step 0: held-out {base:.4f} bits/byte ({load()})", flush=True)
    opt = torch.optim.AdamW(params, lr=args.lr, weight_decay=0.0, betas=(0.9, 0.95))
    gen = torch.Generator().manual_seed(0)
    ctx, t0 = 512, time.perf_counter()
    model.train()
    for step in range(1, args.steps + 1):
        cosine = 0.1 + 0.9 * 0.5 * (1 + math.cos(math.pi * step / args.steps))
        for group in opt.param_groups:
            group["lr"] = args.lr * min(1.0, step / 3) * cosine
        starts = torch.randint(0, len(ids) - ctx - 1, (2,), generator=gen).tolist()
        x = torch.stack([ids[s:s + ctx] for s in starts])
        y = torch.stack([ids[s + 1:s + ctx + 1] for s in starts])
        with torch.autocast("cpu", dtype=torch.bfloat16, enabled=bf16):
            logits = model(x)
        loss = F.cross_entropy(logits.float().flatten(0, 1), y.flatten())
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(params, 1.0)
        opt.step()
        if step % args.every == 0 or step == args.steps:
            b = held_out_bpb()
            best = min(best, b)
            print(f"step {step}: train loss {loss.item():.3f}, held-out {b:.4f} bits/byte "
                  f"({100 * (b / base - 1):+.1f} %; best {100 * (best / base - 1):+.1f} %), "
                  f"{time.perf_counter() - t0:.0f} s ({load()})", flush=True)
    print(f"best held-out {best:.4f} bits/byte: {100 * (best / base - 1):+.1f} % against the "
          f"base's {base:.4f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
