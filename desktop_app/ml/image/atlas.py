"""The atlas of an image model: where its training and held-out images sit in latent space.

For the Explore room: the encoded means ``mu`` of the images (all of them, or a seeded
subset for large sets), their split, labels and categories, a 2-D PCA map, and small
thumbnails. Stored as ``atlas.safetensors`` (mu fp16, xy, thumbs uint8, split, labels) and
``atlas.json`` (names, categories, label names, the PCA basis of the map).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
from PIL import Image

from desktop_app.core.latent import pca, project
from desktop_app.ml import checkpoints as ck
from desktop_app.ml.image.datasets import ImageSet


def thumbnails(pixels: np.ndarray, side: int) -> np.ndarray:
    """uint8 ``(N, H, W, C)`` -> ``(N, side, side, C)`` (box-filtered)."""
    c = pixels.shape[3]
    out = np.empty((len(pixels), side, side, c), np.uint8)
    for i, p in enumerate(pixels):
        img = Image.fromarray(p[..., 0] if c == 1 else p)
        out[i] = np.asarray(img.resize((side, side), Image.Resampling.BOX)).reshape(side, side, c)
    return out


def build_atlas(out_dir: str | Path, data: ImageSet, mu: np.ndarray, held_mask: np.ndarray,
                *, thumb: int = 16, max_images: int | None = None, seed: int = 0) -> dict:
    """Write the atlas files for ``data`` (encodings ``mu``, ``held_mask`` True = held out)."""
    idx = np.arange(len(data))
    if max_images is not None and len(idx) > max_images:
        rng = np.random.default_rng(seed)
        held, train = idx[held_mask], idx[~held_mask]
        k_held = min(len(held), max_images // 2)
        pick = np.concatenate([rng.choice(held, k_held, replace=False),
                               rng.choice(train, max_images - k_held, replace=False)])
        idx = np.sort(pick)
    comps, std, mean = pca(mu, 2)
    xy = project(mu[idx], comps, mean)
    tensors = {
        "mu": torch.from_numpy(mu[idx].astype(np.float16)),
        "xy": torch.from_numpy(xy),
        "thumbs": torch.from_numpy(thumbnails(data.pixels[idx], thumb)),
        "held_out": torch.from_numpy(held_mask[idx].astype(np.uint8)),
        "index": torch.from_numpy(idx.astype(np.int64)),
    }
    for k, v in data.labels.items():
        tensors[f"label.{k}"] = torch.from_numpy(v[idx].astype(np.float32))
    meta = {"count": int(len(idx)), "of": int(len(data)), "thumb_side": thumb,
            "names": [data.names[i] for i in idx],
            "categories": {k: [v[i] for i in idx] for k, v in data.categories.items()},
            "labels": sorted(data.labels), "map": {"method": "pca",
                                                   "components": comps.tolist(),
                                                   "mean": mean.tolist(),
                                                   "std": std.tolist()}}
    out_dir = Path(out_dir)
    ck.save_tensors(out_dir / "atlas.safetensors", tensors)
    ck.save_json(out_dir / "atlas.json", meta)
    return meta


def load_atlas(model_dir: str | Path) -> tuple[dict[str, np.ndarray], dict] | None:
    model_dir = Path(model_dir)
    if not (model_dir / "atlas.json").is_file():
        return None
    meta = ck.load_json(model_dir / "atlas.json")
    t = ck.load_tensors(model_dir / "atlas.safetensors")
    return {k: v.float().numpy() if v.is_floating_point() else v.numpy() for k, v in t.items()}, meta
