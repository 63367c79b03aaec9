"""Directions (supervised + PCA), their storage, the atlas, and the quality checks."""

from __future__ import annotations

import numpy as np
import pytest

from desktop_app.core.latent import Direction
from desktop_app.ml.image.atlas import load_atlas
from desktop_app.ml.image.directions import (binary_classes, compute_directions,
                                             load_directions, logistic_probe, probe_normal,
                                             raw_direction,
                                             save_directions)
from desktop_app.ml.image.evaluate import attribute_check, morph_smoothness
from desktop_app.ml.image.model_dir import load_vae
from desktop_app.ml.image.directions import encode_all

from image_helpers import toy_images


def _clouds(n=400, d=16, seed=0):
    """Latents whose labelled attributes shift along known, correlated axes."""
    rng = np.random.default_rng(seed)
    mu = rng.normal(size=(n, d))
    style = rng.integers(0, 2, n).astype(float)
    woman = rng.integers(0, 2, n).astype(float)
    mu[:, 0] += 3 * style
    mu[:, 1] += 3 * woman + 1.5 * style              # correlated with style
    return mu, {"style": style, "woman": woman}


@pytest.mark.parametrize("method", ["mean", "probe"])
def test_supervised_directions_are_orthogonal_unit_vectors(method):
    mu, labels = _clouds()
    dirs, info = compute_directions(mu, labels, method=method, n_pca=3)
    by = {d.name: d for d in dirs}
    assert {"style", "woman", "pc1", "pc2", "pc3"} <= set(by)
    for d in dirs:
        assert np.linalg.norm(d.vector) == pytest.approx(1.0, abs=1e-5)
        assert d.scale > 0
    # conditional (InterFaceGAN): each direction is orthogonal to the normal of the other
    # attribute's boundary, so moving along it leaves that attribute's linear score unchanged
    raw = {n: raw_direction(mu, *binary_classes(labels, n), method) for n in ("style", "woman")}
    normal = {n: probe_normal(mu, *binary_classes(labels, n)) for n in ("style", "woman")}
    assert abs(float(by["style"].vector @ normal["woman"])) < 1e-6
    assert abs(float(by["woman"].vector @ normal["style"])) < 1e-6
    assert float(by["style"].vector @ raw["style"]) > 0.5
    assert float(by["woman"].vector @ raw["woman"]) > 0.5
    # the woman boundary leans on axis 0 to undo style's pull on axis 1, so the conditioned
    # style direction keeps axis 0 and drops most of axis 1
    assert abs(by["style"].vector[0]) > 2 * abs(by["style"].vector[1])
    assert info["style"]["n_positive"] + info["style"]["n_negative"] == len(mu)
    pcs = np.stack([by[f"pc{i}"].vector for i in (1, 2, 3)])
    assert np.allclose(pcs @ pcs.T, np.eye(3), atol=1e-6)
    assert by["pc1"].scale >= by["pc2"].scale >= by["pc3"].scale


def test_attributes_with_too_few_labels_are_left_out():
    mu, labels = _clouds(n=60)
    labels["older"] = np.full(60, np.nan)
    labels["older"][:3] = 1
    dirs, _ = compute_directions(mu, labels)
    assert "older" not in {d.name for d in dirs}


def test_directions_round_trip(tmp_path):
    d = [Direction("smile", np.eye(4, dtype=np.float32)[0], 1.5, "supervised", "x"),
         Direction("pc1", np.eye(4, dtype=np.float32)[1], 0.5, "pca", "y")]
    save_directions(tmp_path, d, {"smile": {"n_positive": 3}})
    back = load_directions(tmp_path)
    assert list(back) == ["smile", "pc1"]
    assert back["smile"].scale == 1.5 and np.array_equal(back["pc1"].vector, d[1].vector)
    assert load_directions(tmp_path / "none") == {}


def test_logistic_probe_separates():
    rng = np.random.default_rng(0)
    x = np.concatenate([rng.normal(-2, 1, (50, 3)), rng.normal(2, 1, (50, 3))])
    y = np.r_[np.zeros(50), np.ones(50)]
    w, b = logistic_probe(x, y)
    assert np.mean((x @ w + b > 0) == y) > 0.95


def test_finalized_folder_has_atlas_and_directions(tiny_model_dir):
    arrays, meta = load_atlas(tiny_model_dir)
    assert meta["count"] == 40 and len(meta["names"]) == 40
    assert arrays["mu"].shape == (40, 8) and arrays["xy"].shape == (40, 2)
    assert arrays["thumbs"].shape == (40, 14, 14, 1) and arrays["held_out"].sum() == 10
    assert set(load_directions(tiny_model_dir)) >= {"style", "woman", "pc1"}


def test_quality_checks_run_on_a_tiny_model(tiny_model_dir):
    model, _ = load_vae(tiny_model_dir)
    data = toy_images()
    mu = encode_all(model, data.pixels)
    res = attribute_check(model, data, mu, np.arange(30, 40), load_directions(tiny_model_dir),
                          targets=("style", "woman"))
    for row in res.values():
        assert 0.0 <= row["flipped"] <= 1.0 and 0.0 <= row["max_other_changed"] <= 1.0
    sm = morph_smoothness(model, data.pixels, pairs=3, frames=10)
    assert sm["worst_ratio"] >= 1.0 and sm["frames"] == 10


def test_balanced_probe_puts_the_boundary_between_unequal_classes():
    """36 positives among 1,000: the plain probe calls borderline points negative because the
    class is rare; the balanced one splits the classes near the middle."""
    rng = np.random.default_rng(1)
    x = np.concatenate([rng.normal(0, 1, (964, 2)), rng.normal([2.5, 0], 1, (36, 2))])
    y = np.r_[np.zeros(964), np.ones(36)]
    mid = np.array([1.25, 0.0])
    plain_w, plain_b = logistic_probe(x, y)
    bal_w, bal_b = logistic_probe(x, y, balanced=True)
    assert float(mid @ plain_w + plain_b) < -1.0
    assert abs(float(mid @ bal_w + bal_b)) < 1.0


def test_supervised_scale_is_measured_on_the_labelled_images():
    """A direction's unit is the spread of the images that carry its label, not of the whole
    set (flags have no smile)."""
    rng = np.random.default_rng(2)
    mu = rng.normal(size=(300, 4))
    mu[100:, 0] *= 10                                    # unlabelled images spread widely
    smile = np.full(300, np.nan)
    smile[:100] = np.where(mu[:100, 0] > 0, 1.0, -1.0)
    dirs, info = compute_directions(mu, {"smile": smile}, n_pca=1)
    d = {x.name: x for x in dirs}["smile"]
    assert d.scale == pytest.approx(float(np.std(mu[:100] @ d.vector)))
    assert info["smile"]["scale_over_all_images"] > 3 * d.scale
