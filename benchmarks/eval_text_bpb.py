"""Held-out bits per byte of a text model folder (any Hugging Face GPT-2 / Llama folder).

bits per byte = total negative log-likelihood in bits / total UTF-8 bytes of the held-out text,
so models with different tokenizers (and compressors) compare directly. Each held-out file is
scored as BOS + its tokens with a sliding window (``--stride``, default half the context).

Usage:
  python benchmarks/eval_text_bpb.py models/text/reverie-stories
  python benchmarks/eval_text_bpb.py DIR --data FILES_OR_DIRS --val-list LIST [--max-bytes N]
Default held-out set: the 11 works of ../shared/data/text/splits/val_stories.txt.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import torch
from tokenizers import Tokenizer

from desktop_app.ml.text.loader import load_text_model
from desktop_app.ml.text.train_data import load_corpus
from desktop_app.ml.training.text_eval import bits_per_byte

ROOT = Path(__file__).resolve().parents[1]
SHARED = next((p for p in (ROOT / "shared", ROOT.parent / "shared") if p.is_dir()),
              ROOT.parent / "shared")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("model", type=Path)
    ap.add_argument("--data", nargs="+", default=[str(SHARED / "data/text/stories")])
    ap.add_argument("--val-list", default=str(SHARED / "data/text/splits/val_stories.txt"))
    ap.add_argument("--context", type=int, default=None, help="default: the model's context")
    ap.add_argument("--stride", type=int, default=None)
    ap.add_argument("--max-bytes", type=int, default=0,
                    help="score only the first N/len(files) bytes of each held-out file")
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--keep-line-breaks", action="store_true",
                    help="score the files as they are (default: hard-wrapped paragraphs joined, "
                         "as training prepares them)")
    a = ap.parse_args(argv)
    torch.set_num_threads(a.threads)
    t0 = time.perf_counter()
    lm = load_text_model(a.model)
    cfg = lm.config
    context = a.context or int(cfg.get("max_position_embeddings") or cfg.get("n_positions")
                               or 1024)
    tok = Tokenizer.from_file(str(a.model / "tokenizer.json"))
    bos = cfg.get("bos_token_id")
    bos = bos if isinstance(bos, int) else (lm.eos_ids[0] if lm.eos_ids else 0)
    corpus = load_corpus(a.data, a.val_list, unwrap=not a.keep_line_breaks)
    docs = [t for _, t in corpus.val]
    if a.max_bytes:
        per = max(1, a.max_bytes // len(docs))
        docs = [d.encode("utf-8")[:per].decode("utf-8", "ignore") for d in docs]
    res = bits_per_byte(lm.model, tok, docs, context, bos_id=bos, stride=a.stride,
                        check_roundtrip=False)
    out = {"model": str(a.model), "context": context, "unwrapped": not a.keep_line_breaks, **res.to_json(),
           "seconds": round(time.perf_counter() - t0, 1)}
    print(json.dumps(out, indent=2))
    print(f"{a.model.name}: {res.bits_per_byte:.4f} bits/byte over {res.bytes:,} held-out bytes")
    return 0


if __name__ == "__main__":
    sys.exit(main())
