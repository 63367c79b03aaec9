"""Character n-gram baseline (interpolated Kneser-Ney) in bits per byte on a held-out split.

The quality bar for the built-in story model: its held-out bits per byte must be clearly below
this classical baseline computed on the very same split. Default: order 5 on the public-domain
story corpus with the fixed held-out works (``shared/data/text/splits/val_stories.txt``).

Model (Chen & Goodman 1998, "An Empirical Study of Smoothing Techniques for Language
Modeling", interpolated Kneser-Ney with one discount per order, D = n1 / (n1 + 2 n2)):
  P_k(w | h) = max(c_k(hw) - D_k, 0) / c_k(h) + D_k * N1+(h .) / c_k(h) * P_{k-1}(w | h')
where c_k is the raw count at the highest order and the continuation count N1+(. hw) below it;
the recursion ends in a uniform distribution over the training characters plus one unknown.
Each document starts with (order - 1) boundary symbols; all counting is vectorised in numpy.

Usage: python benchmarks/char_ngram_baseline.py [--order 5] [--json FILE]
Prints bits per byte (total bits / UTF-8 bytes) and bits per character on the held-out works.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import time
from pathlib import Path

import numpy as np

from desktop_app.ml.text.train_data import load_corpus

ROOT = Path(__file__).resolve().parents[1]
SHARED = next((p for p in (ROOT / "shared", ROOT.parent / "shared") if p.is_dir()),
              ROOT.parent / "shared")


def _ids(docs: list[str], stoi: dict[str, int], unk: int, bos: int, order: int) -> np.ndarray:
    parts = []
    for d in docs:
        parts.append(np.full(order - 1, bos, dtype=np.int64))
        parts.append(np.array([stoi.get(c, unk) for c in d], dtype=np.int64))
    return np.concatenate(parts)


def _keys(ids: np.ndarray, k: int, base: int) -> np.ndarray:
    """key of the k-gram ending at each position >= k-1 (base-``base`` number)."""
    n = len(ids) - k + 1
    key = np.zeros(n, dtype=np.int64)
    for j in range(k):
        key = key * base + ids[j:j + n]
    return key


class KneserNey:
    def __init__(self, order: int, vocab: int, base: int) -> None:
        self.order, self.vocab, self.base = order, vocab, base
        self.tables: list[dict] = []

    def fit(self, ids: np.ndarray, is_target: np.ndarray) -> "KneserNey":
        B = self.base
        grams = {}
        for k in range(1, self.order + 1):
            key = _keys(ids, k, B)
            key = key[is_target[k - 1:]]  # only n-grams whose last symbol is real text
            grams[k] = np.unique(key, return_counts=True)
        for k in range(1, self.order + 1):
            if k == self.order:
                g, c = grams[k]
            else:  # continuation counts: distinct left extensions of each k-gram
                hi, _ = grams[k + 1]
                g, c = np.unique(hi % (B ** k), return_counts=True)
            n1, n2 = int((c == 1).sum()), int((c == 2).sum())
            D = n1 / (n1 + 2 * n2) if n1 + 2 * n2 else 0.5
            ctx = g // B
            cu, start = np.unique(ctx, return_index=True)
            ctot = np.add.reduceat(c, start)
            ctypes = np.diff(np.append(start, len(g)))
            self.tables.append({"g": g, "c": c.astype(np.float64), "D": D, "ctx": cu,
                                "ctot": ctot.astype(np.float64),
                                "ctypes": ctypes.astype(np.float64)})
        return self

    @staticmethod
    def _lookup(keys: np.ndarray, table_keys: np.ndarray, values: np.ndarray) -> np.ndarray:
        idx = np.searchsorted(table_keys, keys)
        idx = np.minimum(idx, len(table_keys) - 1)
        hit = table_keys[idx] == keys
        return np.where(hit, values[idx], 0.0)

    def prob(self, ids: np.ndarray, is_target: np.ndarray) -> np.ndarray:
        """P(symbol | previous order-1 symbols) for every target position of ``ids``."""
        B, K = self.base, self.order
        pos = np.nonzero(is_target)[0]
        assert pos.min() >= K - 1
        p = np.full(len(pos), 1.0 / self.vocab)
        for k in range(1, K + 1):
            t = self.tables[k - 1]
            key = np.zeros(len(pos), dtype=np.int64)
            for j in range(k):
                key = key * B + ids[pos - (k - 1) + j]
            ctx = key // B
            a = self._lookup(key, t["g"], t["c"])
            ctot = self._lookup(ctx, t["ctx"], t["ctot"])
            ctypes = self._lookup(ctx, t["ctx"], t["ctypes"])
            seen = ctot > 0
            safe = np.where(seen, ctot, 1.0)
            mixed = (np.maximum(a - t["D"], 0.0) + t["D"] * ctypes * p) / safe
            p = np.where(seen, mixed, p)
        return p


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", nargs="+", default=[str(SHARED / "data/text/stories")])
    ap.add_argument("--val-list", default=str(SHARED / "data/text/splits/val_stories.txt"))
    ap.add_argument("--order", type=int, default=5)
    ap.add_argument("--json", type=Path, default=None, help="also write the figures here")
    a = ap.parse_args(argv)
    t0 = time.perf_counter()
    corpus = load_corpus(a.data, a.val_list)
    train_docs = [t for _, t in corpus.train]
    val_docs = [t for _, t in corpus.val]
    chars = sorted(set("".join(train_docs)))
    stoi = {c: i for i, c in enumerate(chars)}
    unk, bos = len(chars), len(chars) + 1
    base = len(chars) + 2
    if base ** a.order >= 2 ** 62:
        print("alphabet too large for this order", file=sys.stderr)
        return 1
    tr = _ids(train_docs, stoi, unk, bos, a.order)
    model = KneserNey(a.order, vocab=len(chars) + 1, base=base).fit(tr, tr != bos)
    va = _ids(val_docs, stoi, unk, bos, a.order)
    p = model.prob(va, va != bos)
    bits = float(-np.log2(p).sum())
    nbytes = sum(len(d.encode("utf-8")) for d in val_docs)
    nchars = sum(len(d) for d in val_docs)
    figures = {"order": a.order, "smoothing": "interpolated Kneser-Ney",
               "bits_per_byte": bits / nbytes, "bits_per_char": bits / nchars,
               "heldout_bytes": nbytes, "heldout_chars": nchars,
               "train_chars": int((tr != bos).sum()), "alphabet": len(chars),
               "unknown_heldout_chars": int((va == unk).sum()),
               "seconds": round(time.perf_counter() - t0, 1)}
    print(json.dumps(figures, indent=2))
    print(f"character {a.order}-gram Kneser-Ney: {figures['bits_per_byte']:.4f} bits/byte on "
          f"{len(val_docs)} held-out files ({nbytes:,} bytes)")
    if a.json:
        a.json.parent.mkdir(parents=True, exist_ok=True)
        a.json.write_text(json.dumps(figures, indent=2) + "\n")
    return 0 if math.isfinite(bits) else 1


if __name__ == "__main__":
    sys.exit(main())
