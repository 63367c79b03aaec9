"""Projections, neighbours, search and analogies of the Explore room (numpy only)."""

from __future__ import annotations

import numpy as np
import pytest

from desktop_app.core import projection as pj
from desktop_app.core.errors import DataError
from desktop_app.core.explore import (MapData, load_cached_layout, path_latents,
                                      save_cached_layout)


def _codes(n=300, d=16, seed=0):
    rng = np.random.default_rng(seed)
    return (rng.normal(size=(n, d)) * np.linspace(3, 0.2, d)).astype(np.float32)


@pytest.mark.parametrize("n", [10, 300])          # SVD route and covariance route
def test_pca_map_matches_svd_and_inverts_on_the_plane(n):
    x = _codes(n)
    m = pj.pca_map(x)
    centred = x - x.mean(0)
    _, s, vt = np.linalg.svd(centred, full_matrices=False)
    for k in range(2):
        assert abs(abs(m.basis[k] @ vt[k]) - 1) < 1e-6
    np.testing.assert_allclose(m.basis @ m.basis.T, np.eye(2), atol=1e-9)
    np.testing.assert_allclose(m.std, s[:2] / np.sqrt(n - 1), rtol=1e-6)
    xy = m.transform(x)
    assert xy.shape == (n, 2) and xy.dtype == np.float32
    z = m.inverse((1.5, -2.0))
    np.testing.assert_allclose(m.transform(z[None])[0], (1.5, -2.0), atol=1e-4)
    np.testing.assert_allclose(m.inverse((0, 0)), x.mean(0), atol=1e-5)


def test_axes_map_is_orthonormal_and_rejects_parallel_directions():
    x = _codes()
    a, b = np.eye(16)[0] * 3, np.eye(16)[0] + np.eye(16)[1]
    m = pj.axes_map(x, a, b, ("smile", "older"))
    np.testing.assert_allclose(m.basis @ m.basis.T, np.eye(2), atol=1e-9)
    np.testing.assert_allclose(m.transform(x)[:, 0], x[:, 0] - x[:, 0].mean(), atol=1e-4)
    with pytest.raises(DataError, match="point the same way"):
        pj.axes_map(x, a, 2 * a, ("a", "b"))
    with pytest.raises(DataError, match="values"):
        pj.axes_map(x, np.ones(3), np.ones(16))


def test_too_few_or_bad_codes_are_refused():
    with pytest.raises(DataError, match="at least 3"):
        pj.pca_map(np.zeros((2, 5)))
    with pytest.raises(DataError, match="NaN"):
        pj.pca_map(np.array([[0, 1], [np.nan, 2], [3, 4]], float))


@pytest.mark.parametrize("metric", ["cosine", "euclidean"])
def test_nearest_neighbours_match_brute_force(metric):
    x = _codes(1000, 12, seed=3)
    q = x[17]
    idx, dist = pj.nearest_neighbours(x, q, 15, metric, exclude=17, chunk=64)
    xd = x.astype(np.float64)
    if metric == "cosine":
        d = 1 - xd @ xd[17] / (np.linalg.norm(xd, axis=1) * np.linalg.norm(xd[17]))
    else:
        d = np.linalg.norm(xd - xd[17], axis=1)
    d[17] = np.inf
    expected = np.argsort(d, kind="stable")[:15]
    np.testing.assert_array_equal(idx, expected)
    np.testing.assert_allclose(dist, d[expected], atol=1e-6)
    assert 17 not in idx
    with pytest.raises(ValueError):
        pj.nearest_neighbours(x, q, 3, "manhattan")


def test_blend_inverse_returns_the_code_on_a_point_and_blends_between():
    xy = np.array([[0, 0], [1, 0], [0, 1], [5, 5]], float)
    codes = np.eye(4, dtype=np.float32)
    np.testing.assert_allclose(pj.blend_inverse(xy, codes, (1, 0)), codes[1], atol=1e-6)
    mid = pj.blend_inverse(xy, codes, (0.5, 0), k=2)
    np.testing.assert_allclose(mid, [0.5, 0.5, 0, 0], atol=1e-6)


def test_search_labels_orders_exact_prefix_then_inside():
    names = ["cat", "catalogue", "wildcat", "dog", "Cat"]
    assert pj.search_labels(names, "cat") == [0, 4, 1, 2]
    assert pj.search_labels(names, "  ") == []
    cats = {"class": ("pet", "book", "pet", "pet", "pet")}
    assert pj.search_labels(names, "book", cats) == [1]


def test_word_analogy_finds_the_constructed_answer():
    words = ["king", "queen", "man", "woman", "apple", "pear"]
    royal, male, female = np.eye(8)[0], np.eye(8)[1], np.eye(8)[2]
    vec = np.stack([royal + male, royal + female, male, female, np.eye(8)[5], np.eye(8)[6]])
    found = pj.word_analogy(vec, words, "king", "man", "woman", k=3)
    assert found[0][0] == "queen" and found[0][1] > 0.9
    with pytest.raises(DataError, match="not in the map's vocabulary: zebra"):
        pj.word_analogy(vec, words, "king", "zebra", "woman")


def test_path_latents_count_and_ends():
    w = np.arange(12, dtype=np.float32).reshape(3, 4)
    p = path_latents(w, 5)
    assert p.shape == (11, 4)
    np.testing.assert_array_equal(p[0], w[0])
    np.testing.assert_array_equal(p[5], w[1])
    np.testing.assert_array_equal(p[-1], w[2])
    with pytest.raises(ValueError):
        path_latents(w[:1])


def test_layout_cache_round_trip():
    data = MapData("image", "m", _codes(20, 4), tuple(str(i) for i in range(20)))
    key = data.fingerprint()
    assert load_cached_layout(key, 20) is None
    xy = np.random.default_rng(0).normal(size=(20, 2)).astype(np.float32)
    save_cached_layout(key, xy)
    np.testing.assert_array_equal(load_cached_layout(key, 20), xy)
    assert load_cached_layout(key, 21) is None          # other data, other shape: no reuse
