"""Status bar text from engine events; Preferences, About and Keyboard Shortcuts dialogs."""

from __future__ import annotations

import json

import numpy as np
import pytest
from safetensors.numpy import save_file

from desktop_app.backends.fake import FailJob, StreamJob
from desktop_app.core.events import Finished, Progress, Started, TokenChunk
from desktop_app.core.model_registry import scan_models
from desktop_app.ui.about import AboutDialog, about_html
from desktop_app.ui.preferences import PreferencesDialog, remove_user_model
from desktop_app.ui.settings import Settings
from desktop_app.ui.shortcuts import ShortcutsDialog, shortcut_rows
from desktop_app.ui.status import READY, EngineStatusBar


def make_model(root, kind, name, licence="MIT", shape=(4, 8)):
    folder = root / kind / name
    folder.mkdir(parents=True)
    save_file({"w": np.zeros(shape, dtype=np.float32)}, str(folder / "model.safetensors"))
    (folder / "config.json").write_text(json.dumps({"license": licence}))
    (folder / "MODEL_CARD.md").write_text(f"# {name}\n\nData: tiny test corpus (CC0)\n")
    return folder


@pytest.fixture
def bar(engine, qtbot):
    widget = EngineStatusBar(engine)
    qtbot.addWidget(widget)
    return widget


def test_status_bar_follows_a_job(bar, engine):
    assert bar.state_text() == READY
    engine.event.emit(Started(job_id=1, label="Loading model"))
    assert bar.state_text() == "Loading model…"
    engine.event.emit(Progress(job_id=1, fraction=0.5, message="weights 2/4"))
    assert bar.state_text() == "Loading model: weights 2/4"
    assert bar.progressBar.value() == 500 and not bar.progressBar.isHidden()
    engine.event.emit(Progress(job_id=1, rate=(12.25, "steps/s")))
    assert bar.rateLabel.text() == "12.2 steps/s" or bar.rateLabel.text() == "12.3 steps/s"
    engine.event.emit(TokenChunk(job_id=1, text="x", tokens_per_s=33.0))
    assert bar.rateLabel.text() == "33.0 tokens/s"
    engine.event.emit(Finished(job_id=1))
    assert bar.state_text() == READY and bar.progressBar.isHidden()


def test_status_bar_with_real_sync_jobs(bar, engine):
    engine.submit(StreamJob(n_tokens=3, text_per_token="a"))
    assert bar.state_text() == READY
    engine.submit(FailJob(message="the model file is damaged"))
    assert "failed: the model file is damaged" in bar.state_text()


def test_preferences_save_values(qtbot, tmp_path):
    settings = Settings()
    dialog = PreferencesDialog(settings)
    qtbot.addWidget(dialog)
    for name in ("threadsSpin", "memoryBudgetSpin", "extraModelFolders", "userModelList"):
        assert getattr(dialog, {"threadsSpin": "threadsSpin", "memoryBudgetSpin": "memorySpin",
                                "extraModelFolders": "extraList",
                                "userModelList": "userModelList"}[name]).objectName() == name
    dialog.threadsSpin.setValue(1)
    dialog.memorySpin.setValue(1024)
    dialog.extraList.addItem(str(tmp_path / "more-models"))
    dialog.userModels.edit.setText(str(tmp_path / "mine"))
    assert dialog.compileCheck.isChecked()  # on by default (README: 25 % faster decoding)
    dialog.compileCheck.setChecked(False)
    dialog.accept()
    again = Settings()
    assert again.text_compile() is False
    assert again.inference_threads() == 1 and again.memory_budget_mb() == 1024
    assert again.extra_model_dirs() == [tmp_path / "more-models"]
    assert again.user_models_dir() == tmp_path / "mine"


@pytest.mark.parametrize("confirm", [False, True])
def test_removing_a_user_model_asks_first(qtbot, monkeypatch, confirm):
    settings = Settings()
    folder = make_model(settings.user_models_dir(), "text", "my-poems")
    dialog = PreferencesDialog(settings)
    qtbot.addWidget(dialog)
    assert dialog.userModelList.count() == 1 and dialog.removeModelButton.isEnabled()
    asked = []
    monkeypatch.setattr(dialog, "confirm_removal", lambda name: asked.append(name) or confirm)
    dialog.userModelList.setCurrentRow(0)
    dialog.removeModelButton.click()
    assert asked == ["my-poems"]
    assert folder.exists() is (not confirm)


