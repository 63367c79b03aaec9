"""Explore room fixtures: a tiny seeded random image VAE with an atlas (48 toy images, two
attribute directions), and explorer views on the synchronous engine that record each job."""

from __future__ import annotations

import numpy as np
import pytest

from desktop_app.engine.sync_engine import SyncEngine

LATENT = 8


def toy_set(n: int = 48, size: int = 28, seed: int = 0):
    """Grey blobs (28×28); brightness and position are labelled attributes; two classes."""
    from desktop_app.ml.image.datasets import ImageSet

    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:size, 0:size] / size
    px, bright, right = [], [], []
    for _ in range(n):
        b, r = rng.integers(0, 2, size=2)
        cx = 0.7 if r else 0.3
        blob = np.exp(-((xx - cx) ** 2 + (yy - 0.5) ** 2) / 0.03) * (0.9 if b else 0.4)
        img = np.clip(blob[..., None] + rng.normal(0, 0.02, (size, size, 1)), 0, 1)
        px.append((img * 255).astype(np.uint8))
        bright.append(1.0 if b else -1.0)
        right.append(5.0 if r else 1.0)
    return ImageSet(pixels=np.stack(px), names=[f"toy-{i}" for i in range(n)],
                    labels={"smile": np.array(bright), "skin_tone": np.array(right)},
                    categories={"side": ["right" if r > 2 else "left" for r in right]},
                    flip_ok=np.ones(n, bool))


@pytest.fixture(scope="session")
def tiny_image_model(tmp_path_factory):
    """Folder of a tiny random (untrained, seeded) image VAE with its atlas and directions."""
    from desktop_app.ml.image.tiny import tiny_vae_dir

    return tiny_vae_dir(tmp_path_factory.mktemp("models") / "tinyexplore", 28, LATENT,
                        data=toy_set(), held_out=12)


@pytest.fixture(scope="session")
def no_atlas_model(tmp_path_factory):
    """An image model folder without an atlas (what a bare VAE looks like)."""
    from desktop_app.ml.image.tiny import tiny_vae_dir

    return tiny_vae_dir(tmp_path_factory.mktemp("models") / "noatlas", 28, LATENT, seed=1)


class RecordingEngine(SyncEngine):
    """A SyncEngine that keeps every submitted job, for asserting what a click asked for."""

    def __init__(self, *args, **kw) -> None:
        super().__init__(*args, **kw)
        self.jobs = []

    def submit(self, job, *, supersede: bool = False):
        self.jobs.append(job)
        return super().submit(job, supersede=supersede)


@pytest.fixture
def recording_engine():
    """The RecordingEngine class (a fixture, so tests need not import this conftest)."""
    return RecordingEngine


@pytest.fixture
def make_view(qtbot):
    from desktop_app.ui.explore.view import ExploreView

    engines = []

    def make(engine=None, compact=False):
        eng = engine or RecordingEngine()
        engines.append(eng)
        view = ExploreView(eng, compact=compact)
        qtbot.addWidget(view)
        view.resize(1000, 700)
        view.show()
        qtbot.waitExposed(view)
        return view

    yield make
    for eng in engines:
        eng.shutdown()


@pytest.fixture
def image_view(make_view, tiny_image_model):
    view = make_view()
    view.load("image", str(tiny_image_model))
    assert view.data is not None, view.status.text()
    return view
