"""The base of every room panel: the hooks the main window calls, and the generate/stop flow.

A room panel lives on the GUI thread. It receives the engine and the shared Randomness
controls in its constructor and never talks to the worker except through ``engine.submit`` /
``engine.cancel`` and the events the engine emits.

Hooks a room implements (all optional):

* ``build_job(sampler, seed) -> Job | None`` — the job Ctrl+Enter / Generate submits;
* ``on_job_event(event)`` — show streamed results of the room's own job;
* ``has_unsaved_changes()``, ``new_document()``, ``open_file(path)``, ``save()``,
  ``save_as()``, ``export()`` — the File menu is routed to the current room;
* ``model_kind`` — which ``models/<kind>/`` the room needs; :meth:`set_model_message` shows
  a clear notice when none is installed.

The base class implements the seed contract: the seed in the Randomness box goes into the job,
and when the job finishes the box is told (``generation_finished``) so it can roll a new seed.
"""

from __future__ import annotations

import logging

from PySide6.QtCore import QSize, Qt, Signal
from PySide6.QtGui import QIcon
from PySide6.QtWidgets import QHBoxLayout, QLabel, QPushButton, QVBoxLayout, QWidget

from desktop_app.core import paths
from desktop_app.core.events import Cancelled, Event, Failed, Finished
from desktop_app.core.jobs import Job, JobId

log = logging.getLogger(__name__)


def room_icon(room_id: str) -> QIcon:
    """The room's colour icon, drawn the same when selected (no highlight tint)."""
    path = str(paths.resources_dir() / "icons" / f"room-{room_id}.svg")
    icon = QIcon(path)
    icon.addFile(path, QSize(), QIcon.Mode.Selected)
    return icon


