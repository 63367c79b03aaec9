"""Maps of a latent space for the Explore room (numpy only: no Qt, no torch).

* :class:`LinearMap` — a 2-D map that is a plane through the mean of the codes: PCA (the two
  directions of largest variance) or two attribute directions made orthonormal. Being linear it
  has an inverse: a point of the map is the latent ``mean + x·c1 + y·c2`` on that plane.
* :func:`blend_inverse` — for maps with no inverse (t-SNE): the latent under a map position is
  the inverse-distance blend of the codes of its nearest points (said so in the UI).
* :func:`nearest_neighbours` — brute force, chunked, cosine or Euclidean.
* :func:`search_labels` — find items whose name or category contains a query.
* :func:`word_analogy` — ``a − b + c`` among word vectors (cosine).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from desktop_app.core.errors import DataError

METRICS = ("cosine", "euclidean")
MIN_POINTS = 3


@dataclass(frozen=True)
class LinearMap:
    """A plane through ``mean`` spanned by the orthonormal rows of ``basis`` (2, D)."""

    basis: np.ndarray            # (2, D) float64, orthonormal rows
    mean: np.ndarray             # (D,) float64
    axis_names: tuple[str, str] = ("PC 1", "PC 2")
    std: tuple[float, float] = (1.0, 1.0)

    def transform(self, codes: np.ndarray) -> np.ndarray:
        """(N, D) codes -> (N, 2) float32 map coordinates."""
        x = np.asarray(codes, np.float64)
        return ((x - self.mean) @ self.basis.T).astype(np.float32)

    def inverse(self, xy) -> np.ndarray:
        """A map point (2,) -> the (D,) float32 latent on the plane through the mean."""
        p = np.asarray(xy, np.float64).reshape(2)
        return (self.mean + p @ self.basis).astype(np.float32)


def check_codes(codes: np.ndarray) -> np.ndarray:
    """(N, D) finite float codes with at least :data:`MIN_POINTS` rows, else ``DataError``."""
    x = np.asarray(codes)
    if x.ndim != 2 or x.shape[1] < 2:
        raise DataError(f"the map needs codes of shape (points, dimensions); got {x.shape}")
    if len(x) < MIN_POINTS:
        raise DataError(f"the data set has {len(x)} item(s); a map needs at least "
                        f"{MIN_POINTS} to project")
    if not np.all(np.isfinite(x)):
        raise DataError("the codes contain NaN or infinite values; the map cannot be drawn")
    return x


def pca_map(codes: np.ndarray) -> LinearMap:
    """PCA to two components (SVD of the centred codes; signs made deterministic)."""
    x = np.asarray(check_codes(codes), np.float64)
    mean = x.mean(0)
    centred = x - mean
    if len(x) > 4 * x.shape[1]:           # covariance route: (D, D) eigen is faster for tall data
        cov = centred.T @ centred / max(len(x) - 1, 1)
        w, v = np.linalg.eigh(cov)
        order = np.argsort(w)[::-1][:2]
        comps, var = v[:, order].T, np.maximum(w[order], 0.0)
        std = np.sqrt(var)
    else:
        _, s, vt = np.linalg.svd(centred, full_matrices=False)
        comps, std = vt[:2], s[:2] / np.sqrt(max(len(x) - 1, 1))
    signs = np.sign(comps[np.arange(2), np.argmax(np.abs(comps), axis=1)])
    comps = comps * np.where(signs == 0, 1.0, signs)[:, None]
    return LinearMap(comps, mean, ("PC 1", "PC 2"), (float(std[0]), float(std[1])))


def axes_map(codes: np.ndarray, x_dir: np.ndarray, y_dir: np.ndarray,
             names: tuple[str, str] = ("x", "y")) -> LinearMap:
    """A map whose axes are two attribute directions (y made orthogonal to x, Gram–Schmidt)."""
    x = np.asarray(check_codes(codes), np.float64)
    a = np.asarray(x_dir, np.float64).ravel()
    b = np.asarray(y_dir, np.float64).ravel()
    if a.size != x.shape[1] or b.size != x.shape[1]:
        raise DataError(f"the directions have {a.size} and {b.size} values; the codes have "
                        f"{x.shape[1]}")
    a = a / max(np.linalg.norm(a), 1e-12)
    b = b - (b @ a) * a
    nb = np.linalg.norm(b)
    if nb < 1e-6:
        raise DataError(f"the directions {names[0]!r} and {names[1]!r} point the same way; "
                        f"choose two different attributes")
    basis = np.stack([a, b / nb])
    mean = x.mean(0)
    xy = (x - mean) @ basis.T
    return LinearMap(basis, mean, names, (float(xy[:, 0].std()), float(xy[:, 1].std())))


def _distances(query: np.ndarray, block: np.ndarray, metric: str) -> np.ndarray:
    if metric == "euclidean":
        d2 = (block * block).sum(1) - 2.0 * block @ query + query @ query
        return np.sqrt(np.maximum(d2, 0.0))
    norms = np.linalg.norm(block, axis=1) * max(np.linalg.norm(query), 1e-12)
    return 1.0 - (block @ query) / np.maximum(norms, 1e-12)


def nearest_neighbours(codes: np.ndarray, query, k: int = 10, metric: str = "cosine",
                       exclude: int | None = None, chunk: int = 8192
                       ) -> tuple[np.ndarray, np.ndarray]:
    """Indices and distances of the ``k`` codes nearest to ``query``, nearest first.

    Cosine distance is ``1 − cos``; Euclidean is the L2 norm. ``exclude`` drops one index (the
    query's own). Brute force over chunks of ``chunk`` rows, so memory stays bounded.
    """
    if metric not in METRICS:
        raise ValueError(f"metric must be one of {METRICS}, not {metric!r}")
    x = np.asarray(codes)
    q = np.asarray(query, np.float64).ravel()
    dist = np.empty(len(x), np.float64)
    for start in range(0, len(x), chunk):
        dist[start:start + chunk] = _distances(q, np.asarray(x[start:start + chunk], np.float64),
                                               metric)
    if exclude is not None and 0 <= exclude < len(x):
        dist[exclude] = np.inf
    k = max(0, min(k, len(x) - (exclude is not None)))
    if k == 0:
        return np.zeros(0, np.int64), np.zeros(0)
    part = np.argpartition(dist, k - 1)[:k] if k < len(x) else np.arange(len(x))
    order = part[np.lexsort((part, dist[part]))]
    return order.astype(np.int64), dist[order]


def blend_inverse(xy_points: np.ndarray, codes: np.ndarray, xy, k: int = 3) -> np.ndarray:
    """The latent under map position ``xy`` for a map without an inverse (t-SNE): the
    inverse-distance-weighted mean of the codes of the ``k`` nearest map points."""
    pts = np.asarray(xy_points, np.float64)
    d = np.linalg.norm(pts - np.asarray(xy, np.float64).reshape(1, 2), axis=1)
    k = min(k, len(pts))
    idx = np.argsort(d, kind="stable")[:k]
    w = 1.0 / np.maximum(d[idx], 1e-9)
    w /= w.sum()
    return (w @ np.asarray(codes, np.float64)[idx]).astype(np.float32)


def search_labels(names, query: str, categories: dict[str, tuple[str, ...]] | None = None,
                  limit: int | None = None) -> list[int]:
    """Indices whose name (or any category value) contains ``query``, case-insensitive.

    Exact name matches come first, then names that start with the query, then the rest, each in
    index order. An empty query finds nothing.
    """
    q = query.strip().lower()
    if not q:
        return []
    exact, prefix, inside = [], [], []
    cats = list((categories or {}).values())
    for i, name in enumerate(names):
        n = str(name).strip().lower()
        if n == q:
            exact.append(i)
        elif n.startswith(q):
            prefix.append(i)
        elif q in n or any(q == str(c[i]).lower() for c in cats):
            inside.append(i)
    return (exact + prefix + inside)[:limit]


def word_analogy(vectors: np.ndarray, words, a: str, b: str, c: str, k: int = 10
                 ) -> list[tuple[str, float]]:
    """Words nearest (cosine) to ``a − b + c``, leaving out the three given words."""
    index = {str(w).strip().lower(): i for i, w in enumerate(words)}
    missing = [w for w in (a, b, c) if w.strip().lower() not in index]
    if missing:
        raise DataError(f"not in the map's vocabulary: {', '.join(missing)}")
    ia, ib, ic = (index[w.strip().lower()] for w in (a, b, c))
    v = np.asarray(vectors, np.float64)
    unit = v / np.maximum(np.linalg.norm(v, axis=1, keepdims=True), 1e-12)
    target = unit[ia] - unit[ib] + unit[ic]
    idx, dist = nearest_neighbours(unit, target, k + 3, "cosine")
    out = [(str(words[i]).strip(), 1.0 - float(d)) for i, d in zip(idx, dist)
           if i not in (ia, ib, ic)]
    return out[:k]
