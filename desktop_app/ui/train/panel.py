"""The Train room: train or fine-tune a text, image or melody model on a folder of your files.

GUI thread. The training itself runs in a separate process (:class:`TrainProcess` runs
``python -m desktop_app train <kind> ... --progress json``), so the app stays responsive and a
crash in training cannot take it down; the room plots the JSON lines it reads. Runs live in
``<user data>/training/<kind>/<name>/`` (see :mod:`.runs`); a finished model is installed into
the user's models folder with a generated model card, and the room bus's ``models_installed``
makes the main window rescan, so the other rooms' pickers list it at once.
"""

from __future__ import annotations

import re
from pathlib import Path

from PySide6.QtCore import QObject, Signal
from PySide6.QtGui import QGuiApplication
from PySide6.QtWidgets import QFileDialog, QWidget

from desktop_app.core import paths
from desktop_app.core.errors import ReverieError
from desktop_app.core.train_data_check import DataReport, check_folder
from desktop_app.ui.room_base import RoomPanel
from desktop_app.ui.train import presets as P
from desktop_app.ui.train import runs as R
from desktop_app.ui.train.layout import TrainWidgets, build_layout
from desktop_app.ui.train.process import TrainProcess



class _CheckResult(QObject):
    """Carries a data check finished on a worker thread back to the GUI thread (queued)."""

    done = Signal(object, object)  # (key, DataReport)


