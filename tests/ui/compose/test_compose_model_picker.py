"""The Compose room's melody-model picker: the built-in model and the user's trained melody
models (never the phrase VAE), chosen by name, used by Generate, kept across a restart, and
chosen from the Train room's "Compose with it" (the bus payload ``{"model": folder}``)."""

from __future__ import annotations

import shutil

from desktop_app.core import paths
from desktop_app.core.model_registry import scan_models
from desktop_app.ui.compose.panel import ComposePanel
from desktop_app.engine.sync_engine import SyncEngine
from desktop_app.ui.widgets.randomness import RandomnessControls


def _install_user_melody_model(tiny_music_models, name: str = "my-tunes"):
    lm, _vae = tiny_music_models
    target = paths.user_models_dir() / "music" / name
    shutil.copytree(lm, target)
    return target


def _auto_panel(qtbot, tiny_music_models):
    """A panel that picks its melody model from the scan, as in the app (the VAE given)."""
    engine = SyncEngine()
    randomness = RandomnessControls()
    panel = ComposePanel(engine, randomness, vae_dir=tiny_music_models[1], restore=False)
    qtbot.addWidget(panel)
    qtbot.addWidget(randomness)
    return panel


def _labels(panel):
    return [panel.modelPicker.itemText(i) for i in range(panel.modelPicker.count())]


def test_the_picker_lists_melody_models_and_generate_uses_the_chosen_one(
        qtbot, tiny_music_models):
    mine = _install_user_melody_model(tiny_music_models)
    panel = _auto_panel(qtbot, tiny_music_models)
    try:
        panel.models_changed(scan_models())
        labels = _labels(panel)
        assert "my-tunes (yours)" in labels and paths.MELODY_MODEL in labels
        assert not any(paths.PHRASE_MODEL in label for label in labels)  # cannot generate
        # the built-in model stays the default; a trained one does not take over by itself
        assert panel.model_dir.endswith(paths.MELODY_MODEL)
        assert panel.modelPicker.currentText() == paths.MELODY_MODEL

        index = panel.modelPicker.findText("my-tunes (yours)")
        panel.modelPicker.setCurrentIndex(index)
        panel.modelPicker.activated.emit(index)
        assert panel.model_dir == str(mine)
        assert "my-tunes" in panel.message()
        job = panel.build_job(panel.randomness.settings(), seed=3)
        assert job.model_dir == str(mine)
        # a rescan (another model installed) keeps the choice
        panel.models_changed(scan_models())
        assert panel.model_dir == str(mine)
        assert panel.modelPicker.currentText() == "my-tunes (yours)"
        state = panel.state()
        assert (state["model"], state["model_source"]) == ("my-tunes", "user")
    finally:
        panel.engine.shutdown()


def test_the_choice_comes_back_after_a_restart_by_name_only(qtbot, tiny_music_models):
    mine = _install_user_melody_model(tiny_music_models)
    panel = _auto_panel(qtbot, tiny_music_models)
    try:
        state = panel.state()
        assert state["model"] is None  # nothing chosen: the built-in default
        state["model"], state["model_source"] = "my-tunes", "user"
        assert panel.apply_state(state)
        assert panel.model_dir == str(mine)
        assert panel.modelPicker.currentText() == "my-tunes (yours)"
        # a name that no scan finds (deleted model, or a path smuggled into the file) falls
        # back to the built-in model: the saved name is never used as a path
        state["model"] = str(mine)
        assert panel.apply_state(state)
        assert panel.model_dir.endswith(paths.MELODY_MODEL)
    finally:
        panel.engine.shutdown()


def test_compose_with_it_from_the_train_room_chooses_that_model(qtbot, tiny_music_models):
    mine = _install_user_melody_model(tiny_music_models, "from-my-midi")
    panel = _auto_panel(qtbot, tiny_music_models)
    try:
        panel.models_changed(scan_models())
        panel.open_from_map("music", {"model": str(mine), "name": "from-my-midi"})
        assert panel.model_dir == str(mine)
        assert panel.modelPicker.currentText() == "from-my-midi (yours)"
        # the phrase VAE is a music model too, but not one Generate can use
        vae = scan_models().of_kind("music")
        vae = next(m for m in vae if m.name == paths.PHRASE_MODEL)
        panel.open_from_map("music", {"model": str(vae.path), "name": vae.name})
        assert panel.model_dir == str(mine)
        assert "not a melody model" in panel.message()
    finally:
        panel.engine.shutdown()
