"""How good are an image model's samples? Figures for ``benchmarks/bench_image.py --quality``.

* :func:`two_sample_accuracy` — a classifier two-sample test (Lopez-Paz & Oquab 2017): a small
  CNN is trained to tell real images from samples; its held-out accuracy is 0.5 when the two
  cannot be told apart and 1.0 when every sample gives itself away.
* :func:`sharpness` — mean high-frequency energy (squared discrete Laplacian of the grey
  image), so ``sharpness(samples) / sharpness(real)`` near 1 means as much fine detail.
* :func:`train_category_classifier` / :func:`category_accuracy` — a CNN trained on the real
  images' categories, then asked to label category-conditioned samples.

Everything is seeded; images are uint8 ``(N, H, W, 3)``.
"""

from __future__ import annotations

import numpy as np
import torch
from torch import nn


def _tensor(images: np.ndarray) -> torch.Tensor:
    return torch.from_numpy(np.ascontiguousarray(images)).permute(0, 3, 1, 2).float() / 255.0


def small_cnn(classes: int, width: int = 16) -> nn.Module:
    """64x64x3 -> logits: three stride-2 conv blocks, global average pool, linear."""
    w = width
    return nn.Sequential(
        nn.Conv2d(3, w, 3, stride=2, padding=1), nn.GroupNorm(4, w), nn.SiLU(),
        nn.Conv2d(w, 2 * w, 3, stride=2, padding=1), nn.GroupNorm(4, 2 * w), nn.SiLU(),
        nn.Conv2d(2 * w, 4 * w, 3, stride=2, padding=1), nn.GroupNorm(4, 4 * w), nn.SiLU(),
        nn.Conv2d(4 * w, 4 * w, 3, padding=1), nn.SiLU(),
        nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(4 * w, classes))


def fit(model: nn.Module, x: torch.Tensor, y: torch.Tensor, *, epochs: int, seed: int,
        batch: int = 64, lr: float = 2e-3, flip: bool = True,
        balanced: bool = False) -> nn.Module:
    """Train with AdamW + one-cycle; ``balanced`` draws every class equally often (else the
    classifier learns the class frequencies: with 56 % People it calls most doubtful images
    People, and scores only about half of the real images of a rare group right)."""
    gen = torch.Generator().manual_seed(seed)
    weights = None
    if balanced:
        counts = torch.bincount(y).double()
        weights = counts.clamp_min(1).reciprocal()[y]
    opt = torch.optim.AdamW(model.parameters(), lr=lr, weight_decay=1e-4)
    steps = epochs * max(1, len(x) // batch)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=lr, total_steps=steps)
    model.train()
    for _ in range(steps):
        idx = (torch.multinomial(weights, batch, replacement=True, generator=gen)
               if weights is not None else torch.randint(len(x), (batch,), generator=gen))
        xb = x[idx]
        if flip:
            f = torch.rand(batch, generator=gen) < 0.5
            xb = torch.where(f[:, None, None, None], xb.flip(-1), xb)
        loss = nn.functional.cross_entropy(model(xb), y[idx])
        opt.zero_grad()
        loss.backward()
        opt.step()
        sched.step()
    return model.eval()


@torch.no_grad()
def predict(model: nn.Module, x: torch.Tensor, batch: int = 256) -> np.ndarray:
    return np.concatenate([model(x[i:i + batch]).argmax(1).numpy()
                           for i in range(0, len(x), batch)])


def two_sample_accuracy(real: np.ndarray, fake: np.ndarray, *, seed: int = 0,
                        epochs: int = 20, held_out: float = 0.3) -> float:
    """Held-out accuracy of a small CNN trained to tell ``real`` from ``fake``."""
    torch.manual_seed(seed)
    n = min(len(real), len(fake))
    x = torch.cat([_tensor(real[:n]), _tensor(fake[:n])])
    y = torch.cat([torch.zeros(n, dtype=torch.long), torch.ones(n, dtype=torch.long)])
    order = torch.from_numpy(np.random.default_rng(seed).permutation(2 * n))
    k = int(round(2 * n * held_out))
    test, train = order[:k], order[k:]
    model = fit(small_cnn(2), x[train], y[train], epochs=epochs, seed=seed)
    return float((predict(model, x[test]) == y[test].numpy()).mean())


def sharpness(images: np.ndarray) -> float:
    """Mean squared 4-neighbour Laplacian of the grey image (pixels in [0, 1])."""
    g = np.asarray(images, np.float64).mean(-1) / 255.0               # (N, H, W)
    lap = (-4 * g[:, 1:-1, 1:-1] + g[:, :-2, 1:-1] + g[:, 2:, 1:-1]
           + g[:, 1:-1, :-2] + g[:, 1:-1, 2:])
    return float((lap ** 2).mean())


def train_category_classifier(images: np.ndarray, labels: np.ndarray, classes: int, *,
                              seed: int = 0, epochs: int = 20) -> nn.Module:
    """Class-balanced, so a rare group's images are not called People by default."""
    torch.manual_seed(seed)
    return fit(small_cnn(classes, width=24), _tensor(images),
               torch.from_numpy(np.asarray(labels, np.int64)), epochs=epochs, seed=seed,
               balanced=True)


def category_accuracy(model: nn.Module, images: np.ndarray, labels: np.ndarray) -> float:
    return float((predict(model, _tensor(images)) == np.asarray(labels)).mean())


def per_class_accuracy(model: nn.Module, images: np.ndarray, labels: np.ndarray,
                       classes: int) -> list[float]:
    """Accuracy on the images of each class (NaN for a class with none)."""
    pred, labels = predict(model, _tensor(images)), np.asarray(labels)
    return [float((pred[labels == k] == k).mean()) if (labels == k).any() else float("nan")
            for k in range(classes)]
