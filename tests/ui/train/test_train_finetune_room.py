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

    def spy(kind, folder, fine_tune=False, count_tokens=None):
        seen.append(threading.current_thread() is threading.main_thread())
        return check_folder(kind, folder, fine_tune=fine_tune, count_tokens=count_tokens)

    monkeypatch.setattr(panel_module, "check_folder", spy)
    panel.dataFolderEdit.setText(str(_folder(tmp_path, "mine", 30_000)))
    panel.check_data_in_background()
    assert panel.dataCheckLabel.text() == "Checking the folder…"
    qtbot.waitUntil(lambda: panel.report is not None, timeout=30_000)
    panel.wait_for_checks()
    assert seen == [False] and "1 usable text file," in panel.dataCheckLabel.text()
    # a result for a folder that is no longer chosen is dropped
    panel.dataFolderEdit.setText(str(_folder(tmp_path, "other", 500)))
    panel._on_check_done((("text", "/nowhere", False, None), panel._check_serial), panel.report)
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


def test_a_fine_tunes_steps_follow_the_text_and_a_time_limit_ends_it(panel, tmp_path):
    """The room used to offer 40 steps for any amount of text (0.4 passes over a novel, 30
    over a page); it now offers the command's own default for the checked text (about four
    passes) and a time limit, until the person sets either."""
    from desktop_app.commands.train_text_lora import default_steps
    panel.set_fine_tune_models([_writer(tmp_path)])
    assert panel.timeLimitSpin.isVisibleTo(panel)
    assert panel.timeLimitSpin.value() == P.LORA_DEFAULT_MINUTES
    novel = _folder(tmp_path, "novel", 400_000)
    panel.dataFolderEdit.setText(str(novel))
    report = panel.check_data()
    train_bytes = report.data_bytes - report.heldout_bytes
    expected = default_steps(round(train_bytes / P.LORA_BYTES_PER_TOKEN),
                             P.LORA_TOKENS_PER_STEP)
    assert panel.stepsSpin.value() == expected == P.lora_steps_for(train_bytes) > 300
    assert f"--steps {expected}" in panel.command
    assert f"--max-minutes {P.LORA_DEFAULT_MINUTES}" in panel.command
    assert f"at most {P.LORA_DEFAULT_MINUTES} min, the time limit ({expected:,} steps would " \
           f"take about" in panel.estimateLabel.text()
    page = _folder(tmp_path, "page", 3000)
    panel.dataFolderEdit.setText(str(page))
    panel.check_data()
    assert panel.stepsSpin.value() == 20                      # the command's minimum
    assert "at most" not in panel.estimateLabel.text()        # the limit is not reached
    # set by hand: a later check, or another choice, leaves them alone
    panel.stepsSpin.setValue(77)
    panel.timeLimitSpin.setValue(4)
    panel.dataFolderEdit.setText(str(novel))
    panel.check_data()
    assert panel.stepsSpin.value() == 77 and "--max-minutes 4 " in panel.command + " "
    panel.timeLimitSpin.setValue(0)
    assert panel.timeLimitSpin.text() == "no limit" and "--max-minutes" not in panel.command


def test_the_time_limit_is_kept_with_the_run_and_shown_for_the_trainers_that_take_it(panel):
    from desktop_app.ui.train import runs as R
    panel.startFromCombo.setCurrentIndex(panel.startFromCombo.findData("size:tiny"))
    assert panel.timeLimitSpin.value() == 0 and "--max-minutes" not in panel.command
    panel.trainKindCombo.setCurrentIndex(panel.trainKindCombo.findData("music"))
    assert not panel.timeLimitSpin.isVisibleTo(panel)
    panel.timeLimitSpin.setValue(9)                  # hidden: not passed to `train music`
    assert "--max-minutes" not in panel.command
    panel.trainKindCombo.setCurrentIndex(panel.trainKindCombo.findData("image"))
    assert panel.timeLimitSpin.isVisibleTo(panel) and "--max-minutes 9" in panel.command
    request = R.RunRequest(kind="text", name="me", size=None, data="d", steps=300,
                           init_from="smollm2-135m-instruct", lora=True, max_minutes=15)
    resumed = panel._args(resume=True, request=request)
    assert resumed[resumed.index("--max-minutes") + 1] == "15"
    stats = R.RunStats(total_steps=300)
    for ev in ({"kind": "eval", "step": 0, "val_loss": 3.0, "bits_per_byte": 1.30},
               {"kind": "eval", "step": 90, "val_loss": 2.9, "bits_per_byte": 1.22},
               {"kind": "done", "step": 96, "total_steps": 300, "ended": "time",
                "val_loss": 2.9, "bits_per_byte": 1.23}):
        stats.take(ev)
    assert R.finish_text(request, stats).startswith(
        "Done at step 96 of 300 (the 15-minute limit). Held-out bits per byte 1.300 → 1.220")


