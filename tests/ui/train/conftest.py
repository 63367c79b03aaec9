"""Train-room fixtures: a panel on the synchronous engine, tiny test presets, small data sets."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from desktop_app.core.melody import Melody, Note
from desktop_app.core.midi import write_midi
from desktop_app.engine.sync_engine import SyncEngine
from desktop_app.ui.train import presets as P
from desktop_app.ui.widgets.randomness import RandomnessControls

#: Tiny configurations of the real commands (seconds, not hours), used only by these tests.
TEST_PRESETS = {
    "text": P.Preset("test", 37_000, 0.01, 60, ("--size", "test", "--vocab-size", "300",
                                                  "--context", "32", "--batch-size", "8",
                                                  "--eval-batches", "2")),
    "image": P.Preset("test", 50_000, 0.05, 20, ("--size", "28", "--latent", "8",
                                                  "--batch-size", "8")),
    "music": P.Preset("test", 30_848, 0.02, 40, ("--size", "test", "--batch-size", "8")),
}

TEXT = ("Once upon a time there was a little fox who lived by the river. Every morning the fox "
        "walked to the water and looked at the fish. 'Good morning, fish,' said the fox. ")


@pytest.fixture
def test_presets(monkeypatch):
    """Add the tiny "test" size to each medium's presets for this test."""
    for kind, preset in TEST_PRESETS.items():
        monkeypatch.setitem(P.PRESETS[kind], "test", preset)


@pytest.fixture
def panel(qtbot, test_presets):
    from desktop_app.ui.train.panel import TrainPanel
    engine = SyncEngine()
    randomness = RandomnessControls()
    qtbot.addWidget(randomness)
    p = TrainPanel(engine, randomness)
    qtbot.addWidget(p)
    yield p
    p.shutdown()
    engine.shutdown()


def _choose(panel, kind: str, size: str = "test", steps: int | None = None) -> None:
    panel.trainKindCombo.setCurrentIndex(panel.trainKindCombo.findData(kind))
    index = panel.startFromCombo.findData(f"size:{size}")
    assert index >= 0, f"no {size} preset for {kind} (request test_presets before the panel)"
    panel.startFromCombo.setCurrentIndex(index)
    panel.stepsSpin.setValue(steps or TEST_PRESETS[kind].default_steps)


@pytest.fixture
def choose():
    """choose(panel, kind, size="test", steps=None): pick what to train in the room."""
    return _choose


@pytest.fixture
def text_folder(tmp_path):
    folder = tmp_path / "my-writing"
    folder.mkdir()
    for i in range(3):
        (folder / f"story{i}.txt").write_text(TEXT * 45, encoding="utf-8")
    return folder


@pytest.fixture
def image_folder(tmp_path):
    folder = tmp_path / "pictures"
    folder.mkdir()
    rng = np.random.default_rng(0)
    for i in range(24):
        a = np.full((40, 40, 3), 30, np.uint8)
        a[:, :, i % 3] = 200
        x = int(rng.integers(0, 20))
        a[10:30, x:x + 12] = 255
        Image.fromarray(a).save(folder / f"pic{i:02d}.png")
    return folder


@pytest.fixture
def midi_folder(tmp_path):
    folder = tmp_path / "tunes"
    folder.mkdir()
    rng = np.random.default_rng(1)
    scale = [60, 62, 64, 65, 67, 69, 71, 72]
    for i in range(16):
        notes, t = [], 0.0
        while t < 16:
            d = float(rng.choice([0.5, 1.0, 1.0, 2.0]))
            notes.append(Note(start=t, pitch=int(rng.choice(scale)), duration=d))
            t += d
        write_midi(Melody(notes=tuple(notes), tempo=120.0, title=f"tune {i}"),
                   folder / f"tune{i:02d}.mid")
    return folder
