"""The Train room inside the main window: a finished model appears in the other rooms at once,
and quitting while a run is going asks first (Save = checkpoint and stop)."""

from __future__ import annotations

from desktop_app.ui.train import runs as R
from desktop_app.ui.train.panel import TrainPanel


def test_the_main_window_shows_the_train_room(window):
    window.show_room("train")
    panel = window.current_panel()
    assert isinstance(panel, TrainPanel) and panel.objectName() == "trainPanel"
    assert window.randomness.isHidden()
    assert not panel.has_unsaved_changes()


def test_a_trained_model_is_listed_in_the_other_rooms_at_once(test_presets, window, qtbot,
                                                              text_folder, choose):
    window.show_room("train")
    panel = window.panel("train")
    try:
        choose(panel, "text", steps=12)
        panel.modelNameEdit.setText("from-the-room")
        panel.dataFolderEdit.setText(str(text_folder))
        assert panel.start()
        assert panel.has_unsaved_changes()
        qtbot.waitUntil(lambda: panel.state == "idle", timeout=180_000)
        assert panel.installed is not None, panel.messageLabel.text()
        names = [m.name for m in window.scan.of_kind("text")]
        assert "from-the-room" in names  # the main window rescanned: every picker has it
        assert panel.startFromCombo.findData(f"init:{panel.installed}") >= 0
        assert "Write room" in panel.messageLabel.text()
        assert panel.modelNameEdit.text() == "from-the-room-2"   # ready for the next run
        # "Write with it": the Write room is shown and loads the new model as if picked
        assert not panel.useModelButton.isHidden()
        assert panel.useModelButton.text() == "Write with “from-the-room”"
        panel.useModelButton.click()
        assert window.current_panel().room_id == "write"
        write = window.panel("write")
        qtbot.waitUntil(lambda: write.model_info is not None
                        and str(write.model_info.path) == str(panel.installed), timeout=60_000)
    finally:
        panel.shutdown()


def test_quitting_while_training_checkpoints_first(test_presets, window, qtbot, text_folder,
                                                   choose):
    panel = window.panel("train")
    try:
        choose(panel, "text", steps=400)
        panel.modelNameEdit.setText("closing")
        panel.dataFolderEdit.setText(str(text_folder))
        assert panel.start()
        qtbot.waitUntil(lambda: panel.progressBar.value() > 0, timeout=180_000)
        assert panel.save()          # what "Save" in the quit dialog does
        qtbot.waitUntil(lambda: panel.state != "pausing", timeout=60_000)
        assert 0 < R.checkpoint_step(panel.run_folder) < 400
        assert not panel.process.is_running()
    finally:
        panel.shutdown()
