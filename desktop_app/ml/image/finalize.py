"""After training: write directions, atlas and measured metrics into the model folder.

Runs on the exported model (``config.json`` + ``model.safetensors`` in ``out_dir``): encodes
every image, computes the directions from the training split (supervised ones where labels
exist, PCA always), builds the atlas, and records the held-out per-pixel MSE.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from desktop_app.ml import checkpoints as ck
from desktop_app.ml.image.atlas import build_atlas
from desktop_app.ml.image.datasets import ImageSet
from desktop_app.ml.image.directions import compute_directions, encode_all, save_directions
from desktop_app.ml.image.model_dir import load_vae
from desktop_app.ml.image.train_task import held_out_mse, to_tensor


def kmeans(x: np.ndarray, k: int, seed: int = 0, iters: int = 30) -> np.ndarray:
    """Cluster labels of rows of ``x`` (Lloyd's algorithm, seeded k-means++ start)."""
    rng = np.random.default_rng(seed)
    centres = [x[rng.integers(len(x))]]
    for _ in range(1, k):
        d2 = np.min([((x - c) ** 2).sum(1) for c in centres], axis=0)
        centres.append(x[rng.choice(len(x), p=d2 / d2.sum())])
    c = np.stack(centres)
    for _ in range(iters):
        lab = np.argmin(((x[:, None, :] - c[None]) ** 2).sum(-1), axis=1)
        c = np.stack([x[lab == j].mean(0) if np.any(lab == j) else c[j] for j in range(k)])
    return np.argmin(((x[:, None, :] - c[None]) ** 2).sum(-1), axis=1)


def save_prior(out_dir: Path, mu: np.ndarray, k: int = 16, seed: int = 0) -> None:
    """Fit a mixture of ``k`` full-covariance Gaussians to the training encodings (ex-post
    density estimation, Ghosh et al. 2020, "From variational to deterministic autoencoders"):
    samples drawn from it land where the decoder was trained, unlike N(0, I) when the KL term
    is weak. Components come from k-means; each covariance is shrunk towards the global
    diagonal so small clusters stay well-conditioned."""
    mu = np.asarray(mu, np.float64)
    k = max(1, min(k, len(mu) // max(4, mu.shape[1] // 4)))
    lab = kmeans(mu, k, seed) if k > 1 else np.zeros(len(mu), int)
    diag = np.diag(mu.var(0))
    means, chols, weights = [], [], []
    for j in range(k):
        part = mu[lab == j]
        if len(part) < 2:
            continue
        a = len(part) / (len(part) + mu.shape[1])        # shrinkage: more data, less prior
        cov = a * np.cov(part, rowvar=False) + (1 - a) * diag + 1e-5 * np.eye(mu.shape[1])
        means.append(part.mean(0))
        chols.append(np.linalg.cholesky(cov))
        weights.append(len(part))
    w = np.array(weights, np.float64)
    ck.save_tensors(out_dir / "prior.safetensors", {
        "means": torch.from_numpy(np.stack(means).astype(np.float32)),     # (K, D)
        "chols": torch.from_numpy(np.stack(chols).astype(np.float32)),     # (K, D, D)
        "weights": torch.from_numpy((w / w.sum()).astype(np.float32))},    # (K,)
        metadata={"method": "k-means Gaussian mixture fitted to training posterior means"})


def finalize(out_dir: str | Path, data: ImageSet, train_idx: np.ndarray, held_idx: np.ndarray,
             *, method: str = "mean", progress=None, atlas_max: int | None = 10000,
             thumb: int | None = None) -> dict:
    say = progress or (lambda m: None)
    out_dir = Path(out_dir)
    model, cfg = load_vae(out_dir)
    say(f"encoding {len(data)} images")
    mu = encode_all(model, data.pixels)                          # (N, D)
    held = np.zeros(len(data), bool)
    held[held_idx] = True
    train_labels = {k: v[train_idx] for k, v in data.labels.items()}
    dirs, info = compute_directions(mu[train_idx], train_labels, method=method, all_mu=mu)
    save_directions(out_dir, dirs, info)
    say(f"{len(dirs)} directions: {', '.join(d.name for d in dirs)}")
    save_prior(out_dir, mu[train_idx])
    side = thumb or (16 if cfg["image_size"] == 64 else 14)
    build_atlas(out_dir, data, mu, held, thumb=side, max_images=atlas_max)
    with torch.no_grad():
        mse = held_out_mse(model, to_tensor(data.pixels[held_idx]))
    metrics = {"held_out_mse": mse, "n_train": int(len(train_idx)),
               "n_held_out": int(len(held_idx))}
    ck.save_json(out_dir / "metrics.json", metrics)
    say(f"held-out per-pixel MSE {mse:.5f}")
    return metrics