def test_a_damaged_run_request_is_not_a_run(tmp_path):
    """train_request.json is a file on disk: wrong types or a kind/name that would make a path
    elsewhere are "not a run", never a crash of the room when it lists unfinished runs."""
    import json

    from desktop_app.ui.train import runs as R
    good = {"kind": "text", "name": "novel", "size": "tiny", "data": "d", "steps": 100}
    assert R.RunRequest.from_json(good).steps == 100
    for bad in ({"steps": "100"}, {"steps": True}, {"steps": 0}, {"kind": "../../etc"},
                {"name": "../x"}, {"max_minutes": -1}, {"max_minutes": "5"},
                {"extra": ["--ok", 3]}, {"lora": 1}):
        folder = tmp_path / str(len(list(tmp_path.iterdir())))
        folder.mkdir()
        (folder / R.REQUEST_FILE).write_text(json.dumps({**good, **bad}))
        assert R.load_request(folder) is None, bad
    (tmp_path / "list").mkdir()
    (tmp_path / "list" / R.REQUEST_FILE).write_text("[1, 2]")
    assert R.load_request(tmp_path / "list") is None


FAKE_TIME_LIMITED_RUN = r"""
import json, sys
out = sys.argv[sys.argv.index("--out") + 1]
open(out + "/model.safetensors", "wb").write(b"stand-in weights")
for ev in ({"kind": "start", "step": 0, "total_steps": 1000, "message": "m"},
           {"kind": "step", "step": 12, "total_steps": 1000, "loss": 3.0, "eta_s": 0.0},
           {"kind": "eval", "step": 12, "total_steps": 1000, "val_loss": 2.5},
           {"kind": "done", "step": 12, "total_steps": 1000, "ended": "time",
            "val_loss": 2.5, "message": "the time budget ended the run at step 12; ..."}):
    print(json.dumps(ev), flush=True)
"""


def test_a_run_ended_by_its_time_limit_says_so(panel, qtbot, monkeypatch, text_folder):
    monkeypatch.setattr(P, "full_command", lambda kind, args: [
        sys.executable, "-c", FAKE_TIME_LIMITED_RUN, *args])
    panel.startFromCombo.setCurrentIndex(panel.startFromCombo.findData("size:tiny"))
    panel.timeLimitSpin.setValue(2)
    panel.dataFolderEdit.setText(str(text_folder))
    assert panel.start()
    qtbot.waitUntil(lambda: panel.state == "idle", timeout=60_000)
    assert panel.installed is not None, panel.messageLabel.text()
    assert panel.statusLabel.text() == "Done at step 12 of 1,000 (the 2-minute limit). " \
                                       "Held-out loss 2.500."
    assert panel.etaLabel.text() == "ended at step 12 of 1,000"   # not "0 s left"


def test_one_manuscript_file_is_the_data_of_a_fine_tune(panel, tmp_path, monkeypatch):
    """A writer's writing is often one document: the room takes a file for text (the trainer
    holds out its last 10 %), and remembers it like a folder."""
    from PySide6.QtWidgets import QFileDialog
    panel.set_fine_tune_models([_writer(tmp_path)])
    folder = _folder(tmp_path, "novel", 30_000)
    book = folder / "mine.txt"
    (folder / "unrelated.txt").write_text("a shopping list " * 400)   # not part of the book
    seen = []
    monkeypatch.setattr(QFileDialog, "getOpenFileName",
                        lambda *a: seen.append(a[2]) or (str(book), ""))
    panel.dataFolderEdit.setText(str(folder))
    panel.browse_file()
    assert seen == [str(folder)] and panel.dataFolderEdit.text() == str(book)
    panel.wait_for_checks()
    report = panel.check_data()
    assert report.ok and report.usable == ["mine.txt"] and report.data_bytes == 30_000
    assert "the last 10% of each file" in panel.dataCheckLabel.text()
    assert f"--data {book} " in panel.command + " "
    # the next browse starts in the file's folder
    panel.browse_file()
    assert seen[-1] == str(folder)


