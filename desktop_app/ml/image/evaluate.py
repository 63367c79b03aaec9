"""Measured quality checks of an image model (used by benchmarks/bench_image.py and the cards).

* ``attribute_check``: move encodings +2 std devs along a direction, decode, encode again, and
  see whether a linear probe for that attribute flips (it should) while the probes of the other
  attributes keep their decision (they should). Probes are logistic regressions fitted on the
  held-out encodings (on all encodings when the held-out split has too few labelled images;
  the result says which).
* ``morph_smoothness``: along 30-frame slerps between held-out images, the largest step
  between consecutive frames divided by the median step (pixel RMS change).
"""

from __future__ import annotations

import numpy as np
import torch

from desktop_app.core import latent as lat
from desktop_app.ml.image.datasets import ImageSet
from desktop_app.ml.image.directions import ATTRIBUTES, binary_classes, logistic_probe


def _fit_probe(mu, labels, name, held_idx, min_per_class=4, balanced=True):
    held_labels = {k: v[held_idx] for k, v in labels.items()}
    neg, pos = binary_classes(held_labels, name)
    source = "held-out"
    if min(len(neg), len(pos)) < min_per_class:
        neg, pos = binary_classes(labels, name)
        held_idx, source = np.arange(len(mu)), "all (held-out split too small)"
    x = np.concatenate([mu[held_idx][neg], mu[held_idx][pos]])
    y = np.concatenate([np.zeros(len(neg)), np.ones(len(pos))])
    mean, std = x.mean(0), x.std(0) + 1e-6
    w, b = logistic_probe((x - mean) / std, y, l2=1.0, balanced=balanced)
    acc = float(np.mean((((x - mean) / std) @ w + b > 0) == y))
    return (lambda m: ((np.asarray(m, np.float64) - mean) / std) @ w + b > 0), {
        "probe_data": source, "probe_n": int(len(y)), "probe_accuracy": acc}


@torch.no_grad()
def _reencode(model, z: np.ndarray, batch: int = 256) -> np.ndarray:
    out = []
    for i in range(0, len(z), batch):
        x = model.decode(torch.from_numpy(np.ascontiguousarray(z[i:i + batch], np.float32)))
        out.append(model.encode(x)[0].numpy())
    return np.concatenate(out)


def attribute_check(model, data: ImageSet, mu: np.ndarray, held_idx: np.ndarray,
                    directions: dict, targets=("smile", "skin_tone", "older"),
                    amount: float = 2.0) -> dict[str, dict]:
    """Flip rates of +``amount`` std devs along each target direction (see module doc)."""
    names = [n for n in ATTRIBUTES if n in directions and ATTRIBUTES[n][0] in data.labels]
    probes, probe_info = {}, {}
    for n in names:
        probes[n], probe_info[n] = _fit_probe(mu, data.labels, n, held_idx)
    out = {}
    for a in targets:
        if a not in probes:
            continue
        neg, _ = binary_classes(data.labels, a)
        start = mu[neg][~probes[a](mu[neg])]          # labelled negatives the probe agrees on
        if len(start) == 0:
            continue
        d = directions[a]
        moved = start + amount * d.scale * d.vector[None, :]
        after = _reencode(model, moved)
        row = {"n": int(len(start)), "flipped": float(np.mean(probes[a](after))),
               **probe_info[a], "others": {}}
        for b in names:
            if b != a:
                row["others"][b] = float(np.mean(probes[b](start) != probes[b](after)))
        key_others = [b for b in targets if b != a and b in row["others"]]
        row["max_other_changed"] = max((row["others"][b] for b in key_others), default=0.0)
        row["max_any_other_changed"] = max(row["others"].values(), default=0.0)
        out[a] = row
    return out


@torch.no_grad()
def morph_smoothness(model, pixels: np.ndarray, pairs: int = 20, frames: int = 30,
                     seed: int = 0) -> dict:
    """Max-step / median-step ratios of slerp morphs between random pairs of ``pixels``."""
    rng = np.random.default_rng(seed)
    x = torch.from_numpy(np.ascontiguousarray(pixels)).permute(0, 3, 1, 2).float() / 255.0
    ratios = []
    for _ in range(pairs):
        i, j = rng.choice(len(pixels), 2, replace=False)
        mu = model.encode(x[[i, j]])[0].numpy()
        zs = lat.slerp_path(mu[0], mu[1], frames)
        imgs = model.decode(torch.from_numpy(zs)).numpy()
        steps = lat.step_sizes(imgs)
        ratios.append(float(steps.max() / max(np.median(steps), 1e-12)))
    r = np.array(ratios)
    return {"pairs": pairs, "frames": frames, "worst_ratio": float(r.max()),
            "median_ratio": float(np.median(r)), "pairs_within_3x": float(np.mean(r <= 3.0))}
