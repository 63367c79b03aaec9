"""The Train room without real training: names, bad input, the command line, the progress
stream (parsed robustly from a stand-in process), failures, and the unfinished-run offer."""

from __future__ import annotations

import json
import sys

import pyqtgraph as pg
import pytest
from PySide6.QtGui import QGuiApplication
from PySide6.QtWidgets import QComboBox, QLineEdit, QPushButton, QTextBrowser

from desktop_app.core import paths
from desktop_app.ui.train import presets as P
from desktop_app.ui.train import runs as R
from desktop_app.ui.train.plots import TrainCharts, _put
from desktop_app.ui.train.process import TrainProcess
from desktop_app.ui.train.samples import melody_from_tokens


def test_names_for_automation(panel):
    assert panel.objectName() == "trainPanel"
    for name, cls in (("trainKindCombo", QComboBox), ("dataFolderEdit", QLineEdit),
                      ("startButton", QPushButton), ("pauseButton", QPushButton),
                      ("cancelButton", QPushButton), ("lossPlot", pg.PlotWidget),
                      ("samplesView", QTextBrowser)):
        assert isinstance(panel.findChild(cls, name), cls), name
    assert [panel.trainKindCombo.itemData(i) for i in range(3)] == ["text", "image", "music"]
    assert not panel.pauseButton.isEnabled() and not panel.cancelButton.isEnabled()


def test_presets_show_parameters_and_a_time_estimate(panel):
    panel.startFromCombo.setCurrentIndex(panel.startFromCombo.findData("size:tiny"))
    panel.stepsSpin.setValue(1000)
    assert "4.2M parameters" in panel.startFromCombo.currentText()
    expected = P.human_time(P.PRESETS["text"]["tiny"].seconds_per_step * 1000)
    assert expected == "36 min"  # 2.13 s a step, measured (benchmarks/bench_train_room.py)
    assert f"about {expected} for 1,000 steps" in panel.estimateLabel.text()
    panel.trainKindCombo.setCurrentIndex(panel.trainKindCombo.findData("image"))
    assert panel.modelNameEdit.text() == "my-image-model"
    labels = [panel.startFromCombo.itemText(i) for i in range(panel.startFromCombo.count())]
    assert any("28x28" in t for t in labels) and any("not supported" in t for t in labels)


def test_bad_input_is_refused_with_a_clear_message_and_nothing_starts(panel, tmp_path):
    panel.dataFolderEdit.setText(str(tmp_path / "missing"))
    assert not panel.start() and "does not exist" in panel.messageLabel.text()
    (tmp_path / "empty").mkdir()
    panel.dataFolderEdit.setText(str(tmp_path / "empty"))
    assert not panel.start() and "is empty" in panel.messageLabel.text()
    assert "is empty" in panel.dataCheckLabel.text()
    (tmp_path / "few").mkdir()
    (tmp_path / "few" / "a.txt").write_text("tiny")
    panel.dataFolderEdit.setText(str(tmp_path / "few"))
    assert not panel.start() and "Too little text" in panel.messageLabel.text()
    panel.modelNameEdit.setText("../escape")
    assert not panel.start() and "letters, digits" in panel.messageLabel.text()
    assert panel.state == "idle" and not panel.process.is_running()
    assert not (paths.user_data_dir() / "training").exists()


def test_an_existing_model_name_is_not_overwritten(panel, text_folder):
    existing = paths.user_models_dir() / "text" / "mine"
    existing.mkdir(parents=True)
    (existing / "model.safetensors").write_bytes(b"keep me")
    panel.modelNameEdit.setText("mine")
    panel.dataFolderEdit.setText(str(text_folder))
    assert not panel.start() and "already exists" in panel.messageLabel.text()
    assert (existing / "model.safetensors").read_bytes() == b"keep me"