def test_remove_user_model_refuses_folders_outside_the_user_models(tmp_path):
    outside = make_model(tmp_path / "elsewhere", "text", "keep-me")
    with pytest.raises(ValueError):
        remove_user_model(outside, tmp_path / "user-models")
    assert outside.exists()


def test_about_lists_versions_licences_and_models(qtbot, tmp_path):
    make_model(tmp_path / "models", "music", "folk-rnn-tiny", licence="CC-BY-4.0")
    scan = scan_models(builtin_dir=tmp_path / "models", user_dir=tmp_path / "none")
    text = about_html(scan)
    for needle in ("Reverie", "PySide6", "torch", "numpy", "LGPL", "folk-rnn-tiny", "CC-BY-4.0",
                   "tiny test corpus (CC0)", "MIT"):
        assert needle in text
    dialog = AboutDialog(scan)
    qtbot.addWidget(dialog)


def test_keyboard_shortcuts_dialog_lists_menu_and_window_keys(window, qtbot):
    rows = dict((what, keys) for keys, what in shortcut_rows(window.menu_actions))
    assert rows["Save"] and rows["Quit"] and rows["Copy"]
    assert "Generate in the current room" in rows
    dialog = ShortcutsDialog(window.menu_actions)
    qtbot.addWidget(dialog)


def test_preferences_from_the_main_window_rescans_models(make_window, monkeypatch, tmp_path):
    (tmp_path / "no-builtin-models").mkdir()
    monkeypatch.setenv("REVERIE_BUILTIN_MODELS_DIR", str(tmp_path / "no-builtin-models"))
    window = make_window()
    make_model(tmp_path / "extra", "text", "borrowed")
    assert window.panel("write").model_message()

    def fake_exec(dialog):
        dialog.extraList.addItem(str(tmp_path / "extra"))
        dialog.accept()
        return 1

    monkeypatch.setattr(PreferencesDialog, "exec", fake_exec)
    window.menu_actions.preferences.trigger()
    assert window.engine.num_threads is None  # 0 in Preferences = automatic
    assert window.panel("write").model_message() == ""
    assert any(m.name == "borrowed" for m in window.scan.models)


def test_open_log_folder_failure_says_where_logs_are(window, monkeypatch):
    from desktop_app.ui import logging_setup
    monkeypatch.setattr(logging_setup, "open_log_folder", lambda: False)
    window.menu_actions.open_logs.trigger()
    assert "logs" in window.statusBar().currentMessage()


def test_logging_setup_writes_the_log_file(tmp_path):
    import logging

    from desktop_app.ui.logging_setup import setup_logging
    path = setup_logging()
    logging.getLogger("desktop_app.test").warning("hello log")
    for h in logging.getLogger("desktop_app").handlers:
        h.flush()
    try:
        assert path is not None and "hello log" in path.read_text()
        assert path.parent.name == "logs"
    finally:
        root = logging.getLogger("desktop_app")
        for h in [h for h in root.handlers if getattr(h, "_reverie", False)]:
            root.removeHandler(h)
            h.close()


def test_folder_preferences_become_overrides_for_core_paths(qtbot, tmp_path, monkeypatch):
    from desktop_app.core import paths

    settings = Settings()
    dialog = PreferencesDialog(settings)
    qtbot.addWidget(dialog)
    dialog.accept()  # defaults untouched: nothing stored, nothing overridden
    assert Settings().folder_overrides() == {}
    dialog = PreferencesDialog(Settings())
    qtbot.addWidget(dialog)
    dialog.autosave.edit.setText(str(tmp_path / "saves"))
    dialog.accept()
    overrides = Settings().folder_overrides()
    assert overrides == {"REVERIE_AUTOSAVE_DIR": str(tmp_path / "saves")}
    for key, value in overrides.items():
        monkeypatch.setenv(key, value)
    assert paths.autosave_dir() == tmp_path / "saves"
