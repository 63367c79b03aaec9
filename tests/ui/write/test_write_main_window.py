"""The Write room inside the real main window: its names, Ctrl+Enter and Esc, the File menu."""

from __future__ import annotations

import pytest
from PySide6.QtCore import Qt
from PySide6.QtGui import QTextCursor
from PySide6.QtWidgets import QWidget

from desktop_app.engine.sync_engine import SyncEngine
from desktop_app.ui.main_window import MainWindow
from desktop_app.ui.settings import Settings


@pytest.fixture
def write_window(qtbot, fake_text):
    # Not handed to qtbot: its teardown would close the window before the document is marked
    # saved, and the unsaved-changes question would wait for an answer.
    window = MainWindow(SyncEngine(handler_for=fake_text.handler_for), Settings())
    panel = window.findChild(QWidget, "writePanel")
    if not hasattr(panel, "editor"):
        window.engine.shutdown()
        window.deleteLater()
        pytest.skip("the main window still shows the Write placeholder")
    window.show()
    window.activateWindow()
    qtbot.waitUntil(window.isActiveWindow)
    yield window, panel
    panel.editor.document().setModified(False)
    window.close()
    window.engine.shutdown()
    window.deleteLater()


def test_names_are_unique_in_the_room(write_window):
    window, panel = write_window  # room-specific names need only be unique inside their room
    for name in ("documentEditor", "variantsView", "distributionInspector", "modelPicker",
                 "generateButton", "stopButton"):
        assert len(panel.findChildren(QWidget, name)) == 1, name
    assert panel.generateButton.isEnabled()


def test_ctrl_enter_generates_and_esc_closes_find(write_window, qtbot, fake_text):
    window, panel = write_window
    panel.request_model("/models/fake-model")
    panel.editor.setFocus()
    qtbot.waitUntil(panel.editor.hasFocus)
    panel.editor.setPlainText("Hello")
    panel.editor.moveCursor(QTextCursor.MoveOperation.End)
    panel.maxTokensSpin.setValue(3)
    qtbot.keyClick(panel.editor, Qt.Key.Key_Return, Qt.KeyboardModifier.ControlModifier)
    assert fake_text.jobs and fake_text.jobs[-1].prompt == "Hello"
    assert len(panel.editor.toPlainText().split()) == 4
    qtbot.keyClick(panel.editor, Qt.Key.Key_F, Qt.KeyboardModifier.ControlModifier)
    assert panel.find_bar.isVisible()
    qtbot.keyClick(panel.editor, Qt.Key.Key_Escape)
    assert not panel.find_bar.isVisible()


def test_file_menu_saves_through_the_room(write_window, tmp_path, monkeypatch):
    window, panel = write_window
    panel.editor.insertPlainText("A line worth keeping.")
    target = tmp_path / "kept.md"
    from PySide6.QtWidgets import QFileDialog
    monkeypatch.setattr(QFileDialog, "getSaveFileName", lambda *a, **k: (str(target), ""))
    window.menu_actions.save.trigger()
    assert target.read_text(encoding="utf-8") == "A line worth keeping."
    assert not panel.has_unsaved_changes()
