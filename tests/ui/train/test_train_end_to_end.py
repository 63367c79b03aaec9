"""End-to-end runs from the Train room through the real ``reverie train`` subprocess.

Each run uses a tiny configuration of the real command (seconds of training). The room must
produce a model folder in the user's models folder that loads, whose held-out loss went down,
with a model card; pause/resume, cancel, and a killed process resumed from its checkpoint.
"""

from __future__ import annotations

import json
import os
import signal

import pytest
from PySide6.QtCore import Qt

from desktop_app.core import paths
from desktop_app.core.model_registry import scan_models
from desktop_app.ui.train import runs as R
from desktop_app.ui.train.presets import PRESETS

LEFT = Qt.MouseButton.LeftButton
RUN_TIMEOUT = 180_000  # ms; the CPU is shared, so generous


def _history(folder):
    return [json.loads(l) for l in (folder / R.HISTORY_FILE).read_text().splitlines()]


def _start(panel, qtbot, kind, folder, name, steps=None):
    panel.trainKindCombo.setCurrentIndex(panel.trainKindCombo.findData(kind))
    panel.startFromCombo.setCurrentIndex(panel.startFromCombo.findData("size:test"))
    panel.stepsSpin.setValue(steps or PRESETS[kind]["test"].default_steps)
    panel.modelNameEdit.setText(name)
    panel.dataFolderEdit.setText(str(folder))
    assert panel.check_data().ok, panel.dataCheckLabel.text()
    qtbot.mouseClick(panel.startButton, LEFT)
    assert panel.state == "running", panel.messageLabel.text()


def _wait_done(panel, qtbot):
    qtbot.waitUntil(lambda: panel.state == "idle", timeout=RUN_TIMEOUT)
    assert panel.installed is not None, panel.messageLabel.text() + panel.process.stderr_text


def test_text_run_produces_a_loadable_model_whose_held_out_loss_fell(panel, qtbot, text_folder):
    _start(panel, qtbot, "text", text_folder, "fox-stories")
    _wait_done(panel, qtbot)
    model = paths.user_models_dir() / "text" / "fox-stories"
    assert model == panel.installed
    for f in ("config.json", "model.safetensors", "tokenizer.json", "MODEL_CARD.md"):
        assert (model / f).is_file(), f
    assert not (model / "checkpoints").exists()
    vals = [(e["step"], e["val_loss"]) for e in _history(panel.run_folder) if e["kind"] == "eval"]
    assert len(vals) >= 2 and vals[-1][1] < vals[0][1], vals
    assert panel.charts.val[-1][1] == pytest.approx(vals[-1][1])
    assert panel.progressBar.value() == 60
    card = (model / "MODEL_CARD.md").read_text()
    assert "Steps: 60 of 60" in card and "reverie train text" in card and "fox" in card.lower()
    assert panel.samples.entries, "no sample was shown while training"
    info = [m for m in scan_models().of_kind("text") if m.name == "fox-stories"]
    assert info and not info[0].problem
    from desktop_app.ml.text.loader import load_text_model
    loaded = load_text_model(model)
    assert loaded is not None
    # the new model can be fine-tuned at once, from the room
    panel.set_fine_tune_models(scan_models().of_kind("text"))
    panel.trainKindCombo.setCurrentIndex(panel.trainKindCombo.findData("text"))
    index = panel.startFromCombo.findData(f"init:{panel.installed}")
    assert index >= 0
    panel.startFromCombo.setCurrentIndex(index)
    panel.stepsSpin.setValue(10)
    panel.modelNameEdit.setText("tuned")
    assert panel.start()
    assert "--init-from" in panel.command
    _wait_done(panel, qtbot)
    assert (panel.installed / "model.safetensors").is_file()
    assert "fine-tuned from" in (panel.installed / "MODEL_CARD.md").read_text()


def test_a_source_that_does_not_fit_is_refused_with_one_clear_line(panel, qtbot, text_folder,
                                                                    tmp_path):
    panel.dataFolderEdit.setText(str(text_folder))
    # a folder that is not a Llama text model: the trainer refuses with one clear line
    bad = tmp_path / "not-llama"
    bad.mkdir()
    (bad / "config.json").write_text('{"model_type": "gpt2"}')
    (bad / "model.safetensors").write_bytes(b"\0" * 16)
    (bad / "tokenizer.json").write_text("{}")
    panel.startFromCombo.addItem("bad", f"init:{bad}")
    panel.startFromCombo.setCurrentIndex(panel.startFromCombo.count() - 1)
    panel.modelNameEdit.setText("tuned-bad")
    assert panel.start()
    qtbot.waitUntil(lambda: panel.state == "idle", timeout=RUN_TIMEOUT)
    assert panel.installed is None
    assert "Llama-family" in panel.messageLabel.text(), panel.messageLabel.text()
    assert not (paths.user_models_dir() / "text" / "tuned-bad").exists()


