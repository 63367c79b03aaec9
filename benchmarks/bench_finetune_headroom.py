"""Where could a fine-tune's gain on a small text come from? (issue 17's −10 % target)

Usage:
  python benchmarks/bench_finetune_headroom.py [--text FILE] [--offset 0] [--bytes 40000]
      [--adapter DIR] [--threads 2]

The same data as ``bench_finetune.py`` (``--bytes`` of one text from ``--offset``, 80 % to train
on, the last 20 % held out). For the base (``--base``) and, with ``--adapter``, base + an
adapter trained on that 80 % (``bench_finetune.py --out DIR``), it prints:

1. **held-out bits per byte** at ``reverie eval text``'s rule and default context (2,048);
2. **the training text in the context window**: the held-out text scored in one pass after
   the last 2,000 tokens of the training text, and after as much of it as fits in the
   model's window (8,192 tokens for SmolLM2). What a model can read in its window
   it need not learn, so this bounds from another side what the writer's text can tell this
   model about the held-out part;
3. **an output-layer bias** fitted on the training text (49k numbers, convex; L2 weight
   10⁻⁴ or 10⁻³, 40 Adam steps; the best held-out figure is printed, so this is generous):
   what adapting the token frequencies alone — names, favourite words — adds;
4. **where the loss is**: held-out bits per byte by token kind (word starts, capitalised words,
   continuations, punctuation, line breaks, the token after a line break) for each model, and
   each kind's share of the adapter's gain.

Not a product path; nothing is written.
"""

from __future__ import annotations

import argparse
import math
import sys
import tempfile
from collections import defaultdict
from pathlib import Path

import torch
import torch.nn.functional as F

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))
from bench_finetune import DATA, EVAL_CONTEXT, load, make_data  # noqa: E402
from desktop_app.core.paths import WRITING_MODEL  # noqa: E402
from desktop_app.ml.training.text_eval import _windows  # noqa: E402  (the evaluator's windows)

LN2 = math.log(2)
KINDS = ("word start", "capitalised", "continuation", "punctuation", "line break",
         "after a line break")


def kind_of(piece: str, previous: str) -> str:
    """The kind of a token from its text and the previous token's."""
    if "\n" in piece:
        return "line break"
    if previous.endswith("\n"):
        return "after a line break"
    word = piece.strip()
    if not any(c.isalnum() for c in word):
        return "punctuation"
    if word[0].isupper():
        return "capitalised"
    return "word start" if piece[:1].isspace() else "continuation"


