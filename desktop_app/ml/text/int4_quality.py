"""How far a quantized model's next-token distributions move from the float32 model's.

:func:`mean_kl` loads the same file twice -- at fp32 (every weight dequantized exactly: the
reference) and at the precision under test -- and averages ``KL(p_fp32 || p_quant)`` over
every position of held-out story text: the first works listed in the story corpus'
validation split (``data/text/splits/val_stories.txt``), ``CHARS`` characters of each, at
most ``TOKENS`` tokens per passage. Reported by ``benchmarks/bench_text.py`` and
``reverie bench text --compare``; target <= 1e-3 (llama.cpp's own Q4_1 is 4e-4).
"""

from __future__ import annotations

from pathlib import Path

WORKS, CHARS, TOKENS = 4, 4000, 256


def held_out_passages(root: Path | None = None) -> list[str]:
    """Text of the first ``WORKS`` validation works (from their start; empty when absent)."""
    from desktop_app.core import paths

    root = Path(root) if root else _data_root(paths)
    listing = root / "splits" / "val_stories.txt"
    if not listing.is_file():
        return []
    out = []
    for line in listing.read_text(encoding="utf-8").split()[:WORKS]:
        path = (root / line).resolve()
        if root.resolve() in path.parents and path.is_file():  # the listing is data: stay inside
            with open(path, encoding="utf-8", errors="replace") as fh:
                out.append(fh.read(CHARS))
    return out


def _data_root(paths) -> Path:
    for cand in (Path(__file__).resolve().parents[3] / "shared" / "data" / "text",
                 Path(__file__).resolve().parents[3].parent / "shared" / "data" / "text",
                 paths.user_data_dir() / "data" / "text"):
        if (cand / "splits" / "val_stories.txt").is_file():
            return cand
    return Path("data/text")


def mean_kl(path: Path, precision: str, passages: list[str] | None = None) -> dict:
    """``{"kl": mean KL, "positions": n, "top1_agree": share}`` for ``path`` at ``precision``."""
    import torch

    from desktop_app.ml.text.loader import load_text_model

    passages = held_out_passages() if passages is None else passages
    if not passages:
        raise RuntimeError("no held-out text found (data/text/splits/val_stories.txt)")
    ref = load_text_model(path, precision="fp32", check_memory=False)
    test = load_text_model(path, precision=precision, check_memory=False)
    total, n, agree = 0.0, 0, 0
    with torch.inference_mode():
        for text in passages:
            ids = ref.tokenizer.encode(text)[:TOKENS]
            if len(ids) < 2:
                continue
            x = torch.tensor([ids])
            a = torch.log_softmax(ref.model(x).float(), -1)[0]
            b = torch.log_softmax(test.model(x).float(), -1)[0]
            total += float((a.exp() * (a - b)).sum(-1).sum())
            agree += int((a.argmax(-1) == b.argmax(-1)).sum())
            n += len(ids)
    return {"kl": total / max(n, 1), "positions": n, "top1_agree": agree / max(n, 1),
            "precision": test.precision}
