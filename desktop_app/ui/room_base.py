"""The public room API: what every room panel offers the main window, and what it may use.

A room is a :class:`RoomPanel` subclass in its own package (``ui/write/``, ``ui/imagine/`` …).
It lives on the GUI thread, receives the engine and the shared Randomness controls in its
constructor, and talks to the worker only through ``engine.submit`` / ``engine.cancel`` and the
events the engine emits. It knows nothing of the other rooms or of the main window: the shell
calls the hooks below, and what rooms offer one another goes through the one
:class:`~desktop_app.ui.room_bus.RoomBus` (``self.bus``). Everything a room needs from the
shell arrives through a hook; nothing is read from ``self.window()``.

**Declared** (class attributes): ``room_id`` (object name ``<room_id>Panel``), ``title``,
``tagline``, ``model_kind`` (which ``models/<kind>/`` it needs; the room that ``generates``
a medium is also the one the map opens items of that medium in), ``generates``,
``uses_randomness``, ``randomness_fields``, ``available``, ``has_own_map``,
``new_seed_after_stop``.

**Called by the shell** (override as needed, call ``super()`` where the base does work):

* :meth:`join` — the window's bus; rooms subscribe in :meth:`on_bus` (default: nothing);
* :meth:`models_changed` ``(scan)`` — the model folders were scanned (at start and after
  Preferences or an install); the base shows the "models folder missing" notice;
* :meth:`preferences_changed` ``(settings)`` — Preferences were saved (and once at start);
* :meth:`open_from_map` ``(kind, payload)`` — the map asks this room to open an item;
* :meth:`model_in_use` — the model folder the room works with now (the side map follows it);
* :meth:`generate` (Ctrl+Enter), :meth:`stop` (Esc), :meth:`undo` / :meth:`redo` (Edit menu
  when no text field has focus);
* the File menu: :meth:`supports_documents`, :meth:`has_unsaved_changes`,
  :meth:`new_document`, :meth:`open_file`, :meth:`save`, :meth:`save_as`, :meth:`export`;
* ``self.autosave`` (an :class:`~desktop_app.ui.autosave.AutosaveController` or None):
  :meth:`flush_autosave` and :meth:`keep_autosave_for_next_start` on closing.

**Generation** (the seed contract, ARCHITECTURE §4): :meth:`generate` reads the seed in the
Randomness box, asks :meth:`build_job` ``(sampler, seed)`` for the job and passes it to
:meth:`run`. A room with several kinds of generation (Write's continue / regenerate /
alternative, Compose's continue and interpolate) builds the job itself and calls
:meth:`run` ``(job, seed)``: one running job per room, Stop and Esc cancel it, and when it
finishes the seed is reported to the Randomness box (``generation_finished``) so it rolls a
new one. :meth:`on_job_event` shows the events of that job; ``running_changed`` tells the
room's own widgets. A failed run keeps the seed; so does a cancelled one, unless the room
declares ``new_seed_after_stop`` (Write: the text generated before Stop stays in the
document, so that seed has been used).
"""

from __future__ import annotations

import logging

from PySide6.QtCore import QSize, Qt, Signal
from PySide6.QtWidgets import QHBoxLayout, QLabel, QPushButton, QVBoxLayout, QWidget

from desktop_app.core.events import Cancelled, Event, Failed, Finished
from desktop_app.core.jobs import Job, JobId
from desktop_app.core.model_registry import ModelScan, scan_models
from desktop_app.ui.room_bus import RoomBus
from desktop_app.ui.widgets.room_bar import room_icon

log = logging.getLogger(__name__)


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
    #: Which Randomness controls apply to this room besides the seed
    #: (see ``ui.widgets.randomness``: TEXT_FIELDS, IMAGE_FIELDS); None = the text ones.
    randomness_fields: tuple[str, ...] | None = None
    #: Set by rooms that are finished; placeholders leave it False.
    available: bool = False
    #: The room shows the latent map itself (Explore): the side map hides while it is current.
    has_own_map: bool = False
    #: A stopped run still used its seed (its partial result stays): roll a new one after Stop.
    new_seed_after_stop: bool = False

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
        #: The bus between rooms: a private one until the main window's :meth:`join`.
        self.bus = RoomBus(self)
        #: The room's :class:`~desktop_app.ui.autosave.AutosaveController`, if it keeps one.
        self.autosave = None
        self._scan: ModelScan | None = None
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

    def model_scan(self) -> ModelScan:
        """The models the shell last told this room about (:meth:`models_changed`); a room
        built on its own scans the default folders (a fresh scan each time)."""
        return self._scan if self._scan is not None else scan_models()

    # -- hooks the shell calls ---------------------------------------------------------------

    def join(self, bus: RoomBus) -> None:
        """Use the main window's bus from now on (once, right after the room is built)."""
        self.bus = bus
        self.on_bus(bus)

    def on_bus(self, bus: RoomBus) -> None:
        """Subscribe to what the room wants to hear from the other rooms."""

    def models_changed(self, scan: ModelScan) -> None:
        """The model folders were scanned: show whether this room's kind of model is missing."""
        self._scan = scan
        self.set_model_message(scan.missing_message(self.model_kind) if self.model_kind else "")

    def preferences_changed(self, settings) -> None:
        """Preferences were saved (and once at start): take what applies to this room."""

    def open_from_map(self, kind: str, payload: dict) -> None:
        """Open an item the map chose (payloads in :class:`~desktop_app.ui.room_bus.RoomBus`).
        Called on the room that generates ``kind``, after the shell has shown it."""
        self.notice.emit(f"The {self.title} room cannot open items from the map.")

    def model_in_use(self) -> str | None:
        """The folder of the model this room works with now (None before one is chosen)."""
        return None

    def undo(self) -> None:
        """Edit → Undo when no text field has focus: the room's own history, if it keeps one."""

    def redo(self) -> None:
        """Edit → Redo when no text field has focus."""

    def flush_autosave(self) -> None:
        """Write the room's autosave now if anything changed (closing, whatever the reason)."""
        if self.autosave is not None:
            self.autosave.save_now()

    def keep_autosave_for_next_start(self) -> None:
        """A close nobody answers (SIGTERM, logout): the autosave holds the unsaved work and
        must survive the quit."""
        if self.autosave is not None:
            self.autosave.keep_for_next_start()

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
        return self.run(job, seed)

    def run(self, job: Job, seed: int | None) -> JobId | None:
        """Run ``job`` as this room's one job: Stop cancels it, its events go to
        :meth:`on_job_event`, and when it finishes ``seed`` (if any) is reported to the
        Randomness box. None (and nothing submitted) while another run is going."""
        if self._job_id is not None:
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
            used = isinstance(event, Finished) or (isinstance(event, Cancelled)
                                                   and self.new_seed_after_stop)
            if used and seed is not None:
                self.randomness.generation_finished(seed)
            if isinstance(event, Failed):
                self.notice.emit(f"{self.title}: {event.message}")

    def _set_running(self, running: bool) -> None:
        if self.generateButton is not None and self.available:
            self.generateButton.setEnabled(not running)
            self.stopButton.setEnabled(running)
        self.running_changed.emit(running)

    # -- documents (File menu) ---------------------------------------------------------------

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
