"""Imagine room fixtures: a tiny seeded random 64×64 RGB VAE saved as a real model folder
(weights, directions "smile", "skin_tone", "style" + 8 principal ones, atlas), and the panel
on a SyncEngine (or the real threaded engine) pointed at it."""

from __future__ import annotations

import numpy as np
import pytest

from desktop_app.engine.sync_engine import SyncEngine
from desktop_app.ui.imagine.panel import ImaginePanel
from desktop_app.ui.widgets.randomness import RandomnessControls

LATENT = 12


def toy_set(n: int = 48, size: int = 64, seed: int = 0):
    """Coloured blobs; brightness, position and hue are labelled attributes."""
    from desktop_app.ml.image.datasets import ImageSet

    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:size, 0:size] / size
    px, smile, skin, style = [], [], [], []
    for _ in range(n):
        b, r, h = rng.integers(0, 2, size=3)
        cx = 0.7 if r else 0.3
        blob = np.exp(-((xx - cx) ** 2 + (yy - 0.5) ** 2) / 0.03) * (0.9 if b else 0.4)
        colour = np.array([1.0, 0.6, 0.2]) if h else np.array([0.2, 0.5, 1.0])
        img = np.clip(blob[..., None] * colour + rng.normal(0, 0.02, (size, size, 3)), 0, 1)
        px.append((img * 255).astype(np.uint8))
        smile.append(1.0 if b else -1.0)
        skin.append(5.0 if r else 1.0)
        style.append(float(h))
    return ImageSet(pixels=np.stack(px), names=[f"toy-{i}" for i in range(n)],
                    labels={"smile": np.array(smile), "skin_tone": np.array(skin),
                            "style": np.array(style)},
                    categories={"group": ["toy"] * n}, flip_ok=np.ones(n, bool))


@pytest.fixture(scope="session")
def tiny_image_model(tmp_path_factory):
    """Folder of a tiny random (untrained, seeded) image VAE in the image engine's format."""
    from desktop_app.ml.image.tiny import tiny_vae_dir

    folder = tiny_vae_dir(tmp_path_factory.mktemp("models") / "tinyvae", 64, LATENT,
                          data=toy_set(), held_out=12)
    (folder / "MODEL_CARD.md").write_text("# tiny test VAE\n\nLicence: MIT\n")
    return folder


@pytest.fixture(scope="session")
def other_image_model(tmp_path_factory):
    """A second tiny model with other weights (for foreign-latent PNGs)."""
    from desktop_app.ml.image.tiny import tiny_vae_dir

    return tiny_vae_dir(tmp_path_factory.mktemp("models") / "othervae", 64, LATENT, seed=1)


@pytest.fixture
def make_panel(qtbot, tiny_image_model):
    """Build ImaginePanels on SyncEngines (or a given engine); engines shut down afterwards."""
    engines = []

    def make(engine=None, model=None, **kw):
        eng = engine or SyncEngine()
        engines.append(eng)
        randomness = RandomnessControls()
        randomness.set_locked(True)
        randomness.seedSpin.setValue(1234)
        panel = ImaginePanel(eng, randomness, model=str(model or tiny_image_model),
                             autoload=False, **kw)
        qtbot.addWidget(panel)
        qtbot.addWidget(randomness)
        panel.resize(1100, 700)
        return panel

    yield make
    for eng in engines:
        eng.shutdown()


@pytest.fixture
def panel(make_panel):
    """A panel with the tiny model loaded and its first grid sampled (seed 1234)."""
    p = make_panel()
    p.request_model(p._requested_model)
    assert p.model_info is not None, p.messageLabel.text()
    return p
