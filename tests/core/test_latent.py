"""Latent maths: seeded sampling, lerp/slerp paths, directions, PCA (numpy only)."""

from __future__ import annotations

import numpy as np
import pytest

from desktop_app.core import latent as lat
from desktop_app.core.errors import UsageError


def test_sampling_is_seeded_and_scaled():
    a = lat.sample_latents(7, 4, 16, 1.0)
    assert a.shape == (4, 16) and a.dtype == np.float32
    assert np.array_equal(a, lat.sample_latents(7, 4, 16, 1.0))
    assert not np.array_equal(a, lat.sample_latents(8, 4, 16, 1.0))
    assert np.allclose(lat.sample_latents(7, 4, 16, 0.5), a * 0.5, atol=1e-6)
    big = lat.sample_latents(0, 4000, 32, 0.7)
    assert big.std() == pytest.approx(0.7, rel=0.02)
    with pytest.raises(UsageError):
        lat.sample_latents(0, 1, 4, -1.0)


@pytest.mark.parametrize("fn", [lat.lerp_path, lat.slerp_path])
@pytest.mark.parametrize("frames", [2, 3, 30])
def test_paths_include_both_ends(fn, frames):
    rng = np.random.default_rng(0)
    a, b = rng.normal(size=32), rng.normal(size=32)
    p = fn(a, b, frames)
    assert p.shape == (frames, 32)
    assert np.allclose(p[0], a, atol=1e-6) and np.allclose(p[-1], b, atol=1e-6)


def test_slerp_keeps_norm_and_constant_angle():
    rng = np.random.default_rng(1)
    a = rng.normal(size=64)
    b = rng.normal(size=64)
    b *= np.linalg.norm(a) / np.linalg.norm(b)
    p = lat.slerp_path(a, b, 11).astype(np.float64)
    norms = np.linalg.norm(p, axis=1)
    assert np.allclose(norms, norms[0], rtol=1e-5)          # stays on the sphere
    mid = lat.lerp_path(a, b, 11)[5]
    assert np.linalg.norm(mid) < 0.9 * norms[5]             # lerp cuts inside it
    u = p / norms[:, None]
    angles = np.arccos(np.clip(np.sum(u[1:] * u[:-1], axis=1), -1, 1))
    assert np.allclose(angles, angles[0], rtol=1e-4)        # constant angular speed


def test_slerp_degenerate_cases():
    a = np.ones(8)
    assert np.allclose(lat.slerp_path(a, a, 5), np.ones((5, 8)))
    p = lat.slerp_path(a, -a, 5)                            # opposite vectors
    assert np.allclose(p[0], a) and np.allclose(p[-1], -a)
    assert np.all(np.isfinite(p))
    z = lat.slerp_path(np.zeros(8), a, 3)
    assert np.allclose(z[1], 0.5 * a)
    with pytest.raises(UsageError):
        lat.slerp_path(a, a, 1)
    with pytest.raises(UsageError):
        lat.lerp_path(a, np.ones(9), 3)
    with pytest.raises(UsageError):
        lat.path(a, a, 3, "cubic")


def test_orthogonalize_removes_other_attributes():
    rng = np.random.default_rng(2)
    others = [rng.normal(size=32) for _ in range(3)]
    v = rng.normal(size=32) + 2 * others[0]
    d = lat.orthogonalize(v, others)
    assert np.linalg.norm(d) == pytest.approx(1.0)
    for o in others:
        assert abs(d @ o) < 1e-9
    assert d @ v > 0                                        # still points the same way
    assert np.allclose(lat.orthogonalize(v, []), v / np.linalg.norm(v))


def test_apply_directions_scales_and_reports_unknown_names():
    d = {"smile": lat.Direction("smile", np.eye(4)[1].astype(np.float32), 2.0),
         "older": lat.Direction("older", np.eye(4)[2].astype(np.float32), 0.5)}
    z = np.zeros(4, np.float32)
    out = lat.apply_directions(z, d, {"smile": 1.5, "older": -2})
    assert np.allclose(out, [0, 3.0, -1.0, 0])
    assert np.array_equal(z, np.zeros(4))                   # input untouched
    with pytest.raises(UsageError, match="older, smile"):
        lat.apply_directions(z, d, {"frown": 1})


def test_pca_orders_by_variance_and_projects():
    rng = np.random.default_rng(3)
    x = rng.normal(size=(500, 3)) * [5.0, 2.0, 0.1] + [1, 2, 3]
    comps, std, mean = lat.pca(x, 2)
    assert comps.shape == (2, 3)
    assert abs(comps[0] @ [1, 0, 0]) > 0.99 and abs(comps[1] @ [0, 1, 0]) > 0.99
    assert std[0] == pytest.approx(5.0, rel=0.1) and std[1] == pytest.approx(2.0, rel=0.1)
    xy = lat.project(x, comps, mean)
    assert xy.shape == (500, 2) and abs(xy.mean()) < 1e-4
    assert list(lat.nearest(x[10], x, 2))[0] == 10


def test_step_sizes_of_a_line_are_equal():
    s = lat.step_sizes(lat.lerp_path(np.zeros(5), np.ones(5), 6))
    assert s.shape == (5,) and np.allclose(s, s[0])