class RoomPanel(QWidget):
    """One room of the studio. Subclasses set the class attributes and override the hooks."""

    room_id: str = ""
    title: str = ""
    tagline: str = ""
    #: What the room will do, shown in the placeholder until the room is built.
    coming: tuple[str, ...] = ()
    model_kind: str | None = None
    generates: bool = False
    uses_randomness: bool = True
    #: Set by rooms that are finished; placeholders leave it False.
    available: bool = False

    #: A short message for the status bar (e.g. "The Write room arrives in a later release.").
    notice = Signal(str)
    #: Emitted when the running state of this room's own job changes.
    running_changed = Signal(bool)

    def __init__(self, engine, randomness, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName(f"{self.room_id}Panel")
        self.setAccessibleName(f"{self.title} room")
        self.engine = engine
        self.randomness = randomness
        self._job_id: JobId | None = None
        self._job_seed: int | None = None
        self.generateButton: QPushButton | None = None
        self.stopButton: QPushButton | None = None
        self.modelMessage = QLabel(self)
        self.modelMessage.setObjectName("modelFolderMessage")
        self.modelMessage.setWordWrap(True)
        self.modelMessage.setAccessibleName("Model folder problem")
        self.modelMessage.hide()
        engine.event.connect(self._on_engine_event)

    # -- pieces subclasses use ---------------------------------------------------------------

    def unavailable_reason(self) -> str:
        return f"The {self.title} room arrives in a later release."

    def make_generate_buttons(self) -> QHBoxLayout:
        """Create ``generateButton`` and ``stopButton`` in a row (disabled if not available)."""
        row = QHBoxLayout()
        row.setSpacing(8)
        self.generateButton = QPushButton("Generate", self)
        self.generateButton.setObjectName("generateButton")
        self.generateButton.setAccessibleName(f"Generate ({self.title})")
        self.generateButton.setToolTip("Generate (Ctrl+Enter)")
        self.generateButton.setDefault(True)
        self.stopButton = QPushButton("Stop", self)
        self.stopButton.setObjectName("stopButton")
        self.stopButton.setAccessibleName(f"Stop ({self.title})")
        self.stopButton.setToolTip("Stop (Esc)")
        self.generateButton.clicked.connect(self.generate)
        self.stopButton.clicked.connect(self.stop)
        if not self.available:
            for button in (self.generateButton, self.stopButton):
                button.setEnabled(False)
                button.setToolTip(self.unavailable_reason())
        else:
            self.stopButton.setEnabled(False)
        row.addStretch(1)
        row.addWidget(self.stopButton)
        row.addWidget(self.generateButton)
        return row

    def set_model_message(self, message: str) -> None:
        """Show (or with "" hide) the notice that this room's models folder is missing."""
        self.modelMessage.setText(message)
        self.modelMessage.setVisible(bool(message))

    def model_message(self) -> str:
        return "" if self.modelMessage.isHidden() else self.modelMessage.text()

    # -- generate / stop ---------------------------------------------------------------------

    def build_job(self, sampler, seed: int) -> Job | None:
        """Return the job to run for the current inputs; rooms override this."""
        return None

    def is_running(self) -> bool:
        return self._job_id is not None

    def generate(self) -> JobId | None:
        """Submit this room's job with the seed in the Randomness box (Ctrl+Enter)."""
        if not self.available:
            self.notice.emit(self.unavailable_reason())
            return None
        if self._job_id is not None:
            return None
        seed = self.randomness.seed_for_next_generation()
        job = self.build_job(self.randomness.settings(), seed)
        if job is None:
            return None
        self._job_seed = seed
        self._job_id = job.job_id
        self._set_running(True)
        self.engine.submit(job)
        return job.job_id

    def stop(self) -> None:
        """Cancel this room's running or queued job (Esc)."""
        if self._job_id is not None:
            self.engine.cancel(self._job_id)

    def on_job_event(self, event: Event) -> None:
        """Show an event of this room's own job; rooms override this."""

    def _on_engine_event(self, event: Event) -> None:
        if self._job_id is None or event.job_id != self._job_id:
            return
        self.on_job_event(event)
        if isinstance(event, (Finished, Failed, Cancelled)):
            seed = self._job_seed
            self._job_id = self._job_seed = None
            self._set_running(False)
            if isinstance(event, Finished) and seed is not None:
                self.randomness.generation_finished(seed)
            elif isinstance(event, Failed):
                self.notice.emit(f"{self.title}: {event.message}")

    def _set_running(self, running: bool) -> None:
        if self.generateButton is not None and self.available:
            self.generateButton.setEnabled(not running)
            self.stopButton.setEnabled(running)
        self.running_changed.emit(running)

    # -- documents (File menu) ---------------------------------------------------------------

    #: Set by the main window when it closes without asking (SIGTERM, SIGINT, logout): the
    #: room's autosave then holds the unsaved work and must survive the quit.
    keep_autosave: bool = False

    def has_unsaved_changes(self) -> bool:
        return False

    def supports_documents(self) -> bool:
        """Whether New / Open / Save / Save As / Export mean something in this room yet."""
        return False

    def new_document(self) -> None:
        self.notice.emit(self.unavailable_reason())

    def open_file(self, path: str) -> bool:
        self.notice.emit(self.unavailable_reason())
        return False

    def save(self) -> bool:
        """Save the room's document; return False if it was not saved (cancelled, failed)."""
        return not self.has_unsaved_changes()

    def save_as(self) -> bool:
        return self.save()

    def export(self) -> None:
        self.notice.emit(self.unavailable_reason())


class PlaceholderRoom(RoomPanel):
    """A room not built yet: says plainly what it will do. Never shows a fake result."""

    def __init__(self, engine, randomness, parent: QWidget | None = None) -> None:
        super().__init__(engine, randomness, parent)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(40, 36, 40, 24)
        layout.setSpacing(14)
        header = QHBoxLayout()
        header.setSpacing(16)
        icon = QLabel(self)
        icon.setPixmap(room_icon(self.room_id).pixmap(QSize(56, 56)))
        icon.setFixedSize(60, 60)
        heading = QVBoxLayout()
        title = QLabel(self.title, self)
        title.setObjectName("roomTitle")
        tagline = QLabel(self.tagline, self)
        tagline.setObjectName("roomTagline")
        tagline.setWordWrap(True)
        heading.addWidget(title)
        heading.addWidget(tagline)
        header.addWidget(icon, 0, Qt.AlignmentFlag.AlignTop)
        header.addLayout(heading, 1)
        layout.addLayout(header)

        card = QLabel(self)
        card.setObjectName("comingCard")
        card.setWordWrap(True)
        card.setTextFormat(Qt.TextFormat.RichText)
        items = "".join(f"<li style='margin-bottom:6px'>{line}</li>" for line in self.coming)
        card.setText(f"<p><b>Coming in this room</b> — {self.unavailable_reason()}</p>"
                     f"<ul style='margin-left:-20px'>{items}</ul>")
        card.setAccessibleName(f"Coming in the {self.title} room")
        layout.addWidget(card)
        layout.addWidget(self.modelMessage)
        layout.addStretch(1)
        if self.generates:
            layout.addLayout(self.make_generate_buttons())
