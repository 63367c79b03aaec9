"""The "add a room" walk-through of docs/ARCHITECTURE.md §5, followed step by step.

A sixth room, registered here only, built on nothing but the public room API
(``ui/room_base.py``, ``ui/room_bus.py``, ``ui/autosave.py``) and a fake engine job. If the
main window or the other rooms relied on anything a room does not declare, this room would
not fit in: it has no ``model_dir``, no ``editor``, no ``precision`` and no ``pianoRoll``.
"""

from __future__ import annotations

import numpy as np
import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QApplication, QLabel, QLineEdit, QVBoxLayout

from desktop_app.backends.fake import StreamJob
from desktop_app.core.events import Started, TokenChunk
from desktop_app.engine.sync_engine import SyncEngine
from desktop_app.ui.autosave import AutosaveController, Policy
from desktop_app.ui.main_window import MainWindow
from desktop_app.ui.room_base import RoomPanel
from desktop_app.ui.room_list import room_classes
from desktop_app.ui.settings import Settings


class EchoRoom(RoomPanel):
    """Step 1: declare the room."""

    room_id = "echo"
    title = "Echo"
    tagline = "Streams your words back, three times."
    model_kind = None            # needs no model folder
    generates = True
    available = True

    def __init__(self, engine, randomness, parent=None) -> None:
        # Step 2: the constructor takes (engine, randomness, parent) and calls super first.
        super().__init__(engine, randomness, parent)
        self.wordEdit = QLineEdit(self)
        self.wordEdit.setObjectName("echoWordEdit")
        self.output = QLabel("", self)
        # Step 5: one AutosaveController; this room's state is its work (KEEP).
        self.autosave = AutosaveController(
            self, "echo", snapshot=lambda: {"word": self.wordEdit.text()},
            apply=self._apply, report=self.notice.emit, policy=Policy.KEEP, delay_ms=1000)
        layout = QVBoxLayout(self)
        layout.addWidget(self.modelMessage)
        layout.addWidget(self.wordEdit)
        layout.addWidget(self.output, 1)
        layout.addLayout(self.make_generate_buttons())
        self.wordEdit.textChanged.connect(lambda _t: self.autosave.changed())
        self.heard: list[str] = []
        self.scans = []
        self.autosave.offer_restore()

    def _apply(self, state: dict) -> bool:
        self.wordEdit.setText(str(state.get("word", "")))
        return True

    # Step 3: the job and its events.
    def build_job(self, sampler, seed: int):
        word = self.wordEdit.text().strip()
        if not word:
            self.notice.emit("Type a word first.")
            return None
        return StreamJob(n_tokens=3, text_per_token=word + " ")

    def on_job_event(self, event) -> None:
        if isinstance(event, Started):
            self.output.setText("")
        elif isinstance(event, TokenChunk):
            self.output.setText(self.output.text() + event.text)

    # Step 4: the shell's hooks and the bus.
    def models_changed(self, scan) -> None:
        super().models_changed(scan)
        self.scans.append(scan)

    def on_bus(self, bus) -> None:
        bus.set_current_latent.connect(lambda model, _z: self.heard.append(model))


@pytest.fixture
def make_echo_window(qtbot):
    made = []

    def make():
        # Step 6: register the room (here: for this test only).
        window = MainWindow(SyncEngine(), Settings(), rooms=room_classes() + (EchoRoom,))
        qtbot.addWidget(window)
        made.append(window)
        return window

    yield make
    for window in made:
        window.engine.shutdown()


def test_a_sixth_room_joins_the_side_bar_shortcuts_and_routing(make_echo_window, qtbot):
    window = make_echo_window()
    window.show()
    assert window.room_bar.count() == 6 and window.room_bar.room_ids()[-1] == "echo"
    room = window.panel("echo")
    assert isinstance(room, EchoRoom) and room.objectName() == "echoPanel"
    window.show_room("write")
    window.activateWindow()
    qtbot.waitExposed(window)
    qtbot.waitUntil(lambda: QApplication.activeWindow() is window, timeout=5000)
    qtbot.keyClick(window.room_bar, Qt.Key.Key_6, Qt.KeyboardModifier.ControlModifier)
    assert window.current_panel() is room          # Ctrl+6
    # The shell told it about the models, and it needs none: no notice.
    assert room.scans and room.scans[-1] is window.scan and room.model_message() == ""
    # Ctrl+Enter runs its job with the seed in the box, and the seed contract holds.
    window.randomness.set_locked(False)
    window.randomness.seedSpin.setValue(4242)
    room.wordEdit.setText("hello")
    window.generate_current()
    assert room.output.text() == "hello hello hello "
    assert window.randomness.last_seed() == 4242
    assert window.randomness.seedSpin.value() != 4242     # a new seed rolled after Finished
    # File menu: the base says plainly that this room has no documents.
    assert not room.supports_documents()
    assert not window.menu_actions.save.isEnabled()


def test_the_sixth_room_hears_the_bus_and_is_never_sent_another_medium(make_echo_window):
    window = make_echo_window()
    room = window.panel("echo")
    window.bus.set_current_latent.emit("some-model", np.zeros(4, np.float32))
    assert room.heard == ["some-model"]
    # It generates no medium the map knows, so the map never opens anything in it.
    assert window.room_for_kind("text").room_id == "write"
    window.bus.open_in_room.emit("text", {"model": "m", "word": "lantern"})
    assert window.current_panel().room_id == "write"


def test_the_sixth_room_autosaves_and_is_remembered_as_the_last_room(make_echo_window):
    window = make_echo_window()
    window.show_room("echo")
    room = window.panel("echo")
    room.wordEdit.setText("kept across a quit")
    window.close_without_asking("test")        # what SIGTERM or logout does
    window.save_settings()
    again = make_echo_window()
    assert again.panel("echo").wordEdit.text() == "kept across a quit"
    assert again.current_panel().room_id == "echo"
