"""The status bar: what the engine is doing, derived from its events (GUI thread only).

Idle → "Ready". A job's ``Started.label`` names the work; ``Progress`` adds its message, a
progress bar (when the fraction is known) and a rate such as "12.3 steps/s"; ``TokenChunk``
shows tokens/s. A failure stays visible ("… failed: reason") until the next job starts.
"""

from __future__ import annotations

from PySide6.QtWidgets import QLabel, QProgressBar, QStatusBar, QWidget

from desktop_app.ui.widgets.elided_label import ElidedLabel

from desktop_app.core.events import (Cancelled, Event, Failed, Finished, Progress, Started,
                                     TokenChunk)

READY = "Ready"


class EngineStatusBar(QStatusBar):
    """Shows the engine's state. Subscribes to ``engine.event``; lives on the GUI thread."""

    def __init__(self, engine, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("statusBar")
        self._labels: dict[int, str] = {}  # running/queued job id -> label
        # Elided: a long failure message (a path, say) must never widen the window.
        self.stateLabel = ElidedLabel(READY, self)
        self.stateLabel.setObjectName("engineStateLabel")
        self.stateLabel.setAccessibleName("Engine state")
        self.rateLabel = QLabel("", self)
        self.rateLabel.setObjectName("engineRateLabel")
        self.rateLabel.setAccessibleName("Speed")
        self.progressBar = QProgressBar(self)
        self.progressBar.setObjectName("engineProgressBar")
        self.progressBar.setAccessibleName("Progress")
        self.progressBar.setRange(0, 1000)
        self.progressBar.setTextVisible(False)
        self.progressBar.setMaximumWidth(160)
        self.progressBar.setMaximumHeight(12)
        self.progressBar.hide()
        self.addWidget(self.stateLabel, 1)
        self.addPermanentWidget(self.rateLabel)
        self.addPermanentWidget(self.progressBar)
        engine.event.connect(self._on_engine_event)

    def state_text(self) -> str:
        return self.stateLabel.text()

    def show_state(self, text: str) -> None:
        """Show a state line not tied to a job (e.g. before the engine's first event)."""
        self.stateLabel.setText(text)

    def _on_engine_event(self, event: Event) -> None:
        if isinstance(event, Started):
            self._labels[event.job_id] = event.label or "Working"
            self.stateLabel.setText(f"{self._labels[event.job_id]}…")
            self.rateLabel.setText("")
            self.progressBar.hide()
        elif isinstance(event, Progress):
            label = self._labels.get(event.job_id, "Working")
            message = event.message
            if not message or message.lower() in label.lower():
                self.stateLabel.setText(f"{label}…")
            else:
                self.stateLabel.setText(f"{label}: {message}")
            if event.fraction is not None:
                self.progressBar.setValue(int(max(0.0, min(1.0, event.fraction)) * 1000))
                self.progressBar.show()
            if event.rate is not None:
                value, unit = event.rate
                self.rateLabel.setText(f"{value:.1f} {unit}")
        elif isinstance(event, TokenChunk):
            if event.tokens_per_s is not None:
                self.rateLabel.setText(f"{event.tokens_per_s:.1f} tokens/s")
        elif isinstance(event, (Finished, Failed, Cancelled)):
            label = self._labels.pop(event.job_id, None)
            self.progressBar.hide()
            if isinstance(event, Failed):
                self.stateLabel.setText(f"{label or 'Job'} failed: {event.message}")
                self.rateLabel.setText("")
            elif not self._labels:
                self.stateLabel.setText(READY if isinstance(event, Finished) else "Stopped")
                self.rateLabel.setText("")
