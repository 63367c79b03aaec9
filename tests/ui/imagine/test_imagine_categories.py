"""Issue 21 / issue 20 item 16: the category picker, the grid caption, per-room randomness
controls, seed labels that are never cut, and morph buttons that stay put."""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

import numpy as np
import pytest
from PySide6.QtGui import QFontMetrics

from desktop_app.core import paths
from desktop_app.core.imaging import DEFAULT_GUIDANCE
from desktop_app.ml.image.runtime import ImageModel
from desktop_app.ui.widgets.randomness import IMAGE_FIELDS, TEXT_FIELDS

sys.path.insert(0, str(Path(__file__).parents[2] / "ml" / "image"))
from image_helpers import add_tiny_flow_prior  # noqa: E402


@pytest.fixture(scope="module")
def prior_model(tiny_image_model, tmp_path_factory):
    folder = tmp_path_factory.mktemp("models") / "withprior"
    shutil.copytree(tiny_image_model, folder)
    return add_tiny_flow_prior(folder)


def test_category_picker_conditions_the_grid(make_panel, prior_model):
    panel = make_panel(model=prior_model)
    panel.request_model(str(prior_model))
    assert panel.categoryCombo.isEnabled()
    assert panel.categoryCombo.itemText(0) == "Any" and panel.categoryCombo.count() == 10
    assert panel.gridCaption.text() == "Any · seeds 1234–1242"
    panel.set_category("animals")
    panel.generate()
    assert panel.gridCaption.text() == "Animals · seeds 1234–1242"
    expected = ImageModel(prior_model).sample_latents(1236, 1, 1.0, category="animals",
                                                      guidance=DEFAULT_GUIDANCE)[0]
    assert np.allclose(panel.grid.latent(2), expected, atol=1e-5)
    panel.grid.click(2)
    assert "Animals" in panel.caption.text() and "seed 1236" in panel.caption.text()
    # guidance (Randomness panel) re-samples the same seeds
    panel.randomness.guidanceSpin.setValue(6.0)
    moved = ImageModel(prior_model).sample_latents(1236, 1, 1.0, category="animals",
                                                   guidance=6.0)[0]
    assert np.allclose(panel.grid.latent(2), moved, atol=1e-5)


def test_model_without_prior_offers_no_category(panel):
    assert not panel.categoryCombo.isEnabled()
    assert panel.category() is None


def test_seed_labels_fit_their_cells(panel):
    panel.grid.resize(200, 260)
    for cell in panel.grid.cells:
        cell.set_content(None, 2_147_483_647, None)
        width = cell.width() - 4
        text, font = cell.label_fit(width)
        assert QFontMetrics(font).horizontalAdvance(text) <= width
        assert "…" not in text and text.endswith("2147483647")


def test_morph_buttons_do_not_move_when_a_is_set(panel, qtbot):
    panel.tabs.setCurrentWidget(panel.morph)
    panel.show()
    qtbot.waitExposed(panel)
    buttons = [panel.morph.findChild(type(panel.morph.makeButton), f"morph{w}FromCurrentButton")
               for w in "AB"]
    before = [b.mapTo(panel, b.rect().topLeft()) for b in buttons]
    z = panel.grid.latent(0)
    panel.morph.set_end("A", z, panel.current_pixels,
                        "seed 2147483647 · a very long source name that used to wrap " * 2)
    qtbot.wait(1)
    after = [b.mapTo(panel, b.rect().topLeft()) for b in buttons]
    assert before == after


def test_each_room_shows_its_own_randomness_controls(make_window, tiny_image_model,
                                                     monkeypatch, qtbot, tmp_path):
    root = tmp_path / "models"
    shutil.copytree(tiny_image_model, root / "image" / "emoji")
    monkeypatch.setattr(paths, "builtin_models_dir", lambda: root)
    window = make_window()
    window.show()
    qtbot.waitExposed(window)
    r = window.randomness
    window.show_room("imagine")
    assert r.shown_fields() == IMAGE_FIELDS
    assert r.noiseSpin.isVisible() and r.guidanceSpin.isVisible()
    assert not r.topKSpin.isVisible() and not r.topPSpin.isVisible()
    assert not r.temperatureSpin.isVisible() and r.seedSpin.isVisible()
    assert not any(b.isVisible() for b in r.preset_buttons.values())
    window.show_room("write")
    assert r.shown_fields() == TEXT_FIELDS
    assert r.topKSpin.isVisible() and r.temperatureSpin.isVisible()
    assert not r.noiseSpin.isVisible() and not r.guidanceSpin.isVisible()
    # values survive the round trip through the settings
    r.noiseSpin.setValue(0.7)
    r.guidanceSpin.setValue(3.5)
    values = r.to_dict()
    assert values["noise"] == 0.7 and values["guidance"] == 3.5
