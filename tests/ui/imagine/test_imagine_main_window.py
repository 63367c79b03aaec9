"""The Imagine room inside the main window: names for automation, autoload of the default
model, Ctrl+Enter, Ctrl+Z on a focused slider, File → Open of a picture."""

from __future__ import annotations

import shutil
from collections import Counter

import numpy as np
from PIL import Image
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QApplication, QWidget

from desktop_app.core import paths
from desktop_app.ui.imagine.panel import ImaginePanel
from imagine_helpers import photo

NAMES = ["imaginePanel", "imageView", "latentSliders", "variationGrid", "morphPanel",
         "modelPicker", "slider_skin_tone", "slider_direction_1"]


def test_imagine_room_in_the_main_window(make_window, tiny_image_model, monkeypatch, qtbot,
                                         tmp_path):
    root = tmp_path / "models"
    shutil.copytree(tiny_image_model, root / "image" / "emoji")   # stands in for the built-in
    monkeypatch.setattr(paths, "builtin_models_dir", lambda: root)
    window = make_window()
    panel = window.panel("imagine")
    assert isinstance(panel, ImaginePanel) and panel.available
    window.randomness.set_locked(True)
    window.randomness.seedSpin.setValue(77)
    window.show()
    qtbot.waitExposed(window)
    window.show_room("imagine")
    qtbot.waitUntil(lambda: panel.current_pixels is not None, timeout=20_000)  # autoloaded
    assert panel.model_info.name == "emoji" and panel.modelPicker.currentText() == "emoji"
    names = Counter(w.objectName() for w in panel.findChildren(QWidget))
    names["imaginePanel"] = 1 if panel.objectName() == "imaginePanel" else 0
    for name in NAMES:
        assert names[name] == 1, name
    assert window.findChild(QWidget, "randomnessControls").isVisible()

    window.randomness.seedSpin.setValue(500)
    window.activateWindow()
    qtbot.waitUntil(lambda: QApplication.activeWindow() is window, timeout=5000)
    qtbot.keyClick(window, Qt.Key.Key_Return, Qt.KeyboardModifier.ControlModifier)
    assert panel.grid.seed(0) == 500

    slider = panel.sliders.slider("skin_tone")
    slider.setValue(120)
    qtbot.waitUntil(lambda: not panel._decode_pending and not panel._decode_in_flight)
    slider.setFocus()
    qtbot.keyClick(slider, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)
    assert panel.history.state.amounts == ()

    picture = tmp_path / "me.png"
    Image.fromarray(photo((64, 64))).save(picture)
    window.open_path(str(picture))
    assert panel.own.mse is not None
    assert np.array_equal(panel.own.originalView.pixels().shape, (64, 64, 3))
    assert str(picture) in window.settings.recent_files()


def test_the_room_fits_the_first_window_of_a_laptop_screen(make_window, tiny_image_model,
                                                           monkeypatch, qtbot, tmp_path):
    """1256 x 706 is the first window on a 1366 x 768 screen: the room fits beside the
    Randomness dock without a horizontal scroll bar (it overflowed by 20 px, cutting "Reset
    all"; later, with the app's style sheet, by 31 px: the Morph tab's "A ← current image"
    buttons), whichever tab is open. tests/ui/conftest.py applies the style sheet."""
    root = tmp_path / "models"
    shutil.copytree(tiny_image_model, root / "image" / "emoji")
    monkeypatch.setattr(paths, "builtin_models_dir", lambda: root)
    window = make_window()
    panel = window.panel("imagine")
    window.resize(1256, 706)
    window.show()
    qtbot.waitExposed(window)
    window.show_room("imagine")
    qtbot.waitUntil(lambda: panel.current_pixels is not None, timeout=20_000)
    scroll = panel.findChild(QWidget, "imagineScroll")
    for tab in (panel.sliders, panel.morph, panel.own):
        panel.tabs.setCurrentWidget(tab)
        QApplication.processEvents()
        assert not scroll.horizontalScrollBar().isVisible(), tab.objectName()
        assert scroll.widget().minimumSizeHint().width() <= scroll.viewport().width()


def test_open_in_imagine_from_the_train_room_loads_that_model(make_window, tiny_image_model,
                                                              monkeypatch, qtbot, tmp_path):
    """The Train room's "Open … in Imagine" sends ``{"model": folder}`` over the bus: the
    room is shown and loads that model as if it had been picked."""
    root = tmp_path / "models"
    shutil.copytree(tiny_image_model, root / "image" / "emoji")
    monkeypatch.setattr(paths, "builtin_models_dir", lambda: root)
    mine = paths.user_models_dir() / "image" / "my-pictures"
    shutil.copytree(tiny_image_model, mine)
    window = make_window()
    panel = window.panel("imagine")
    window.bus.open_in_room.emit("image", {"model": str(mine), "name": "my-pictures"})
    assert window.current_panel() is panel
    qtbot.waitUntil(lambda: panel.model_info is not None
                    and panel.model_info.name == "my-pictures", timeout=20_000)
    assert panel.modelPicker.currentText().startswith("my-pictures")
