"""The Compose room inside the main window: File > Export (Ctrl+E) writes the .mid, Edit > Undo
reaches the piano roll, and the room's automation names are there."""

from __future__ import annotations

from PySide6.QtWidgets import QFileDialog

from compose_melodies import scale_melody
from desktop_app.core.midi import read_midi
from desktop_app.ui.compose.panel import ComposePanel


def test_compose_room_is_the_real_panel_with_its_names(window):
    panel = window.panel("compose")
    assert isinstance(panel, ComposePanel) and panel.objectName() == "composePanel"
    for name in ("pianoRoll", "variationsList", "playButton", "exportMidiButton", "keyCombo",
                 "meterCombo", "tempoSpin", "barsSpin", "generateButton", "stopButton"):
        assert panel.findChild(object, name) is not None, name
    assert panel.controls.barsSpin.minimum() == 1 and panel.controls.barsSpin.maximum() == 32


def test_file_export_and_edit_undo_reach_the_compose_room(window, qtbot, tmp_path, monkeypatch):
    window.show()
    qtbot.waitExposed(window)
    window.show_room("compose")
    panel = window.current_panel()
    mel = scale_melody("D major")
    panel.pianoRoll.set_melody(mel)
    monkeypatch.setattr(QFileDialog, "getSaveFileName",
                        lambda *a, **k: (str(tmp_path / "tune"), "MIDI files (*.mid *.midi)"))
    window.menu_actions.export.trigger()  # Ctrl+E
    assert [n.pitch for n in read_midi(tmp_path / "tune.mid").notes] == mel.pitches
    panel.pianoRoll.set_melody(mel.transpose(2), "Transpose +2")
    panel.pianoRoll.setFocus()
    qtbot.waitUntil(lambda: panel.pianoRoll.hasFocus(), timeout=3000)
    window.menu_actions.undo.trigger()
    assert panel.pianoRoll.melody() == mel
    assert window.menu_actions.export.isEnabled()  # the room supports documents