def test_copy_command_is_the_exact_command_line(panel, text_folder):
    panel.dataFolderEdit.setText(str(text_folder))
    panel.check_data()
    text = panel.copy_command()
    assert QGuiApplication.clipboard().text() == text
    assert text.startswith("reverie train text --data ")
    assert str(text_folder) in text and "--progress json" in text
    assert str(R.run_dir("text", "my-text-model")) in text


FAKE = r"""
import json, sys
print(json.dumps({"kind": "start", "step": 0, "total_steps": 4, "message": "123 parameters"}))
print("a warning that is not JSON")
print("[1, 2]")
for s in (1, 2):
    print(json.dumps({"kind": "step", "step": s, "total_steps": 4, "loss": 3.0 - s,
                      "lr": 0.001, "tokens_per_s": 100.0, "eta_s": 4 - s}))
print(json.dumps({"kind": "eval", "step": 2, "total_steps": 4, "val_loss": 2.5}))
print(json.dumps({"kind": "sample", "step": 2, "total_steps": 4, "sample": "Once upon"}))
sys.stdout.write('{"kind": "step", "step": 3, "lo')   # cut off by the crash
sys.stdout.flush()
sys.stderr.write("reverie: error: cannot write checkpoints/step-3: No space left on device; "
                 "the previous checkpoint is unchanged\n")
sys.exit(1)
"""


def test_process_lines_are_parsed_robustly(qtbot):
    proc = TrainProcess()
    events, logs = [], []
    proc.progress.connect(events.append)
    proc.log_line.connect(logs.append)
    with qtbot.waitSignal(proc.finished, timeout=60_000) as blocker:
        proc.start([sys.executable, "-c", FAKE])
    code, stderr = blocker.args
    assert code == 1 and "No space left" in stderr
    assert [e["kind"] for e in events] == ["start", "step", "step", "eval", "sample"]
    assert "a warning that is not JSON" in logs and "[1, 2]" in logs
    assert any(line.startswith('{"kind": "step", "step": 3') for line in logs)


def test_a_failing_run_shows_the_error_and_installs_nothing(panel, qtbot, text_folder,
                                                            monkeypatch):
    monkeypatch.setattr(P, "full_command", lambda kind, args: [sys.executable, "-c", FAKE])
    panel.dataFolderEdit.setText(str(text_folder))
    assert panel.start()
    qtbot.waitUntil(lambda: panel.state == "idle", timeout=60_000)
    msg = panel.messageLabel.text()
    assert msg.startswith("Training failed: cannot write checkpoints/step-3: No space left")
    assert panel.installed is None and not (paths.user_models_dir() / "text").exists()
    assert [s for s, _ in panel.charts.train] == [1, 2] and panel.charts.val == [(2, 2.5)]
    assert panel.samples.entries == [(2, "Once upon", "")]
    assert "a warning that is not JSON" in panel.logView.toPlainText()
    assert panel.startButton.isEnabled()


def test_an_unfinished_run_is_offered_when_the_room_opens(qtbot, panel, text_folder):
    folder = R.run_dir("text", "novel")
    (folder / "checkpoints" / "step-00000040").mkdir(parents=True)
    (folder / "checkpoints" / "latest.json").write_text(json.dumps(
        {"step": 40, "dir": "step-00000040"}))
    R.save_request(folder, R.RunRequest(kind="text", name="novel", size="tiny",
                                        data=str(text_folder), steps=100))
    from desktop_app.ui.train.panel import TrainPanel
    fresh = TrainPanel(panel.engine, panel.randomness)
    qtbot.addWidget(fresh)
    assert fresh.resumeBox.isVisibleTo(fresh)
    assert "“novel” stopped at step 40 of 100" in fresh.resumeLabel.text()
    fresh.discard_unfinished()
    assert not folder.exists() and not fresh.resumeBox.isVisibleTo(fresh)


