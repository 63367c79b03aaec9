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

from PySide6.QtGui import QGuiApplication
from PySide6.QtWidgets import QWidget

from desktop_app.core import paths
from desktop_app.core.errors import ReverieError
from desktop_app.core.train_data_check import DataReport
from desktop_app.ui.room_base import RoomPanel
from desktop_app.ui.train import presets as P
from desktop_app.ui.train import runs as R
from desktop_app.ui.train.data_check import DataCheckMixin
from desktop_app.ui.train.layout import build_layout
from desktop_app.ui.train.progress import ProgressMixin
from desktop_app.ui.widgets.error_label import mark_error
from desktop_app.ui.train.process import TrainProcess


class TrainPanel(DataCheckMixin, ProgressMixin, RoomPanel):
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
        self._init_checks()
        self._writer_offered = False     # the LoRA default was offered once
        self._name_suggested = ""        # the run name the room last chose (not the person)
        self._kind_shown: str | None = None   # the kind the form was last set up for
        # Steps and time limit follow the choices and the checked text until the person sets
        # them (then theirs stay)
        self._steps_by_hand = self._minutes_by_hand = False
        self._setting_defaults = False
        build_layout(self)
        self._connect()
        self._on_kind_changed()
        self.refresh_unfinished()

    def _connect(self) -> None:
        self.trainKindCombo.currentIndexChanged.connect(self._on_kind_changed)
        self.startFromCombo.currentIndexChanged.connect(self._on_start_from_changed)
        self.stepsSpin.valueChanged.connect(self._on_steps_changed)
        self.timeLimitSpin.valueChanged.connect(self._on_minutes_changed)
        self.modelNameEdit.textEdited.connect(self._on_name_edited)
        self.dataFolderEdit.editingFinished.connect(self.check_data_in_background)
        self.browseButton.clicked.connect(self._on_browse_clicked)
        self.startButton.clicked.connect(self.start)
        self.pauseButton.clicked.connect(self.toggle_pause)
        self.cancelButton.clicked.connect(self.cancel)
        self.copyCommandButton.clicked.connect(self.copy_command)
        self.resumeButton.clicked.connect(self.resume_unfinished)
        self.discardButton.clicked.connect(self.discard_unfinished)
        self.useModelButton.clicked.connect(self.use_installed_model)
        self.process.progress.connect(self._on_process_progress)
        self.process.log_line.connect(self.logView.appendPlainText)
        self.process.finished.connect(self._on_process_finished)
        # a run uses every core while the app is idle and gives one back while it works
        self.engine.busy_changed.connect(self.process.set_app_busy)

    # -- choices -----------------------------------------------------------------------------

    def kind(self) -> str:
        return self.trainKindCombo.currentData()

    def preferences_changed(self, settings) -> None:
        """At start (and after Preferences): the settings keep each kind's data folder."""
        self.remember_folders_in(settings)
        if self.dataFolderEdit.text().strip() and self.report is None:
            self.check_data_in_background()

    def _on_kind_changed(self) -> None:
        kind = self.kind()
        previous, self._kind_shown = self._kind_shown, kind
        if previous is not None and previous != kind:
            self._use_remembered_folder(previous)
        self._fill_start_from()
        name = self.modelNameEdit.text().strip()
        if not name or re.fullmatch(r"my-(text|image|music)-model(-\d+)?", name):
            self.modelNameEdit.setText(R.free_name(kind, f"my-{kind}-model"))
        self.charts.set_rate_unit(P.UNITS[kind])
        self.dataFolderEdit.setPlaceholderText(P.DATA_HINTS[kind])
        self.dataFolderEdit.setToolTip(P.DATA_HINTS[kind])   # the placeholder is cut when narrow
        self.dataCheckLabel.clear()
        self.report = None
        self._apply_defaults()
        if self.dataFolderEdit.text().strip():
            self.check_data_in_background()
        self._update_preview()

    def _on_start_from_changed(self) -> None:
        """Fine-tuning and training from scratch need different amounts of text, and another
        base another count of tokens: re-check. Continuing an adapter suggests the next free
        name after it (my-voice-2) unless the person has named the run."""
        _size, init, lora = self._start_from()
        name = self.modelNameEdit.text().strip()
        suggested = not name or name == self._name_suggested or re.fullmatch(
            r"my-(text|image|music)-model(-\d+)?", name)
        if lora and init and (Path(init) / "adapter_config.json").is_file() and suggested:
            self._name_suggested = R.free_name(self.kind(), Path(init).name)
            self.modelNameEdit.setText(self._name_suggested)
        self._apply_defaults()
        if self.report is not None and self._check_key != self._check_args():
            self.check_data_in_background()
        self._update_preview()

    def _on_steps_changed(self) -> None:
        self._steps_by_hand = self._steps_by_hand or not self._setting_defaults
        self._update_preview()

    def _on_minutes_changed(self) -> None:
        self._minutes_by_hand = self._minutes_by_hand or not self._setting_defaults
        self._update_preview()

    def _apply_defaults(self) -> None:
        """Steps and time limit for the current choice, unless the person has set them: a
        fine-tune gets the command's own default steps for the checked text (about four
        passes over it) and a time limit; training from scratch its preset's steps."""
        size, _, lora = self._start_from()
        report = self.report
        if lora:
            checked = report is not None and report.ok and report.fine_tune
            steps = (P.lora_steps_for(report.data_bytes - report.heldout_bytes,
                                      report.train_tokens) if checked
                     else P.LORA_DEFAULT_STEPS)
        else:
            steps = P.PRESETS[self.kind()][size].default_steps if size else 1000
        limited = self.kind() in P.TIME_LIMIT_KINDS
        self._setting_defaults = True
        try:
            if not self._steps_by_hand:
                self.stepsSpin.setValue(steps)
            if not self._minutes_by_hand:
                self.timeLimitSpin.setValue(P.LORA_DEFAULT_MINUTES if lora else 0)
        finally:
            self._setting_defaults = False
        self.timeLimitSpin.setVisible(limited)
        self.timeLimitLabel.setVisible(limited)

    def _time_limit(self) -> float:
        """The time limit in minutes for the chosen kind (0: none)."""
        return float(self.timeLimitSpin.value()) if self.kind() in P.TIME_LIMIT_KINDS else 0.0

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
            base = P.adapter_base(m, self._models)
            if base is not None:   # training on continues the adapter (a new one, same base)
                combo.addItem(f"Continue {m.name} with more writing ({m.adapter}; a new "
                              f"adapter, {P.human_count(base.parameters or 0)} parameters "
                              f"frozen)", f"lora:{m.path}")
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
        if m is not None and m.adapter:     # continuing an adapter: its base's size counts
            m = P.adapter_base(m, self._models)
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
        evals = "evaluations add a little"
        report = self.report
        if lora and report is not None and report.ok:   # the held-out part is known
            evals = (f"plus about {P.human_time(P.lora_eval_seconds(report.heldout_bytes, n))} for "
                     f"{P.LORA_EVALS} evaluations of the held-out text")
        limit, whole = self._time_limit() * 60, sps * steps
        rate = f"{sps:.2g} s a step, {how}; {evals}"
        if limit and whole > limit:   # the run will end at the limit, with a checkpoint
            length = (f"at most {P.human_time(limit)}, the time limit ({steps:,} steps would "
                      f"take about {P.human_time(whole)} on a 2-core CPU: {rate})")
        else:
            length = (f"about {P.human_time(whole)} for {steps:,} steps on a 2-core CPU "
                      f"({rate})")
        self.estimateLabel.setText(f"{P.human_count(n)} parameters · {length}; bigger machines "
                                   f"and GPUs: see docs/train-room.md")
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
        minutes = self._time_limit() if request is None else request.max_minutes
        return P.command_args(kind, size, data=data or "FOLDER",
                              out=str(R.run_dir(kind, name or "NAME")), steps=steps,
                              resume=resume, init_from=init, lora=lora, max_minutes=minutes)

    # -- start / pause / resume / cancel -----------------------------------------------------

    def show_message(self, text: str, error: bool = True, *, data_error: bool = False) -> None:
        self._message_is_data_error = data_error
        self.messageLabel.setText(text)
        mark_error(self.messageLabel, bool(error and text))
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
                               data_summary=report.summary(), max_minutes=self._time_limit())
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
        self.useModelButton.hide()
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
        for w in (self.trainKindCombo, self.startFromCombo, self.stepsSpin, self.timeLimitSpin,
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
