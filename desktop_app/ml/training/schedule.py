"""Learning-rate schedule: linear warm-up, then cosine decay to a floor (nanoGPT's ``get_lr``).

Reference: Loshchilov & Hutter, "SGDR: Stochastic Gradient Descent with Warm Restarts" (2017),
as used without restarts in nanoGPT ``train.py``.
"""

from __future__ import annotations

import math


def warmup_cosine(step: int, *, max_lr: float, min_lr: float, warmup: int, total: int) -> float:
    """Learning rate for optimizer step ``step`` (0-based) of ``total``.

    Steps ``0 .. warmup-1`` rise linearly to ``max_lr`` (step 0 already gets ``max_lr/warmup``),
    then the rate follows half a cosine from ``max_lr`` down to ``min_lr`` at ``total``.
    """
    if warmup > 0 and step < warmup:
        return max_lr * (step + 1) / warmup
    if step >= total:
        return min_lr
    span = max(1, total - warmup)
    progress = (step - warmup) / span
    coeff = 0.5 * (1.0 + math.cos(math.pi * progress))
    return min_lr + coeff * (max_lr - min_lr)