def test_install_replaces_only_when_complete(tmp_path):
    run = tmp_path / "run"
    run.mkdir()
    (run / "config.json").write_text("{}")
    (run / "model.safetensors").write_bytes(b"new")
    (run / "run.json").write_text("{}")
    (run / "checkpoints").mkdir()
    target = R.install_model(run, "text", "m", "# card")
    assert sorted(p.name for p in target.iterdir()) == ["MODEL_CARD.md", "config.json",
                                                        "model.safetensors"]
    (run / "model.safetensors").write_bytes(b"newer")
    R.install_model(run, "text", "m", "# card 2")
    assert (target / "model.safetensors").read_bytes() == b"newer"
    assert [p.name for p in target.parent.iterdir()] == ["m"]


def test_chart_points_from_a_resumed_run_replace_later_ones():
    series = [(1, 5.0), (2, 4.0), (3, 3.5)]
    _put(series, 2, 3.9)
    assert series == [(1, 5.0), (2, 3.9)]


def test_a_constant_learning_rate_is_drawn_from_zero_not_in_a_made_up_range(qtbot):
    charts = TrainCharts()
    qtbot.addWidget(charts)
    for step in (1, 2):
        charts.add({"kind": "step", "step": step, "lr": 0.002, "tokens_per_s": 25.0})
    charts.redraw()
    low, high = charts.lrPlot.getViewBox().viewRange()[1]
    assert low == 0.0 and high == pytest.approx(0.0022)
    assert charts.ratePlot.getViewBox().viewRange()[1][0] == 0.0


def test_melody_samples_decode_to_notes():
    m = melody_from_tokens("+0 d1/2 +4 d1/2 r d1 -5 d2 | +7 d1")
    assert [(n.pitch, n.start, n.duration) for n in m.notes] == [
        (60, 0.0, 0.5), (64, 0.5, 0.5), (55, 2.0, 2.0), (67, 4.0, 1.0)]
    assert melody_from_tokens("<bos> M:4/4") is None


def test_command_args_for_each_kind():
    img = P.command_args("image", "small", data="/d", out="/o", steps=100)
    assert img[img.index("--progress") + 1] == "json" and "--json" not in img
    assert "--log-every" not in img and img[img.index("--size") + 1] == "28"
    mus = P.command_args("music", "tiny", data="/d", out="/o", steps=100, resume=True)
    assert mus[:2] == ["--model", "folk-melodies"] and mus[-1] == "--resume"
    assert "--sample-every" in mus
    txt = P.command_args("text", None, data="/d", out="/o", steps=100, init_from="/m")
    assert "--init-from" in txt and "--size" not in txt


def test_a_lora_run_evaluates_six_times_not_twenty():
    args = P.command_args("text", None, data="d", out="o", steps=40,
                          init_from="smollm2-135m-instruct", lora=True)
    assert args[args.index("--eval-every") + 1] == "6"
    plain = P.command_args("text", "tiny", data="d", out="o", steps=40)
    assert plain[plain.index("--eval-every") + 1] == "2"


def test_a_finished_fine_tune_says_what_it_did_to_the_held_out_text(tmp_path):
    """The kept adapter is the best evaluation's, so the line gives first -> best and its
    step (the first figure is the continued adapter's when one was trained further); a
    from-scratch run still reports its held-out loss."""
    stats = R.RunStats()
    for step, bpb, loss in [(0, 1.5, 4.0), (5, 1.4, 3.8), (10, 1.45, 3.9)]:
        stats.take({"kind": "eval", "step": step, "val_loss": loss, "bits_per_byte": bpb})
    lora = R.RunRequest(kind="text", name="me", size=None, data="d", steps=10,
                        init_from="smollm2-135m-instruct", lora=True)
    assert R.finish_text(lora, stats) == ("Done. Held-out bits per byte 1.500 → 1.400 "
                                          "(-6.7 %); the adapter of step 5, the best "
                                          "evaluation, is kept.")
    voice = tmp_path / "my-voice"
    voice.mkdir()
    (voice / "adapter_config.json").write_text("{}")
    further = R.RunRequest(kind="text", name="me-2", size=None, data="d", steps=10,
                           init_from=str(voice), lora=True)
    assert R.finish_text(further, stats).startswith(
        "Done. Held-out bits per byte 1.500 (my-voice's) → 1.400 (-6.7 %)")
    plain = R.RunRequest(kind="text", name="me", size="tiny", data="d", steps=10)
    assert R.finish_text(plain, stats) == "Done. Held-out loss 3.900."
    assert R.finish_text(plain, R.RunStats()) == "Done."


