"""Latent-space maths for the image models (numpy only: no torch, no Qt).

* ``sample_latents``: seeded z ~ N(0, tau^2 I); tau is the "temperature" of the noise (tau < 1
  is the VAE's truncation trick: typical, cleaner samples).
* ``lerp_path`` / ``slerp_path``: N frames from a to b, both ends included. Slerp follows the
  great circle (Shoemake 1985; White 2016, "Sampling generative networks"), so intermediate
  latents keep the norm a Gaussian prior expects instead of shrinking towards the origin.
* ``Direction`` / ``apply_directions``: named unit directions with a scale (one standard
  deviation of the encoded data along that direction), so "smile = +1.5" moves 1.5 std devs.
* ``orthogonalize``: Gram-Schmidt of one direction against others (InterFaceGAN's conditional
  manipulation, Shen et al. 2020).
* ``pca``: principal directions of a cloud of latents, by variance; ``project`` to 2-D.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from desktop_app.core.errors import UsageError


def sample_latents(seed: int, count: int, dim: int, temperature: float = 1.0) -> np.ndarray:
    """``(count, dim)`` float32 latents from N(0, temperature^2 I); same seed -> same latents."""
    if count < 1 or dim < 1:
        raise UsageError("count and dim must be at least 1")
    if not 0.0 <= temperature <= 10.0:
        raise UsageError(f"temperature must be between 0 and 10, not {temperature}")
    rng = np.random.default_rng(int(seed) & 0xFFFFFFFFFFFFFFFF)
    return (rng.standard_normal((count, dim)) * temperature).astype(np.float32)


def _check_pair(a: np.ndarray, b: np.ndarray, frames: int) -> tuple[np.ndarray, np.ndarray]:
    a, b = np.asarray(a, np.float64).ravel(), np.asarray(b, np.float64).ravel()
    if a.shape != b.shape:
        raise UsageError(f"latents differ in size ({a.size} vs {b.size})")
    if frames < 2:
        raise UsageError(f"a path needs at least 2 frames, not {frames}")
    return a, b


def lerp_path(a: np.ndarray, b: np.ndarray, frames: int) -> np.ndarray:
    """``(frames, dim)``: straight line from a (first row) to b (last row)."""
    a, b = _check_pair(a, b, frames)
    t = np.linspace(0.0, 1.0, frames)[:, None]
    return ((1.0 - t) * a + t * b).astype(np.float32)


def slerp_path(a: np.ndarray, b: np.ndarray, frames: int) -> np.ndarray:
    """``(frames, dim)``: spherical interpolation a -> b, norms interpolated linearly.

    The direction moves along the great circle between a/|a| and b/|b| at constant angular
    speed; the length goes linearly from |a| to |b|. Nearly parallel (or zero) vectors fall
    back to lerp.
    """
    a, b = _check_pair(a, b, frames)
    t = np.linspace(0.0, 1.0, frames)[:, None]
    na, nb = np.linalg.norm(a), np.linalg.norm(b)
    if na < 1e-12 or nb < 1e-12:
        return lerp_path(a, b, frames)
    ua, ub = a / na, b / nb
    omega = np.arccos(np.clip(ua @ ub, -1.0, 1.0))
    if omega < 1e-6:
        return lerp_path(a, b, frames)
    if np.pi - omega < 1e-6:  # opposite: any great circle works; pick one through a helper axis
        helper = np.zeros_like(ua)
        helper[int(np.argmin(np.abs(ua)))] = 1.0
        perp = helper - (helper @ ua) * ua
        perp /= np.linalg.norm(perp)
        dirs = np.cos(t * omega) * ua + np.sin(t * omega) * perp
    else:
        s = np.sin(omega)
        dirs = (np.sin((1.0 - t) * omega) / s) * ua + (np.sin(t * omega) / s) * ub
    out = dirs * ((1.0 - t) * na + t * nb)
    out[0], out[-1] = a, b
    return out.astype(np.float32)


def path(a: np.ndarray, b: np.ndarray, frames: int, method: str = "slerp") -> np.ndarray:
    if method == "slerp":
        return slerp_path(a, b, frames)
    if method == "lerp":
        return lerp_path(a, b, frames)
    raise UsageError(f"unknown path method {method!r}; use slerp or lerp")


@dataclass(frozen=True)
class Direction:
    """A named unit vector in latent space; ``scale`` = 1 std dev of the data along it."""

    name: str
    vector: np.ndarray
    scale: float
    kind: str = "supervised"   # "supervised" (from labels) or "pca"
    description: str = ""


def unit(v: np.ndarray) -> np.ndarray:
    v = np.asarray(v, np.float64).ravel()
    n = np.linalg.norm(v)
    if n < 1e-12:
        raise ValueError("cannot normalise a zero vector")
    return v / n


def orthogonalize(v: np.ndarray, others: list[np.ndarray] | np.ndarray) -> np.ndarray:
    """Unit ``v`` with its components along the span of ``others`` removed (Gram-Schmidt).

    Conditional manipulation as in InterFaceGAN: moving along the result changes the target
    attribute while leaving the (linear) scores of the other attributes unchanged.
    """
    v = np.asarray(v, np.float64).ravel()
    others = [np.asarray(o, np.float64).ravel() for o in others]
    if not others:
        return unit(v)
    q, _ = np.linalg.qr(np.stack(others, axis=1))   # (dim, k) orthonormal basis of the span
    return unit(v - q @ (q.T @ v))


def apply_directions(z: np.ndarray, directions: dict[str, Direction],
                     amounts: dict[str, float]) -> np.ndarray:
    """``z + sum(amount * scale * vector)``; an unknown name raises UsageError listing them."""
    out = np.array(z, np.float64, copy=True)
    for name, amount in amounts.items():
        if name not in directions:
            have = ", ".join(sorted(directions)) or "none"
            raise UsageError(f"this model has no direction {name!r}; it has: {have}")
        d = directions[name]
        out = out + float(amount) * d.scale * np.asarray(d.vector, np.float64)
    return out.astype(np.float32)


def pca(x: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(components (k, dim), std devs (k,), mean (dim,))`` of rows of ``x``, by variance.

    Signs are fixed so each component's largest-magnitude entry is positive (deterministic).
    """
    x = np.asarray(x, np.float64)
    mean = x.mean(0)
    _, s, vt = np.linalg.svd(x - mean, full_matrices=False)
    k = min(k, vt.shape[0])
    comps = vt[:k]
    signs = np.sign(comps[np.arange(k), np.argmax(np.abs(comps), axis=1)])
    comps = comps * signs[:, None]
    std = s[:k] / np.sqrt(max(len(x) - 1, 1))
    return comps, std, mean


def project(x: np.ndarray, components: np.ndarray, mean: np.ndarray) -> np.ndarray:
    """Coordinates of rows of ``x`` along ``components`` (e.g. a 2-D map for Explore)."""
    return ((np.asarray(x, np.float64) - mean) @ np.asarray(components, np.float64).T
            ).astype(np.float32)


def nearest(x: np.ndarray, points: np.ndarray, k: int = 1) -> np.ndarray:
    """Indices of the ``k`` rows of ``points`` nearest to ``x`` (Euclidean), nearest first."""
    d = np.linalg.norm(np.asarray(points, np.float64) - np.asarray(x, np.float64), axis=1)
    return np.argsort(d, kind="stable")[:k]


def step_sizes(frames: np.ndarray) -> np.ndarray:
    """Root-mean-square change between consecutive frames (for the smoothness check)."""
    f = np.asarray(frames, np.float64).reshape(len(frames), -1)
    return np.sqrt(np.mean(np.diff(f, axis=0) ** 2, axis=1))
