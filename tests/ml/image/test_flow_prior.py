"""The learned latent prior: training task, conditioning, guidance, temperature, seeds."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from desktop_app.core.errors import UsageError
from desktop_app.ml.image.flow_prior import (FlowPrior, FlowPriorConfig, FlowPriorTask,
                                             load_flow_prior)
from desktop_app.ml.image.runtime import ImageModel
from desktop_app.ml.training.loop import TrainConfig, train
from image_helpers import add_tiny_flow_prior, make_tiny_model_dir


@pytest.fixture(scope="module")
def folder(tmp_path_factory):
    return add_tiny_flow_prior(make_tiny_model_dir(tmp_path_factory.mktemp("fp") / "tiny"))


def test_forward_shapes_and_condition_rows():
    torch.manual_seed(0)
    m = FlowPrior(FlowPriorConfig(latent_dim=8, width=16, hidden=32, blocks=2))
    x, t = torch.randn(5, 8), torch.rand(5)
    g = torch.tensor([0, 1, 8, 9, 3])        # 9 = no group
    s = torch.tensor([0, 1, 2, 2, 1])        # 2 = no style
    assert m(x, t, g, s).shape == (5, 8)
    with pytest.raises(IndexError):
        m(x, t, torch.tensor([10] * 5), s)   # past the "no group" row
    assert m.loss(torch.randn(7, 8), torch.zeros(7, dtype=torch.long),
                  torch.ones(7, dtype=torch.long)).ndim == 0


def test_config_bounds():
    with pytest.raises(ValueError):
        FlowPriorConfig(blocks=0)
    with pytest.raises(ValueError):
        FlowPriorConfig(width=10**6)


def test_seeded_sampling_is_reproducible_and_conditioned(folder):
    m = ImageModel(folder)
    assert m.flow is not None and m.categories[0] == "smileys" and len(m.categories) == 9
    a = m.sample_latents(5, 3, 1.0, category="animals")
    assert a.shape == (3, m.latent_dim) and a.dtype == np.float32
    assert np.array_equal(a, m.sample_latents(5, 3, 1.0, category="animals"))
    assert not np.allclose(a, m.sample_latents(6, 3, 1.0, category="animals"))
    assert not np.allclose(a, m.sample_latents(5, 3, 1.0, category="flags"))
    # grid cells (one batch) match single draws per seed
    grid = m.sample_seeds([4, 5, 6], 0.8, category="food", style="noto")
    one = m.sample_latents(5, 1, 0.8, category="food", style="noto")[0]
    assert np.allclose(grid[1], one, atol=1e-5)


def test_guidance_and_temperature_change_the_samples(folder):
    m = ImageModel(folder)
    base = m.sample_latents(1, 4, 1.0, category="objects", guidance=1.0)
    strong = m.sample_latents(1, 4, 1.0, category="objects", guidance=4.0)
    assert not np.allclose(base, strong)
    # no condition: guidance has nothing to steer
    assert np.array_equal(m.sample_latents(1, 4, 1.0, guidance=1.0),
                          m.sample_latents(1, 4, 1.0, guidance=4.0))
    cold = m.sample_latents(2, 64, 0.0)
    warm = m.sample_latents(2, 64, 1.5)
    assert np.allclose(cold, cold[0], atol=1e-5)          # zero noise: one deterministic point
    assert warm.std(0).mean() > cold.std(0).mean() + 1e-3


def test_bad_category_style_guidance(folder, tmp_path):
    m = ImageModel(folder)
    with pytest.raises(UsageError, match="animals"):
        m.sample_latents(0, 1, category="dragons")
    with pytest.raises(UsageError, match="noto"):
        m.sample_latents(0, 1, style="crayon")
    with pytest.raises(UsageError, match="guidance"):
        m.sample_latents(0, 1, category="food", guidance=99.0)
    plain = ImageModel(make_tiny_model_dir(tmp_path / "plain"))
    assert plain.categories == ()
    with pytest.raises(UsageError, match="no learned prior"):
        plain.sample_latents(0, 1, category="food")


def test_trains_with_the_shared_loop_and_reloads(tmp_path):
    rng = np.random.default_rng(0)
    lat = np.concatenate([rng.normal(-2, 0.1, (64, 4)), rng.normal(2, 0.1, (64, 4))])
    groups = np.repeat([0, 1], 64)
    styles = np.tile([0, 1], 64)
    cfg = FlowPriorConfig(latent_dim=4, width=32, hidden=64, blocks=2)
    task = FlowPriorTask(lat, groups, styles, (lat[::8], groups[::8], styles[::8]), cfg,
                         data_id="toy")
    res = train(task, TrainConfig(steps=300, batch_size=64, lr=3e-3, warmup_steps=20,
                                  eval_every=0, checkpoint_every=0), tmp_path / "run")
    assert res.val_losses[-1][1] < 1.0
    model, meta = load_flow_prior(tmp_path / "run")
    eps = np.random.default_rng(1).standard_normal((200, 4)).astype(np.float32)
    a = model.sample(eps, group=0, guidance=2.0)
    b = model.sample(eps, group=1, guidance=2.0)
    # each condition lands on its own cluster
    assert (a.mean(1) < 0).mean() > 0.8 and (b.mean(1) > 0).mean() > 0.8
    assert meta["groups"][2] == "Animals & Nature"


def test_class_balanced_sampling_draws_rare_groups_more_often():
    rng = np.random.default_rng(0)
    lat = rng.normal(size=(1000, 4))
    groups = np.where(np.arange(1000) < 900, 0, 1)          # 10 % of group 1
    styles = np.zeros(1000, np.int64)
    cfg = FlowPriorConfig(latent_dim=4, width=16, hidden=32, blocks=1)

    def share(balance):
        task = FlowPriorTask(lat, groups, styles, (lat[:8], groups[:8], styles[:8]), cfg,
                             data_id="toy", balance=balance)
        gen = torch.Generator().manual_seed(0)
        drawn = torch.cat([task.train_batch(gen, 512, 0, 1)[1] for _ in range(8)])
        return float((drawn == 1).float().mean())

    assert abs(share(0.0) - 0.10) < 0.03
    assert abs(share(1.0) - 0.50) < 0.05
    assert abs(share(0.5) - 0.25) < 0.04                      # sqrt(100) / (sqrt(900) + sqrt(100))
    with pytest.raises(ValueError, match="balance"):
        FlowPriorTask(lat, groups, styles, (lat[:8], groups[:8], styles[:8]), cfg,
                      data_id="toy", balance=2.0)


def test_one_group_per_row_matches_per_group_solves(folder):
    m = ImageModel(folder)
    eps = np.random.default_rng(3).standard_normal((4, m.latent_dim)).astype(np.float32)
    rows = m.flow.sample(eps, group=np.array([0, 2, 2, 8]), guidance=3.0)
    for i, grp in enumerate([0, 2, 2, 8]):
        one = m.flow.sample(eps[i:i + 1], group=grp, guidance=3.0)
        assert np.allclose(rows[i], one[0], atol=1e-5)
    # more steps land closer to a fine solve than fewer (the solver converges)
    fine = m.flow.sample(eps, group=1, steps=64, warp=1.0)
    errs = [np.abs(m.flow.sample(eps, group=1, steps=k) - fine).mean() for k in (2, 6)]
    assert errs[1] < errs[0]


def test_any_draws_a_group_per_seed_in_the_recorded_proportions(tmp_path):
    only_animals = [0, 0, 1, 0, 0, 0, 0, 0, 0]
    m = ImageModel(add_tiny_flow_prior(make_tiny_model_dir(tmp_path / "a"),
                                       extra={"group_counts": only_animals}))
    anyone = m.sample_seeds([3, 4, 5], 1.0, guidance=3.0)
    assert np.allclose(anyone, m.sample_seeds([3, 4, 5], 1.0, category="animals",
                                              guidance=3.0), atol=1e-6)
    assert np.allclose(m.sample_latents(4, 1, 1.0, guidance=3.0)[0], anyone[1], atol=1e-5)
    # guided now, so guidance changes "Any" too
    assert not np.allclose(anyone, m.sample_seeds([3, 4, 5], 1.0, guidance=1.0))
    mixed = ImageModel(add_tiny_flow_prior(make_tiny_model_dir(tmp_path / "b"),
                                           extra={"group_counts": [1, 0, 0, 0, 0, 0, 0, 0, 1]}))
    groups = mixed._any_groups(list(range(400)), 400)
    assert set(groups) == {0, 8} and 0.4 < (groups == 0).mean() < 0.6
    # bad sizes in the metadata: the unconditional field, as for an older prior
    bad = ImageModel(add_tiny_flow_prior(make_tiny_model_dir(tmp_path / "c"),
                                         extra={"group_counts": [1, 2]}))
    assert bad._any_groups([1], 1) is None
