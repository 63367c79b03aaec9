"""``builtin:fashion``: Fashion-MNIST (MIT licence, Zalando Research) from Debian's package.

The package ``dataset-fashion-mnist`` installs the four IDX files under
``/usr/share/datasets/fashion-mnist/``; the 60,000 training and 10,000 test images (28x28
grey, 10 classes) are read with numpy only. Only the training command needs it; the app never
does. The official test split is the held-out split.
"""

from __future__ import annotations

import gzip
import os
from pathlib import Path

import numpy as np

from desktop_app.core.errors import DataError
from desktop_app.ml.image.datasets import ImageSet

FASHION_DIR = Path(os.environ.get("REVERIE_FASHION_DIR", "/usr/share/datasets/fashion-mnist"))
CLASSES = ("T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
           "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot")
N_TRAIN = 60000


def _read_idx(path: Path, magic: int) -> np.ndarray:
    try:
        with gzip.open(path, "rb") as fh:
            data = fh.read()
    except FileNotFoundError:
        raise DataError(
            f"Fashion-MNIST is missing ({path} not found); install it with "
            f"`sudo apt-get install dataset-fashion-mnist`") from None
    except (OSError, EOFError) as exc:
        raise DataError(f"cannot read {path}: {exc}") from None
    got = int.from_bytes(data[:4], "big")
    if got != magic:
        raise DataError(f"{path} is not an IDX file (magic {got:#x})")
    ndim = data[3]
    dims = [int.from_bytes(data[4 + 4 * i: 8 + 4 * i], "big") for i in range(ndim)]
    arr = np.frombuffer(data, dtype=np.uint8, offset=4 + 4 * ndim)
    if arr.size != int(np.prod(dims)):
        raise DataError(f"{path} is truncated")
    return arr.reshape(dims)


def load_fashion(folder: Path | None = None) -> ImageSet:
    """All 70,000 images: the first 60,000 are the training split, the rest the test split."""
    folder = folder or FASHION_DIR
    parts = []
    for prefix in ("train", "t10k"):
        x = _read_idx(folder / f"{prefix}-images-idx3-ubyte.gz", 0x803)
        y = _read_idx(folder / f"{prefix}-labels-idx1-ubyte.gz", 0x801)
        parts.append((x, y))
    x = np.concatenate([parts[0][0], parts[1][0]])[..., None]       # (70000, 28, 28, 1)
    y = np.concatenate([parts[0][1], parts[1][1]]).astype(np.int64)  # (70000,)
    names = [f"{'train' if i < N_TRAIN else 'test'}-{i}" for i in range(len(y))]
    labels = {f"is_{c.split('/')[0].lower().replace(' ', '_').replace('-', '_')}":
              (y == k).astype(np.float64) for k, c in enumerate(CLASSES)}
    return ImageSet(pixels=x, names=names, labels=labels,
                    categories={"class": [CLASSES[k] for k in y]},
                    flip_ok=np.ones(len(y), bool))


def fashion_split(n: int = 70000) -> tuple[np.ndarray, np.ndarray]:
    return np.arange(N_TRAIN), np.arange(N_TRAIN, n)