def test_pause_resume_kill_and_resume_from_checkpoint(panel, qtbot, text_folder):
    _start(panel, qtbot, "text", text_folder, "interrupted", steps=120)
    qtbot.waitUntil(lambda: panel.progressBar.value() > 0, timeout=RUN_TIMEOUT)
    qtbot.mouseClick(panel.pauseButton, LEFT)
    qtbot.waitUntil(lambda: panel.state == "paused", timeout=RUN_TIMEOUT)
    paused_at = R.checkpoint_step(panel.run_folder)
    assert 0 < paused_at < 120 and panel.pauseButton.text() == "Resume"
    assert panel.installed is None
    # Resume: a new process continues from the checkpoint
    qtbot.mouseClick(panel.pauseButton, LEFT)
    assert panel.state == "running"
    qtbot.waitUntil(lambda: panel.progressBar.value() > paused_at, timeout=RUN_TIMEOUT)
    # the trainer dies (as in a crash): the room says so and keeps the checkpoint
    os.kill(panel.process.pid(), signal.SIGKILL)
    qtbot.waitUntil(lambda: panel.state == "idle", timeout=RUN_TIMEOUT)
    assert "checkpoint" in panel.messageLabel.text()
    saved = R.checkpoint_step(panel.run_folder)
    assert saved >= paused_at
    assert panel.resumeBox.isVisibleTo(panel) and "interrupted" in panel.resumeLabel.text()
    before = list(panel.charts.train)
    qtbot.mouseClick(panel.resumeButton, LEFT)
    assert panel.state == "running"
    _wait_done(panel, qtbot)
    steps = [s for s, _ in panel.charts.train]
    assert steps == sorted(set(steps)) and steps[-1] == 120
    # the curve continues: the points before the checkpoint are the ones drawn before the kill
    kept = [p for p in before if p[0] <= saved]
    assert kept and panel.charts.train[:len(kept)] == kept
    assert not panel.resumeBox.isVisibleTo(panel)


def test_cancel_stops_at_once_and_the_run_can_be_discarded(panel, qtbot, text_folder):
    _start(panel, qtbot, "text", text_folder, "cancelled", steps=200)
    qtbot.waitUntil(lambda: panel.progressBar.value() > 0, timeout=RUN_TIMEOUT)
    qtbot.mouseClick(panel.cancelButton, LEFT)
    qtbot.waitUntil(lambda: panel.state == "idle", timeout=30_000)
    assert "cancelled" in panel.messageLabel.text().lower()
    assert not (paths.user_models_dir() / "text" / "cancelled").exists()
    if R.checkpoint_step(panel.run_folder):
        assert panel.resumeBox.isVisibleTo(panel)
        qtbot.mouseClick(panel.discardButton, LEFT)
        assert not panel.run_folder.exists()
    assert not panel.resumeBox.isVisibleTo(panel)
    assert panel.startButton.isEnabled()


def test_image_run_from_the_room(panel, qtbot, image_folder):
    _start(panel, qtbot, "image", image_folder, "my-pictures")
    _wait_done(panel, qtbot)
    model = panel.installed
    assert (model / "model.safetensors").is_file() and (model / "MODEL_CARD.md").is_file()
    vals = [e["val_loss"] for e in _history(panel.run_folder) if e["kind"] == "eval"]
    assert len(vals) >= 2 and vals[-1] < vals[0], vals
    assert panel.samples.images and panel.samples.images[0].is_file()
    from desktop_app.ml.image.model_dir import load_vae
    assert load_vae(model) is not None


def test_melody_run_from_the_room(panel, qtbot, midi_folder):
    _start(panel, qtbot, "music", midi_folder, "my-tunes")
    _wait_done(panel, qtbot)
    model = panel.installed
    assert (model / "model.safetensors").is_file() and (model / "config.json").is_file()
    vals = [e["val_loss"] for e in _history(panel.run_folder) if e["kind"] == "eval"]
    assert len(vals) >= 2 and vals[-1] < vals[0], vals
    assert panel.samples.entries
    assert panel.samples.playButton.isVisibleTo(panel) and panel.samples.melody is not None
    from desktop_app.ml.music.loader import load_melody_model
    assert load_melody_model(model) is not None