GERMAN = ("Als Gregor Samsa eines Morgens aus unruhigen Träumen erwachte, fand er sich in seinem "
          "Bett zu einem ungeheueren Ungeziefer verwandelt. Er lag auf seinem panzerartig harten "
          "Rücken und sah, wenn er den Kopf ein wenig hob, seinen gewölbten, braunen Bauch.\n\n")


def test_a_fine_tunes_steps_come_from_the_tokens_the_base_reads(panel, qtbot, tmp_path):
    """The background check counts the training text's tokens with the base's own tokenizer
    (the built-in SmolLM2's, here): German takes far more tokens a byte than the English rate
    the room assumed, so the room offered about half the command's own default steps."""
    from desktop_app.commands.train_text_lora import default_steps
    from desktop_app.ml.text.adapter import resolve_model
    from desktop_app.ml.text.loader import load_text_tokenizer
    panel.set_fine_tune_models([_writer(tmp_path)])
    folder = tmp_path / "roman"
    folder.mkdir()
    text = GERMAN * 400                                            # 97 kB
    (folder / "kapitel.txt").write_text(text, encoding="utf-8")
    panel.dataFolderEdit.setText(str(folder))
    panel.check_data_in_background()
    qtbot.waitUntil(lambda: panel.report is not None and panel.report.train_tokens > 0,
                    timeout=60_000)
    panel.wait_for_checks()
    report = panel.report
    tokens = len(load_text_tokenizer(resolve_model(P.BUILTIN_WRITER)).encode(
        text, add_special_tokens=False))
    assert report.train_tokens == round(0.9 * tokens)
    by_bytes = P.lora_steps_for(report.data_bytes - report.heldout_bytes)
    assert panel.stepsSpin.value() == default_steps(report.train_tokens,
                                                    P.LORA_TOKENS_PER_STEP) > 1.4 * by_bytes
    assert f"{report.train_tokens:,} tokens to train on" in panel.dataCheckLabel.text()


def test_an_adapter_of_yours_is_offered_to_train_further_on_more_writing(panel, tmp_path):
    """A writer's adapter is listed as "Continue …" (a new adapter on the same base, sized
    and timed by its base, not by the adapter's own few million weights); an adapter whose
    base is not installed is not offered, and the built-in writer stays the default."""
    import json

    from desktop_app.ml.text import lora

    from desktop_app.core import paths

    def adapter(name: str, base: str) -> ModelInfo:   # installed, as the room installs one
        folder = paths.user_models_dir() / "text" / name
        folder.mkdir(parents=True)
        (folder / "adapter_config.json").write_text(json.dumps(lora.adapter_config(32, 64,
                                                                                   base)))
        return ModelInfo(name=name, kind="text", path=folder, source="user",
                         parameters=9_768_960, size_bytes=1, licence="unknown",
                         adapter=f"LoRA rank 32 on {base}")

    voice, orphan = adapter("my-voice", P.BUILTIN_WRITER), adapter("old", "gone-model")
    panel.set_fine_tune_models([_writer(tmp_path), voice, orphan])
    combo = panel.startFromCombo
    assert combo.currentData() == f"lora:{P.BUILTIN_WRITER}"
    at = combo.findData(f"lora:{voice.path}")
    assert at >= 0 and combo.findData(f"lora:{orphan.path}") == -1
    assert combo.itemText(at).startswith("Continue my-voice with more writing")
    assert "134.5M parameters frozen" in combo.itemText(at)
    panel.modelNameEdit.setText("my-text-model")   # the room's own default name
    combo.setCurrentIndex(at)
    assert panel.modelNameEdit.text() == "my-voice-2"   # the next free name after the adapter
    panel.modelNameEdit.setText("chapter-two")          # a name the person chose stays
    combo.setCurrentIndex(0)
    combo.setCurrentIndex(at)
    assert panel.modelNameEdit.text() == "chapter-two"
    panel.dataFolderEdit.setText(str(_folder(tmp_path, "mine", 5000)))
    assert panel.check_data().ok
    assert f"--init-from {voice.path} --lora" in panel.command
    assert "134.5M parameters" in panel.estimateLabel.text()