class Scored:
    """Per-token NLL (nats) and final hidden states of a text under the eval's windows."""

    def __init__(self, lm, text: str, context: int, sep: int):
        model = lm.model
        ids = [sep] + lm.tokenizer.tok.encode(text, add_special_tokens=False).ids
        captured = {}
        hook = model.model.norm.register_forward_hook(
            lambda m, i, o: captured.__setitem__("h", o.detach()))
        nll, states = [], []
        try:
            with torch.no_grad():  # the windows of `reverie eval text`: each target once
                for start, end, first in _windows(len(ids), context, context // 2):
                    x = torch.tensor([ids[start:end]])
                    logits = model(x[:, :-1])[0].float()
                    lo = first - start - 1
                    nll.append(F.cross_entropy(logits[lo:], x[0, first - start:],
                                               reduction="none"))
                    states.append(captured["h"][0, lo:].float())
        finally:
            hook.remove()
        self.ids, self.nll = ids, torch.cat(nll)
        self.states, self.targets = torch.cat(states), torch.tensor(ids[1:])
        self.bytes = len(text.encode("utf-8"))

    def bpb(self) -> float:
        return float(self.nll.sum()) / LN2 / self.bytes

    def by_kind(self, tok) -> dict[str, float]:
        pieces = [tok.decode([i]) for i in self.ids]
        out: dict[str, float] = defaultdict(float)
        for p in range(1, len(self.ids)):
            out[kind_of(pieces[p], pieces[p - 1] if p > 1 else "")] += float(self.nll[p - 1])
        return {k: v / LN2 / self.bytes for k, v in out.items()}


def in_context(lm, train_text: str, held: str, sep: int, prefix: int) -> tuple[float, int]:
    """(held-out bits per byte in one pass after the last ``prefix`` training tokens — or as
    many as fit in the model's window beside the held-out text —, the tokens used)."""
    enc = lambda t: lm.tokenizer.tok.encode(t, add_special_tokens=False).ids  # noqa: E731
    train_ids, held_ids = enc(train_text), enc(held)
    prefix = max(0, min(prefix, len(train_ids), lm.max_context - len(held_ids) - 1))
    before = train_ids[len(train_ids) - prefix:]
    ids = [sep] + before + held_ids
    with torch.no_grad():
        x = torch.tensor([ids])
        nll = F.cross_entropy(lm.model(x[:, :-1])[0].float(), x[0, 1:], reduction="none")
    return float(nll[len(before):].sum()) / LN2 / len(held.encode("utf-8")), prefix


def bias_probe(weight: torch.Tensor, train: Scored, held: Scored) -> tuple[float, float]:
    """(best held-out bits per byte, its L2 weight) with a fitted output bias."""
    # the logits once (the bias only shifts them): each step is then a softmax, not a product
    train_logits, held_logits = train.states @ weight.T, held.states @ weight.T

    def nll(logits: torch.Tensor, targets: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
        return F.cross_entropy(logits + b, targets, reduction="sum")

    best = (held.bpb(), 0.0)
    for lam in (1e-4, 1e-3):  # 1e-2 never won (2026-12-07)
        b = torch.zeros(weight.shape[0], requires_grad=True)
        opt = torch.optim.Adam([b], lr=0.1)
        for it in range(1, 41):
            opt.zero_grad()
            (nll(train_logits, train.targets, b) / len(train.targets)
             + lam * (b ** 2).sum()).backward()
            opt.step()
            if it % 10 == 0:
                with torch.no_grad():
                    best = min(best, (float(nll(held_logits, held.targets, b)) / LN2
                                      / held.bytes, lam))
    return best


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--base", default=WRITING_MODEL)
    ap.add_argument("--adapter", type=Path, default=None)
    ap.add_argument("--text", type=Path, default=DATA)
    ap.add_argument("--offset", type=int, default=0)
    ap.add_argument("--bytes", type=int, default=40_000)
    ap.add_argument("--threads", type=int, default=2)
    args = ap.parse_args()

    from desktop_app.commands.eval_text import separator_id
    from desktop_app.ml.text.adapter import resolve_model
    from desktop_app.ml.text.loader import load_text_model

    torch.set_num_threads(args.threads)
    with tempfile.TemporaryDirectory() as tmp:
        _, _, train_text, held = make_data(args.text, args.bytes, Path(tmp), args.offset)
    print(f"{args.text.name}: {len(train_text.encode()):,} bytes to train on, "
          f"{len(held.encode()):,} held out; {load()}")
    models = [("base", resolve_model(args.base))]
    if args.adapter:
        models.append(("adapter", args.adapter))
    kinds, rows = {}, []
    for label, path in models:
        lm = load_text_model(path, precision="fp32")
        sep, tok = separator_id(lm.tokenizer), lm.tokenizer.tok
        ctx = min(EVAL_CONTEXT, lm.max_context)
        held_s, train_s = Scored(lm, held, ctx, sep), Scored(lm, train_text, ctx, sep)
        bpb = held_s.bpb()
        probes = [in_context(lm, train_text, held, sep, n) for n in (2000, 1 << 30)]
        biased, lam = bias_probe(lm.model.output_weight.detach().float(), train_s, held_s)
        kinds[label] = held_s.by_kind(tok)
        rows.append((label, bpb, *probes, biased, lam))
        del lm
    base = rows[0][1]
    pct = lambda v: f"{v:.4f} ({(v / base - 1) * 100:+.1f} %)"  # noqa: E731
    print(f"\nheld-out bits per byte (context {EVAL_CONTEXT}; change against the base's):")
    for label, bpb, (p2, n2), (pall, nall), biased, lam in rows:
        print(f"  {label:8s} eval rule {pct(bpb)} | after {n2:,} training tokens in context "
              f"{pct(p2)}, after {nall:,} {pct(pall)} | with a fitted output bias "
              f"{pct(biased)} (L2 {lam:g})")
    print("\nheld-out bits per byte by token kind" + (" and share of the adapter's gain"
                                                       if args.adapter else "") + ":")
    gain = sum(kinds["base"].values()) - sum(kinds.get("adapter", kinds["base"]).values())
    for k in KINDS:
        b = kinds["base"].get(k, 0.0)
        line = f"  {k:20s} base {b:.4f}"
        if args.adapter:
            a = kinds["adapter"].get(k, 0.0)
            line += f"  adapter {a:.4f}  share of the gain {(b - a) / gain * 100:+6.1f} %"
        print(line)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
