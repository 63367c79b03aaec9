"""Bits per byte of a GGUF model under Reverie and under transformers, on the same text.

Both score the same documents with the same sliding windows (``text_eval.score_documents``:
context C, stride C/2, each document after ``<|endoftext|>``); each uses its own tokenizer and
its own model code reading the same GGUF file. Run the two in parallel processes and compare:

  python benchmarks/eval_text_compare.py --impl reverie --data DIR [--model M] [--context 2048]
  python benchmarks/eval_text_compare.py --impl transformers --data DIR ...

Prints one JSON line: {impl, bits_per_byte, tokens, bytes, files, context, seconds}.
The held-out sample of issue 15: the first 30,000 bytes of each of the 11 works in
../shared/data/text/splits/val_stories.txt (``--heldout`` builds it in a temporary folder).
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

import torch

from desktop_app.core.paths import WRITING_MODEL

ROOT = Path(__file__).resolve().parents[1]
SHARED = next((p for p in (ROOT / "shared", ROOT.parent / "shared") if p.is_dir()),
              ROOT.parent / "shared")


def heldout(out: Path, per_file: int = 30_000) -> Path:
    for line in (SHARED / "data/text/splits/val_stories.txt").read_text().split():
        src = SHARED / "data/text" / line
        text = src.read_bytes()[:per_file].decode("utf-8", "ignore")
        (out / src.name).write_text(text, encoding="utf-8")
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--impl", choices=("reverie", "transformers"), required=True)
    ap.add_argument("--model", default=WRITING_MODEL)
    ap.add_argument("--data", nargs="*", default=None)
    ap.add_argument("--context", type=int, default=2048)
    ap.add_argument("--threads", type=int, default=1)
    a = ap.parse_args(argv)
    torch.set_num_threads(a.threads)
    from desktop_app.commands.eval_text import collect_files, evaluate, read_documents
    from desktop_app.commands.generate_text import resolve_text_model
    from desktop_app.ml.training.text_eval import score_documents

    tmp = None
    if not a.data:
        tmp = tempfile.TemporaryDirectory()
        a.data = [str(heldout(Path(tmp.name)))]
    docs = read_documents(collect_files(a.data))
    path = resolve_text_model(a.model)
    t0 = time.perf_counter()
    if a.impl == "reverie":
        from desktop_app.ml.text.loader import load_text_model

        res = evaluate(load_text_model(path), docs, a.context)
    else:
        from transformers import AutoModelForCausalLM, AutoTokenizer

        tok = AutoTokenizer.from_pretrained(str(path.parent), gguf_file=path.name)
        hf = AutoModelForCausalLM.from_pretrained(str(path.parent), gguf_file=path.name,
                                                  dtype=torch.float32).eval()
        sep = tok.convert_tokens_to_ids("<|endoftext|>")
        lists = [[sep] + tok(d, add_special_tokens=False)["input_ids"] for d in docs]

        def forward(x):
            return hf(x).logits

        forward.parameters = hf.parameters
        forward.eval = lambda: None
        res = score_documents(forward, lists, [len(d.encode("utf-8")) for d in docs],
                              a.context, batch=1)
    print(json.dumps({"impl": a.impl, "bits_per_byte": res.bits_per_byte, "tokens": res.tokens,
                      "bytes": res.bytes, "files": len(docs), "context": a.context,
                      "seconds": round(time.perf_counter() - t0, 1)}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
