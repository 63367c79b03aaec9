"""The Train room's fine-tuning choice and the rough edges found by trying it as a new user:
Start disabled below the limit, a stale red error cleared by a passing check, the data check
off the GUI thread, a fine-tune that does not say "from scratch", no stale time after Cancel."""

from __future__ import annotations

import sys
import threading
from pathlib import Path

from desktop_app.core.model_registry import ModelInfo
from desktop_app.core.train_data_check import check_folder
from desktop_app.ui.train import presets as P

WRITING = ("The lamp by the window had burned all night, and Mara still had not finished the "
           "letter to her brother. She wrote a line, crossed it out, and wrote it again. ")


def _writer(tmp_path: Path) -> ModelInfo:
    fake = tmp_path / "SmolLM2.gguf"
    fake.write_bytes(b"GGUF")
    return ModelInfo(name=P.BUILTIN_WRITER, kind="text", path=fake, source="built-in",
                     parameters=134_515_008, size_bytes=4, licence="Apache-2.0")


def _folder(tmp_path: Path, name: str, nbytes: int) -> Path:
    folder = tmp_path / name
    folder.mkdir()
    text = (WRITING * (nbytes // len(WRITING) + 1))[:nbytes]
    (folder / "mine.txt").write_text(text, encoding="utf-8")
    return folder


def test_lora_on_the_built_in_writer_is_the_default_for_text(panel, tmp_path):
    panel.set_fine_tune_models([_writer(tmp_path)])
    assert panel.startFromCombo.currentData() == f"lora:{P.BUILTIN_WRITER}"
    assert "LoRA" in panel.startFromCombo.currentText()
    assert panel.stepsSpin.value() == P.LORA_DEFAULT_STEPS
    folder = _folder(tmp_path, "mine", 2300)  # 2.3 KB: refused before, fine now
    panel.dataFolderEdit.setText(str(folder))
    report = panel.check_data()
    assert report.ok and report.fine_tune
    assert "enough to fine-tune" in panel.dataCheckLabel.text()
    assert panel.startButton.isEnabled()
    assert "--lora" in panel.command and f"--init-from {P.BUILTIN_WRITER}" in panel.command
    assert "135M" in panel.estimateLabel.text() or "134.5M" in panel.estimateLabel.text()
    assert "plus about 3 s for 7 evaluations" in panel.estimateLabel.text()  # 230 bytes
    # a novel's held-out part: its evaluations are counted, capped as the command caps them
    novel = _folder(tmp_path, "novel", 400_000)
    panel.dataFolderEdit.setText(str(novel))
    assert panel.check_data().ok
    seconds = P.lora_eval_seconds(P.LORA_EVAL_MAX_BYTES, None)
    assert seconds == P.lora_eval_seconds(40_000, None) > 120
    assert f"plus about {P.human_time(seconds)} for 7 evaluations" in panel.estimateLabel.text()
    panel.dataFolderEdit.setText(str(folder))
    assert panel.check_data().ok
    # the same 2.3 KB is still too little to train a model from scratch
    panel.startFromCombo.setCurrentIndex(panel.startFromCombo.findData("size:test"))
    assert not panel.check_data().ok


def test_start_is_disabled_below_the_limit_and_the_red_error_clears(panel, tmp_path):
    panel.set_fine_tune_models([_writer(tmp_path)])
    tiny = _folder(tmp_path, "tiny", 400)
    panel.dataFolderEdit.setText(str(tiny))
    panel.check_data()
    assert not panel.startButton.isEnabled()
    assert "Too little text" in panel.dataCheckLabel.text()
    assert not panel.start() and "Too little text" in panel.messageLabel.text()
    enough = _folder(tmp_path, "enough", 3000)
    panel.dataFolderEdit.setText(str(enough))
    panel.check_data()
    assert panel.startButton.isEnabled()
    assert panel.messageLabel.isHidden() and panel.messageLabel.text() == ""
    assert "Too little" not in panel.dataCheckLabel.text()


def test_the_data_check_runs_off_the_gui_thread(panel, qtbot, tmp_path, monkeypatch):
    seen = []
    import desktop_app.ui.train.data_check as panel_module

    def spy(kind, folder, fine_tune=False):
        seen.append(threading.current_thread() is threading.main_thread())
        return check_folder(kind, folder, fine_tune=fine_tune)

    monkeypatch.setattr(panel_module, "check_folder", spy)
    panel.dataFolderEdit.setText(str(_folder(tmp_path, "mine", 30_000)))
    panel.check_data_in_background()
    assert panel.dataCheckLabel.text() == "Checking the folder…"
    qtbot.waitUntil(lambda: panel.report is not None, timeout=30_000)
    panel.wait_for_checks()
    assert seen == [False] and "1 usable text file," in panel.dataCheckLabel.text()
    # a result for a folder that is no longer chosen is dropped
    panel.dataFolderEdit.setText(str(_folder(tmp_path, "other", 500)))
    panel._on_check_done((("text", "/nowhere", False), panel._check_serial), panel.report)
    assert "1 usable text file," in panel.dataCheckLabel.text()


FAKE_LONG_RUN = r"""
import json, sys, time
print(json.dumps({"kind": "start", "step": 0, "total_steps": 40, "message": "m"}), flush=True)
print(json.dumps({"kind": "step", "step": 1, "total_steps": 40, "loss": 3.0,
                  "tokens_per_s": 30.0, "eta_s": 2220.0}), flush=True)
time.sleep(60)
"""


def test_after_cancel_no_time_left_is_shown(panel, qtbot, tmp_path, monkeypatch, text_folder):
    monkeypatch.setattr(P, "full_command",
                        lambda kind, args: [sys.executable, "-c", FAKE_LONG_RUN])
    panel.dataFolderEdit.setText(str(text_folder))
    assert panel.start()
    qtbot.waitUntil(lambda: "left" in panel.etaLabel.text(), timeout=60_000)
    assert "37 min left" in panel.etaLabel.text()
    panel.cancel()
    qtbot.waitUntil(lambda: panel.state == "idle", timeout=60_000)
    assert "left" not in panel.etaLabel.text() and "cancelled" in panel.etaLabel.text()