class TrainPanel(TrainWidgets, RoomPanel):
    """Train room panel (GUI thread); the trainer runs in a child process."""

    room_id = "train"
    title = "Train"
    tagline = "Teach a model on a folder of your own files, and watch it learn."
    model_kind = None
    generates = False
    uses_randomness = False
    available = True

    def __init__(self, engine, randomness, parent: QWidget | None = None) -> None:
        super().__init__(engine, randomness, parent)
        self.process = TrainProcess(self)
        self.state = "idle"          # idle | running | pausing | paused | cancelling
        self.request: R.RunRequest | None = None
        self.run_folder: Path | None = None
        self.stats = R.RunStats()
        self.report: DataReport | None = None
        self.installed: Path | None = None
        self._unfinished: R.Unfinished | None = None
        self._models = []            # text models that can be fine-tuned (ModelInfo)
        self.command = ""            # the exact command line (one line, shell-quoted)
        self._checks = _CheckResult(self)
        self._checks.done.connect(self._on_check_done)
        self._check_threads: list = []   # data checks running off the GUI thread
        self._check_key: tuple | None = None
        self._writer_offered = False     # the LoRA default was offered once
        self._check_serial = 0           # only the newest data check's result is shown
        build_layout(self)
        self._connect()
        self._on_kind_changed()
        self.refresh_unfinished()

    def _connect(self) -> None:
        self.trainKindCombo.currentIndexChanged.connect(self._on_kind_changed)
        self.startFromCombo.currentIndexChanged.connect(self._on_start_from_changed)
        self.stepsSpin.valueChanged.connect(self._update_preview)
        self.modelNameEdit.textEdited.connect(self._on_name_edited)
        self.dataFolderEdit.editingFinished.connect(self.check_data_in_background)
        self.browseButton.clicked.connect(self._on_browse_clicked)
        self.startButton.clicked.connect(self.start)
        self.pauseButton.clicked.connect(self.toggle_pause)
        self.cancelButton.clicked.connect(self.cancel)
        self.copyCommandButton.clicked.connect(self.copy_command)
        self.resumeButton.clicked.connect(self.resume_unfinished)
        self.discardButton.clicked.connect(self.discard_unfinished)
        self.process.progress.connect(self._on_process_progress)
        self.process.log_line.connect(self.logView.appendPlainText)
        self.process.finished.connect(self._on_process_finished)

    # -- choices -----------------------------------------------------------------------------

    def kind(self) -> str:
        return self.trainKindCombo.currentData()

    def _on_kind_changed(self) -> None:
        kind = self.kind()
        self._fill_start_from()
        name = self.modelNameEdit.text().strip()
        if not name or re.fullmatch(r"my-(text|image|music)-model", name):
            self.modelNameEdit.setText(f"my-{kind}-model")
        self.charts.set_rate_unit(P.UNITS[kind])
        self.dataCheckLabel.clear()
        self.report = None
        if self.dataFolderEdit.text().strip():
            self.check_data_in_background()
        self._update_preview()

    def _on_start_from_changed(self) -> None:
        """Fine-tuning and training from scratch need different amounts of text: re-check."""
        _, _, lora = self._start_from()
        if lora and self.stepsSpin.value() == 1000:  # the from-scratch default
            self.stepsSpin.setValue(P.LORA_DEFAULT_STEPS)
        elif not lora and self.stepsSpin.value() == P.LORA_DEFAULT_STEPS:
            self.stepsSpin.setValue(1000)
        if self.report is not None and self.report.fine_tune != lora:
            self.check_data_in_background()
        self._update_preview()

    def _fill_start_from(self) -> None:
        """Size presets of the chosen medium, then the models that can be fine-tuned."""
        kind, current = self.kind(), self.startFromCombo.currentData()
        combo = self.startFromCombo
        combo.blockSignals(True)
        combo.clear()
        for size, p in P.PRESETS[kind].items():
            combo.addItem(f"New {p.label} model — {P.human_count(p.parameters)} parameters",
                          f"size:{size}")
        writer = None
        for m in self._models if kind == "text" else []:
            if (Path(m.path) / "adapter_config.json").is_file():
                continue  # an adapter is not a base
            ref = m.name if m.source == "built-in" else str(m.path)
            combo.addItem(f"Fine-tune {m.name} on your writing (LoRA adapters, "
                          f"{P.human_count(m.parameters or 0)} parameters frozen)",
                          f"lora:{ref}")
            if m.name == P.BUILTIN_WRITER:
                writer = f"lora:{ref}"
        for m in self._models if kind == "text" else []:
            if Path(m.path).is_dir() and (Path(m.path) / "config.json").is_file() \
                    and (Path(m.path) / "model.safetensors").is_file():
                combo.addItem(f"Fine-tune all of {m.name} ({m.source}, "
                              f"{P.human_count(m.parameters or 0)} parameters)",
                              f"init:{m.path}")
        if kind != "text":
            combo.addItem(f"Fine-tuning a built-in {kind} model: not supported by "
                          f"`reverie train {kind}` yet", None)
            combo.model().item(combo.count() - 1).setEnabled(False)
        # the default for text: adapters on the built-in writing model, when it is installed
        # (once: after that the writer's own choice stays)
        first_offer = writer is not None and not self._writer_offered
        chosen = writer if first_offer else current
        self._writer_offered = self._writer_offered or writer is not None
        combo.setCurrentIndex(max(combo.findData(chosen), 0) if chosen else 0)
        combo.blockSignals(False)
        if first_offer:
            self._on_start_from_changed()

    def _on_name_edited(self) -> None:
        self._update_preview()

    def _start_from(self) -> tuple[str | None, str | None, bool]:
        """(size preset, model to start from, LoRA?)"""
        data = self.startFromCombo.currentData() or f"size:{next(iter(P.PRESETS[self.kind()]))}"
        how, _, value = data.partition(":")
        return (value, None, False) if how == "size" else (None, value, how == "lora")

    def models_changed(self, scan) -> None:
        """The main window rescanned the models: refresh the fine-tune choices."""
        super().models_changed(scan)
        self.set_fine_tune_models(scan.of_kind("text"))

    def set_fine_tune_models(self, models) -> None:
        """The text models (``ModelInfo``) offered for fine-tuning; unusable ones are left out."""
        self._models = [m for m in models if not m.problem]
        self._fill_start_from()
        self._update_preview()

    def _seconds_per_step(self) -> tuple[float, int]:
        size, init, lora = self._start_from()
        if size is not None:
            p = P.PRESETS[self.kind()][size]
            return p.seconds_per_step, p.parameters
        m = next((m for m in self._models if init in (str(m.path), m.name)), None)
        if lora:
            n = (m.parameters if m else None) or P.LORA_REFERENCE_PARAMETERS
            return P.lora_seconds_per_step(n), n
        n = (m.parameters if m else None) or 4_200_000
        tiny = P.PRESETS["text"]["tiny"]
        return tiny.seconds_per_step * n / tiny.parameters, n

    def _update_preview(self) -> None:
        sps, n = self._seconds_per_step()
        steps = self.stepsSpin.value()
        size, _, lora = self._start_from()
        how = ("measured" if size is not None else "measured for SmolLM2-135M" if lora
               else "scaled from the measured tiny model")
        self.estimateLabel.setText(
            f"{P.human_count(n)} parameters · about {P.human_time(sps * steps)} for "
            f"{steps:,} steps on a 2-core CPU ({sps:.2g} s a step, {how}; evaluations add "
            f"a little); bigger machines and GPUs: see docs/train-room.md")
        if self.state == "idle":
            self._show_command(P.shell_line(self.kind(), self._args(resume=False)))

    def _args(self, *, resume: bool, request: R.RunRequest | None = None) -> list[str]:
        if request is None:
            size, init, lora = self._start_from()
            kind, name, data = self.kind(), self.modelNameEdit.text().strip(), \
                self.dataFolderEdit.text().strip()
            steps = self.stepsSpin.value()
        else:
            size, init, kind, name, data, steps, lora = (
                request.size, request.init_from, request.kind, request.name, request.data,
                request.steps, request.lora)
        return P.command_args(kind, size, data=data or "FOLDER",
                              out=str(R.run_dir(kind, name or "NAME")), steps=steps,
                              resume=resume, init_from=init, lora=lora)

    # -- data --------------------------------------------------------------------------------

    def _on_browse_clicked(self) -> None:
        folder = QFileDialog.getExistingDirectory(self, "Folder of training files",
                                                  self.dataFolderEdit.text() or str(Path.home()))
        if folder:
            self.dataFolderEdit.setText(folder)
            self.check_data_in_background()

    def _check_args(self) -> tuple[str, str, bool]:
        return self.kind(), self.dataFolderEdit.text().strip(), self._start_from()[2]

    def check_data(self) -> DataReport:
        """Check the chosen folder now (on this thread) and show what training would use."""
        kind, folder, lora = key = self._check_args()
        self._check_key, self._check_serial = key, self._check_serial + 1  # drops older ones
        self._show_report(check_folder(kind, folder, fine_tune=lora))
        return self.report

    def check_data_in_background(self) -> None:
        """Check the chosen folder on a worker thread (a big folder takes seconds); the
        result is shown when it arrives, unless the choice changed meanwhile."""
        import threading

        kind, folder, lora = key = self._check_args()
        self._check_key, self._check_serial = key, self._check_serial + 1
        serial = self._check_serial
        self.dataCheckLabel.setStyleSheet("")
        self.dataCheckLabel.setText("Checking the folder…")

        def work() -> None:
            try:
                report = check_folder(kind, folder, fine_tune=lora)
            except Exception as exc:  # noqa: BLE001 - shown in the room, never lost
                report = DataReport(kind=kind, folder=Path(folder), error=f"Cannot check "
                                    f"the folder: {exc}")
            self._checks.done.emit((key, serial), report)

        self._check_threads = [t for t in self._check_threads if t.is_alive()]
        t = threading.Thread(target=work, name="train-data-check", daemon=True)
        self._check_threads.append(t)
        t.start()

    def wait_for_checks(self, timeout: float = 30.0) -> None:
        """Join the data-check threads (tests, closing)."""
        for t in self._check_threads:
            t.join(timeout)
        self._check_threads = []

    def _on_check_done(self, tagged, report: DataReport) -> None:
        key, serial = tagged
        if serial == self._check_serial and key == self._check_key == self._check_args():
            self._show_report(report)

    def _show_report(self, report: DataReport) -> None:
        self.report = report
        self.dataCheckLabel.setText(report.summary())
        self.dataCheckLabel.setProperty("error", not report.ok)
        self.dataCheckLabel.setStyleSheet("color: #c0392b;" if not report.ok else "")
        if report.ok and self._message_is_data_error:
            self.show_message("")  # the old "too little" error no longer applies
        if self.state == "idle":
            self.startButton.setEnabled(report.ok)
        self._update_preview()

    # -- start / pause / resume / cancel -----------------------------------------------------

    _message_is_data_error = False

    def show_message(self, text: str, error: bool = True, *, data_error: bool = False) -> None:
        self._message_is_data_error = data_error
        self.messageLabel.setText(text)
        self.messageLabel.setStyleSheet("color: #c0392b;" if error and text else "")
        self.messageLabel.setVisible(bool(text))
        if text:
            self.notice.emit(f"Train: {text}")

    def start(self) -> bool:
        """Check everything, then start a new run; False (with a message) when not possible."""
        if self.state != "idle":
            return False
        kind, name = self.kind(), self.modelNameEdit.text().strip()
        problem = R.check_name(name)
        report = self.report if (self.report is not None and self._check_key
                                 == self._check_args()) else self.check_data()
        data_problem = not problem and not report.ok
        if data_problem:
            problem = report.error
        if not problem and R.model_dir(kind, name).exists():
            problem = (f"A {kind} model called “{name}” already exists in your models folder; "
                       f"choose another name.")
        folder = R.run_dir(kind, name)
        if not problem and R.checkpoint_step(folder) > 0:
            problem = (f"An unfinished run called “{name}” exists; resume it (above) or "
                       f"choose another name.")
        if problem:
            self.show_message(problem, data_error=data_problem)
            return False
        size, init, lora = self._start_from()
        request = R.RunRequest(kind=kind, name=name, size=size, data=report.folder.as_posix(),
                               steps=self.stepsSpin.value(), init_from=init, lora=lora,
                               data_summary=report.summary())
        try:
            if folder.exists():  # an earlier attempt that never reached a checkpoint
                R.discard_run(folder)
            folder.mkdir(parents=True, exist_ok=True)
            R.save_request(folder, request)
        except (OSError, ReverieError) as exc:
            self.show_message(f"Cannot create the run folder {folder}: {exc}")
            return False
        self._launch(request, folder, resume=False)
        return True

    def _launch(self, request: R.RunRequest, folder: Path, *, resume: bool) -> None:
        self.request, self.run_folder, self.installed = request, folder, None
        self.stats = R.RunStats(total_steps=request.steps)
        self.charts.clear()
        self.charts.set_rate_unit(P.UNITS[request.kind])
        self.samples.clear(request.kind)
        if resume:
            self._replay_history(folder)
        self.progressBar.setRange(0, request.steps)
        args = self._args(resume=resume, request=request)
        self._show_command(P.shell_line(request.kind, args))
        self.show_message("")
        self.statusLabel.setText("Starting the trainer (loading torch)…")
        self.logView.appendPlainText("$ " + P.shell_line(request.kind, args))
        self._set_state("running")
        self.process.start(P.full_command(request.kind, args), cwd=str(paths.install_root()))

    def toggle_pause(self) -> None:
        if self.state == "running":
            if self.process.pause():
                self._set_state("pausing")
                self.statusLabel.setText("Pausing: saving a checkpoint after this step…")
        elif self.state == "paused" and self.request and self.run_folder:
            self._launch(self.request, self.run_folder, resume=True)

    def cancel(self) -> None:
        """Stop at once; the last checkpoint stays, so the run can still be resumed."""
        if self.state in ("running", "pausing"):
            self._set_state("cancelling")
            self.etaLabel.setText("cancelled")  # no stale "N min left"
            self.process.kill()
        elif self.state == "paused":
            self._set_state("idle")
            self.refresh_unfinished()

    def _set_state(self, state: str) -> None:
        self.state = state
        busy = state in ("running", "pausing", "cancelling")
        self.startButton.setEnabled(state == "idle" and (self.report is None or self.report.ok))
        self.pauseButton.setEnabled(state in ("running", "paused"))
        self.pauseButton.setText("Resume" if state == "paused" else "Pause")
        self.cancelButton.setEnabled(state in ("running", "pausing", "paused"))
        for w in (self.trainKindCombo, self.startFromCombo, self.stepsSpin,
                  self.modelNameEdit, self.dataFolderEdit, self.browseButton):
            w.setEnabled(state == "idle")
        self.resumeBox.setVisible(state == "idle" and self._unfinished is not None)
        self.running_changed.emit(busy)

    # -- unfinished runs ---------------------------------------------------------------------

    def refresh_unfinished(self) -> None:
        found = R.find_unfinished()
        self._unfinished = found[0] if found else None
        if self._unfinished is not None:
            self.resumeLabel.setText(self._unfinished.describe()
                                     + " Its checkpoint is kept: resume it where it stopped.")
        self.resumeBox.setVisible(self.state == "idle" and self._unfinished is not None)

    def resume_unfinished(self) -> bool:
        u = self._unfinished
        if u is None or self.state != "idle":
            return False
        self.resumeBox.hide()
        index = self.trainKindCombo.findData(u.request.kind)
        self.trainKindCombo.setCurrentIndex(index)
        self.modelNameEdit.setText(u.request.name)
        self.dataFolderEdit.setText(u.request.data)
        self._launch(u.request, u.folder, resume=True)
        return True

    def discard_unfinished(self) -> None:
        if self._unfinished is not None and self.state == "idle":
            R.discard_run(self._unfinished.folder)
            self.refresh_unfinished()

    # -- the progress stream -----------------------------------------------------------------

    def _replay_history(self, folder: Path) -> None:
        for ev in R.read_history(folder):
            self._show_event(ev)

    def _on_process_progress(self, ev: dict) -> None:
        if ev.get("kind") in ("step", "eval", "sample") and self.run_folder is not None:
            R.append_history(self.run_folder, ev)
        self._show_event(ev)

    def _show_event(self, ev: dict) -> None:
        kind, step = ev.get("kind"), ev.get("step")
        self.stats.take(ev)
        if isinstance(step, int):
            self.progressBar.setValue(min(step, self.progressBar.maximum()))
        if kind in ("step", "eval"):
            self.charts.add(ev)
        if kind == "step":
            eta = ev.get("eta_s")
            self.etaLabel.setText(f"step {step:,} of {self.progressBar.maximum():,}"
                                  + (f" · {P.human_time(eta)} left" if eta is not None else ""))
        elif kind == "sample" and isinstance(ev.get("sample"), str):
            self.samples.add(step or 0, ev["sample"])
        elif kind == "checkpoint":
            self.statusLabel.setText(f"Checkpoint saved at step {step:,}.")
        elif kind == "start" or ev.get("message"):
            self.statusLabel.setText(str(ev.get("message") or ""))
            if kind != "start":
                self.logView.appendPlainText(str(ev["message"]))

    def _on_process_finished(self, code: int, stderr: str) -> None:
        state, folder, request = self.state, self.run_folder, self.request
        saved = R.checkpoint_step(folder) if folder else 0
        if state == "cancelling":
            self.etaLabel.setText(f"cancelled at step {saved:,}" if saved else "cancelled")
            self._set_state("idle")
            self.refresh_unfinished()
            self.show_message(f"Training cancelled. The checkpoint at step {saved:,} is kept: "
                              f"resume or discard the run above." if saved else
                              "Training cancelled before the first checkpoint.", error=False)
        elif state == "pausing" and saved and saved < (request.steps if request else 0):
            self._set_state("paused")
            self.statusLabel.setText(f"Paused at step {saved:,} (checkpoint saved). Press "
                                     f"Resume to continue, even after restarting the app.")
        elif state == "pausing" and not saved:
            self._set_state("idle")
            self.show_message("Stopped before the first checkpoint, so there is nothing to "
                              "resume; press Start to begin again.", error=False)
        elif code == 0 and request is not None and folder is not None:
            self._install(request, folder)
        else:
            self._set_state("idle")
            self.refresh_unfinished()
            self.show_message(R.failure_text(code, stderr, saved))

    def _install(self, request: R.RunRequest, folder: Path) -> None:
        line = P.shell_line(request.kind, self._args(resume=False, request=request))
        card = R.model_card(request, self.stats, line)
        if request.lora and (folder / "MODEL_CARD.md").is_file():  # the trainer's own card:
            try:                                                   # bits/byte, samples
                card = R.lora_card(request, (folder / "MODEL_CARD.md").read_text("utf-8"))
            except (OSError, UnicodeDecodeError):
                pass
        try:
            self.installed = R.install_model(folder, request.kind, request.name, card)
        except ReverieError as exc:
            self._set_state("idle")
            self.show_message(str(exc))
            return
        R.tidy_run(folder)
        self._set_state("idle")
        self.refresh_unfinished()
        self.bus.models_installed.emit()   # every room's model list is stale now
        room = {"text": "Write", "image": "Imagine", "music": "Compose"}[request.kind]
        loss = f" Held-out loss {self.stats.val_loss:.3f}." if self.stats.val_loss else ""
        self.statusLabel.setText(f"Done.{loss}")
        self.show_message(f"The model “{request.name}” is ready in {self.installed} and is "
                          f"listed in the {room} room.", error=False)

    # -- clipboard, closing ------------------------------------------------------------------

    def _show_command(self, line: str) -> None:
        """Keep the one-line command for the clipboard; show one option per line."""
        self.command = line
        self.commandLabel.setText(P.display_lines(line))

    def copy_command(self) -> str:
        text = self.command
        QGuiApplication.clipboard().setText(text)
        self.notice.emit("Training command copied to the clipboard.")
        return text

    def has_unsaved_changes(self) -> bool:
        return self.state in ("running", "pausing")

    def save(self) -> bool:
        """Closing while training: checkpoint (Pause) and wait for the trainer to stop."""
        if self.state == "running":
            self.toggle_pause()
        if self.state == "pausing":
            self.process.wait(120_000)
        return True

    def shutdown(self) -> None:
        """Kill the trainer at once (tests' teardown; the last checkpoint survives)."""
        self.wait_for_checks()
        self._check_serial += 1  # results still queued are not shown
        if self.process.is_running():
            self.process.kill()
            self.process.wait(10_000)
