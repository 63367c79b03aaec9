"""The Train room's progress stream: the trainer's JSON events drawn as they arrive (progress
bar, time left, charts, samples, log), and the end of a run (cancelled, paused, failed, or
finished: the model installed with its card and the other rooms told).

A mixin of :class:`~desktop_app.ui.train.panel.TrainPanel` (GUI thread). The time left comes
from the trainer's own estimate (mean step time, evaluations left out); after Cancel it says
"cancelled", never a stale "N min left".
"""

from __future__ import annotations

from pathlib import Path

from desktop_app.core.errors import ReverieError
from desktop_app.ui.train import presets as P
from desktop_app.ui.train import runs as R
from desktop_app.ui.train.layout import TrainWidgets


class ProgressMixin(TrainWidgets):
    """Shows a run's events and finishes it (install, or say why it ended)."""

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
        if self.modelNameEdit.text().strip() == request.name:   # ready for the next run
            self.modelNameEdit.setText(R.free_name(request.kind, request.name))
        self._set_state("idle")
        self.refresh_unfinished()
        self.bus.models_installed.emit()   # every room's model list is stale now
        room = {"text": "Write", "image": "Imagine", "music": "Compose"}[request.kind]
        self.statusLabel.setText(R.finish_text(request, self.stats))
        if self.stats.ended and self.stats.steps < request.steps:   # not a stale "0 s left"
            self.etaLabel.setText(f"ended at step {self.stats.steps:,} of {request.steps:,}")
        if request.lora and self.stats.best_bpb is not None:
            self.samples.label_latest("the adapter kept")  # the run's "after" sample
        self.show_message(f"The model “{request.name}” is ready in {self.installed} and is "
                          f"listed in the {room} room.", error=False)
        short = request.name if len(request.name) <= 24 else request.name[:23] + "…"
        wording = {"text": "Write with “{}”", "image": "Open “{}” in Imagine",
                   "music": "Compose with “{}”"}[request.kind]
        self.useModelButton.setText(wording.format(short))
        self.useModelButton.setToolTip(f"Show the {room} room with “{request.name}” chosen")
        self.useModelButton.show()

    def use_installed_model(self) -> None:
        """Show the room of the finished run's kind with its new model chosen (the bus routes
        it; that room loads the model as if the person had picked it)."""
        if self.installed is not None and self.request is not None:
            self.bus.open_in_room.emit(self.request.kind, {"model": str(self.installed),
                                                           "name": self.request.name})
