"""The explorer inside the main window: the room, the View → Explorer dock and the room links."""

from __future__ import annotations

import numpy as np
import pytest

from desktop_app.core.paths import builtin_models_dir
from desktop_app.ui.explore.panel import ExplorePanel

FASHION = builtin_models_dir() / "image" / "fashion"
STORIES = builtin_models_dir() / "text" / "reverie-stories"


def test_the_explore_room_is_the_explorer(window):
    panel = window.panel("explore")
    assert isinstance(panel, ExplorePanel) and panel.objectName() == "explorePanel"
    for name in ("latentMap", "projectionCombo", "colourByCombo", "latentSearch",
                 "neighboursList"):
        assert panel.findChild(object, name) is not None, name
    action = window.explore_dock.toggleViewAction()
    assert action in window.menuBar().findChild(type(window.menu_actions.recent_menu),
                                                "viewMenu").actions()


@pytest.mark.skipif(not (FASHION / "atlas.json").is_file(), reason="no built-in fashion atlas")
def test_room_builds_the_map_and_opens_a_point_in_imagine(window):
    window.show()
    window.show_room("explore")
    panel = window.panel("explore")
    panel.open_model("image", "fashion")
    view = panel.view
    assert view.data is not None and len(view.data) > 1000, view.status.text()
    view.select_point(3)
    view.openButton.click()
    assert window.current_panel().room_id == "imagine"


@pytest.mark.skipif(not STORIES.is_dir(), reason="the built-in story model is not installed")
def test_dock_follows_the_write_room_model(window):
    window.show()
    dock = window.explore_dock
    dock.show()
    write = window.panel("write")
    write.model_dir = str(STORIES)       # what the Write room holds once its model loaded
    window.show_room("write")
    assert dock.view.data is not None and dock.view.data.kind == "text", dock.view.status.text()
    window.bus.set_current_latent.emit(str(STORIES), dock.view.data.codes[5])
    np.testing.assert_allclose(dock.view.latentMap._current.getData()[0], [dock.view.xy[5, 0]],
                               atol=1e-4)


def test_open_in_room_takes_phrases_to_compose_and_words_to_write(window):
    from PySide6.QtGui import QGuiApplication

    from desktop_app.core.melody import Melody, Note
    phrase = Melody(notes=(Note(start=0.0, pitch=62, duration=1.0),
                           Note(start=1.0, pitch=66, duration=0.5)), title="phrase")
    window.bus.open_in_room.emit("music", {"model": "phrase-vae", "melody": phrase})
    assert window.current_panel().room_id == "compose"
    roll = window.panel("compose").pianoRoll
    assert [n.pitch for n in roll.melody().notes] == [62, 66]
    window.bus.open_in_room.emit("text", {"model": "m", "word": "lantern"})
    assert window.current_panel().room_id == "write"
    assert QGuiApplication.clipboard().text() == "lantern"


def test_explore_lists_the_models_of_the_folders_in_preferences(make_window, tmp_path):
    """Issue 20 item 14: Explore and its dock scanned the default folders only."""
    import shutil
    extra = tmp_path / "more-models"
    shutil.copytree(builtin_models_dir() / "text" / "reverie-stories", extra / "text" / "my-stories")
    window = make_window()
    window.settings.set_extra_model_dirs([extra])
    window.refresh_models()
    panel = window.panel("explore")
    panel.chooser.kindCombo.setCurrentIndex(panel.chooser.kindCombo.findData("text"))
    names = [panel.chooser.modelCombo.itemText(i) for i in range(panel.chooser.modelCombo.count())]
    assert any(n.startswith("my-stories") for n in names), names