def test_the_kept_adapters_sample_is_labelled(qtbot):
    from desktop_app.ui.train.samples import SamplesView
    view = SamplesView()
    qtbot.addWidget(view)
    view.clear("text")
    view.add(4, "Before the storm")
    view.add(5, "After <the> storm")
    view.label_latest("the adapter kept")
    assert view.entries[0] == (5, "After <the> storm", "the adapter kept")
    html = view.view.toHtml()
    assert "Step 5 · the adapter kept" in html and "Step 4 ·" not in html
    assert "After &lt;the&gt; storm" in html
    # the run's "after" sample of an adapter kept at the last step is that step's sample
    # again: shown once, not twice
    view.add(6, "The end")
    view.add(6, "The end")
    view.label_latest("the adapter kept")
    assert [e[0] for e in view.entries] == [6, 5, 4]
    assert view.view.toHtml().count("Step 6") == 1


def test_each_kinds_data_folder_comes_back_after_a_restart(qtbot, test_presets, text_folder,
                                                           image_folder, tmp_path):
    """A writer adds a chapter and trains again: the folder that passed the check is kept per
    kind in the settings, offered by the next room, and switched with the kind; a value in
    the settings that is not a folder is ignored."""
    from desktop_app.engine.sync_engine import SyncEngine
    from desktop_app.ui.settings import Settings
    from desktop_app.ui.train.panel import TrainPanel
    from desktop_app.ui.widgets.randomness import RandomnessControls

    settings = Settings()

    def room():
        engine, randomness = SyncEngine(), RandomnessControls()
        qtbot.addWidget(randomness)
        p = TrainPanel(engine, randomness)
        qtbot.addWidget(p)
        p.preferences_changed(settings)
        return p, engine

    first, engine = room()
    try:
        assert first.dataFolderEdit.text() == ""
        first.dataFolderEdit.setText(str(text_folder))
        assert first.check_data().ok
        first.trainKindCombo.setCurrentIndex(first.trainKindCombo.findData("image"))
        first.dataFolderEdit.setText(str(image_folder))
        assert first.check_data().ok
        first.dataFolderEdit.setText(str(tmp_path / "nowhere"))
        assert not first.check_data().ok       # a folder that fails is not remembered
    finally:
        first.shutdown()
        engine.shutdown()
    second, engine = room()
    try:
        assert second.kind() == "text" and second.dataFolderEdit.text() == str(text_folder)
        second.wait_for_checks()
        qtbot.waitUntil(lambda: second.report is not None and second.report.ok)
        second.trainKindCombo.setCurrentIndex(second.trainKindCombo.findData("image"))
        assert second.dataFolderEdit.text() == str(image_folder)
        second.dataFolderEdit.setText(str(tmp_path / "typed by hand"))
        second.trainKindCombo.setCurrentIndex(second.trainKindCombo.findData("text"))
        assert second.dataFolderEdit.text() == str(tmp_path / "typed by hand")  # kept
        second.wait_for_checks()
    finally:
        second.shutdown()
        engine.shutdown()
    settings.set_value("train/data_folder/text", "x" * 10_000)
    third, engine = room()
    try:
        assert third.dataFolderEdit.text() == ""
    finally:
        third.shutdown()
        engine.shutdown()
    # text may be one file (a manuscript); images may not
    book = next(text_folder.iterdir())
    settings.set_value("train/data_folder/text", str(book))
    settings.set_value("train/data_folder/image", str(next(image_folder.iterdir())))
    fourth, engine = room()
    try:
        assert fourth.dataFolderEdit.text() == str(book)
        fourth.trainKindCombo.setCurrentIndex(fourth.trainKindCombo.findData("image"))
        assert fourth.dataFolderEdit.text() == str(book)   # no image folder remembered
        fourth.wait_for_checks()
    finally:
        fourth.shutdown()
        engine.shutdown()


