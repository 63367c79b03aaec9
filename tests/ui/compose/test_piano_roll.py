"""Piano roll edits with the mouse and keyboard, each undoable; out-of-key notes look different."""

from __future__ import annotations

from PySide6.QtCore import QPoint, Qt
from PySide6.QtGui import QColor

from compose_melodies import scale_melody
from desktop_app.core.melody import Note
from desktop_app.ui.compose.piano_roll import PianoRoll
from desktop_app.ui.compose.piano_roll_paint import NOTE_IN, NOTE_OUT


def _roll(qtbot, melody=None):
    roll = PianoRoll()
    qtbot.addWidget(roll)
    roll.resize(900, 500)
    roll.show()
    qtbot.waitExposed(roll)
    if melody is not None:
        roll.set_melody(melody)
    return roll


def _pt(p) -> QPoint:
    return p.toPoint()


def test_click_adds_a_snapped_note_and_undo_removes_it(qtbot):
    roll = _roll(qtbot, scale_melody())
    before = roll.melody()
    qtbot.mouseClick(roll.viewport(), Qt.MouseButton.LeftButton,
                     pos=_pt(roll.view_point_at(9.3, 66)))
    added = set(roll.melody().notes) - set(before.notes)
    assert added == {Note(start=9.25, pitch=66, duration=1.0)}
    assert roll.undo_stack.undoText() == "Add F#4"
    roll.undo()
    assert roll.melody() == before
    roll.redo()
    assert len(roll.melody().notes) == 9


def test_drag_moves_and_edge_drag_resizes(qtbot):
    roll = _roll(qtbot, scale_melody())
    third = roll.melody().notes[2]                    # F#4 at quarter 2
    start = _pt(roll.view_point_of(third, 0.3))
    end = start + QPoint(int(2 * roll.px_q), -int(3 * roll.row))   # +2 quarters, +3 semitones
    qtbot.mousePress(roll.viewport(), Qt.MouseButton.LeftButton, pos=start)
    qtbot.mouseMove(roll.viewport(), pos=end)
    qtbot.mouseRelease(roll.viewport(), Qt.MouseButton.LeftButton, pos=end)
    moved = Note(start=4.0, pitch=third.pitch + 3, duration=1.0, velocity=third.velocity)
    assert moved in roll.melody().notes and third not in roll.melody().notes
    assert roll.undo_stack.undoText().startswith("Move")

    first = roll.melody().notes[0]
    edge = _pt(roll.view_point_of(first, 0.97))
    qtbot.mousePress(roll.viewport(), Qt.MouseButton.LeftButton, pos=edge)
    qtbot.mouseMove(roll.viewport(), pos=edge + QPoint(int(1.5 * roll.px_q), 0))
    qtbot.mouseRelease(roll.viewport(), Qt.MouseButton.LeftButton,
                       pos=edge + QPoint(int(1.5 * roll.px_q), 0))
    assert roll.melody().notes[0].duration == 2.5
    assert roll.default_length == 2.5
    roll.undo()
    roll.undo()
    assert roll.melody() == scale_melody()


def test_delete_removes_selected_notes_and_empty_selection_says_so(qtbot):
    roll = _roll(qtbot, scale_melody())
    messages = []
    roll.message.connect(messages.append)
    roll.setFocus()
    qtbot.keyClick(roll, Qt.Key.Key_Delete)
    assert messages and "Select a note first" in messages[0]
    assert roll.melody() == scale_melody()
    notes = roll.melody().notes
    qtbot.mouseClick(roll.viewport(), Qt.MouseButton.LeftButton,
                     pos=_pt(roll.view_point_of(notes[1])))
    qtbot.mouseClick(roll.viewport(), Qt.MouseButton.LeftButton,
                     Qt.KeyboardModifier.ShiftModifier, _pt(roll.view_point_of(notes[4])))
    assert roll.selection() == {1, 4}
    qtbot.keyClick(roll, Qt.Key.Key_Delete)
    assert roll.melody().notes == tuple(n for i, n in enumerate(notes) if i not in (1, 4))
    qtbot.keyClick(roll, Qt.Key.Key_A, Qt.KeyboardModifier.ControlModifier)
    qtbot.keyClick(roll, Qt.Key.Key_Up, Qt.KeyboardModifier.ShiftModifier)
    assert roll.melody().pitches == [p + 12 for p in
                                     [n.pitch for i, n in enumerate(notes) if i not in (1, 4)]]
    roll.undo()
    roll.undo()
    assert roll.melody() == scale_melody()


def test_out_of_key_notes_are_drawn_differently(qtbot):
    mel = scale_melody("C major").with_notes(
        (Note(start=0.0, pitch=64, duration=2.0), Note(start=2.0, pitch=63, duration=2.0)))
    roll = _roll(qtbot, mel)
    image = roll.viewport().grab().toImage()
    inside = image.pixelColor(_pt(roll.view_point_of(mel.notes[0], 0.5)))
    outside = image.pixelColor(_pt(roll.view_point_of(mel.notes[1], 0.5)))

    def near(c: QColor, ref: QColor) -> bool:
        return abs(c.hue() - ref.hue()) < 20 and c.saturation() > 60

    assert near(inside, NOTE_IN), inside.name()
    assert near(outside, NOTE_OUT) or outside.name() == QColor(NOTE_OUT).darker(160).name(), \
        outside.name()


def test_playhead_is_drawn_and_cleared(qtbot):
    roll = _roll(qtbot, scale_melody())
    roll.set_playhead(3.0)
    assert roll.playhead() == 3.0
    image = roll.viewport().grab().toImage()
    p = _pt(roll.view_point_at(3.0, 50))
    assert image.pixelColor(p.x() - 2, p.y()).red() > 180  # the red playhead line
    roll.set_playhead(None)
    assert roll.playhead() is None


def test_ctrl_wheel_zooms_and_space_asks_to_play(qtbot):
    from PySide6.QtCore import QPoint as P
    from PySide6.QtGui import QWheelEvent
    roll = _roll(qtbot, scale_melody())
    before = roll.px_q
    event = QWheelEvent(P(300, 200).toPointF(), roll.mapToGlobal(P(300, 200)).toPointF(),
                        P(0, 0), P(0, 120), Qt.MouseButton.NoButton,
                        Qt.KeyboardModifier.ControlModifier, Qt.ScrollPhase.NoScrollPhase, False)
    roll.wheelEvent(event)
    assert roll.px_q > before
    with qtbot.waitSignal(roll.play_toggled):
        qtbot.keyClick(roll, Qt.Key.Key_Space)