def test_the_next_free_name_is_offered_once_a_name_is_taken(panel):
    (paths.user_models_dir() / "text" / "my-voice").mkdir(parents=True)
    assert R.free_name("text", "my-voice") == "my-voice-2"
    assert R.free_name("text", "my-voice-2") == "my-voice-2"
    (paths.user_models_dir() / "text" / "my-voice-2").mkdir()
    assert R.free_name("text", "my-voice-2") == "my-voice-3"
    assert R.free_name("image", "my-voice") == "my-voice"          # per kind
    assert R.free_name("text", "chapter-1") == "chapter"            # base is free
    (paths.user_models_dir() / "image" / "my-image-model").mkdir(parents=True)
    panel.trainKindCombo.setCurrentIndex(panel.trainKindCombo.findData("image"))
    assert panel.modelNameEdit.text() == "my-image-model-2"         # the default, moved on
    panel.modelNameEdit.setText("mine")
    panel.trainKindCombo.setCurrentIndex(panel.trainKindCombo.findData("text"))
    assert panel.modelNameEdit.text() == "mine"                     # a typed name is kept


SIGNALLED = r'''
import json, os, signal, sys, time
flag = os.path.join(sys.argv[sys.argv.index("--out") + 1], ".app-busy")
state = []
def look(*_):                           # the state is the file; a signal says "look now"
    now = "busy" if os.path.exists(flag) else "idle"
    if not state or state[-1] != now:
        state.append(now)
        print(json.dumps({"kind": "state", "now": now}), flush=True)
print("loading...", flush=True)       # before the handlers: no signal may come yet
time.sleep(0.3)
signal.signal(signal.SIGUSR1, look)
signal.signal(signal.SIGUSR2, look)
print(json.dumps({"kind": "start", "step": 0}), flush=True)
end = time.monotonic() + 30
while time.monotonic() < end and len(state) < int(sys.argv[-1]):
    time.sleep(0.01)
print(json.dumps({"kind": "done", "heard": state}), flush=True)
'''


@pytest.mark.skipif(sys.platform == "win32", reason="POSIX signals")
def test_the_run_hears_when_the_app_is_busy_once_it_has_started(qtbot, tmp_path):
    """A busy app before the run's "start" is told at "start" (not before: SIGUSR1's default
    action ends a process), then every change, through the flag file in the run's folder
    (two quick signals can arrive out of order); the flag is gone when the run ends, and a
    run without --busy-threads is never told."""
    proc = TrainProcess()
    events = []
    proc.progress.connect(events.append)
    now = lambda: [e["now"] for e in events if e["kind"] == "state"]  # noqa: E731
    out = tmp_path / "run"
    proc.set_app_busy(True)
    with qtbot.waitSignal(proc.finished, timeout=60_000) as blocker:
        proc.start([sys.executable, "-c", SIGNALLED, "--out", str(out), "--busy-threads", "1",
                    "3"])
        qtbot.waitUntil(lambda: now() == ["busy"], timeout=30_000)
        proc.set_app_busy(False)
        qtbot.waitUntil(lambda: now() == ["busy", "idle"], timeout=30_000)
        proc.set_app_busy(True)
    assert blocker.args[0] == 0
    assert events[-1]["heard"] == ["busy", "idle", "busy"]
    assert not (out / ".app-busy").exists()
    events.clear()
    with qtbot.waitSignal(proc.finished, timeout=60_000):
        proc.start([sys.executable, "-c", SIGNALLED.replace("end = time.monotonic() + 30",
                                                            "end = time.monotonic() + 1"),
                    "--out", str(out), "1"])
        qtbot.waitUntil(lambda: any(e["kind"] == "start" for e in events), timeout=30_000)
        proc.set_app_busy(False)
    assert events[-1]["heard"] == [] and not (out / ".app-busy").exists()
