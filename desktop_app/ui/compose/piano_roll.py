"""The Compose room's piano roll: see and edit a :class:`Melody`, every edit undoable.

Lives on the GUI thread. A ``QGraphicsView`` whose scene holds no items: the grid, the notes,
the keyboard strip (note names), the bar ruler and the playhead are painted from the melody in
``drawBackground`` / ``drawForeground``, and the mouse is hit-tested against the notes. That
keeps a 32-bar melody cheap to repaint and makes the melody (immutable) the only state; the
painting is in :mod:`.piano_roll_paint`.

Editing: click empty space to add a note (snapped to the grid, the last length used), drag a
note to move it, drag its right edge to resize, Shift+click to select more, Ctrl+A selects
all, Delete removes, Up/Down moves the selection a semitone (Shift: an octave); Space asks to
play or stop; Ctrl+wheel zooms time (with Shift: pitch). Each edit is
one ``QUndoCommand`` on :attr:`undo_stack` that swaps whole melodies. Notes outside the key are
drawn hatched in a warm colour with a dashed outline.
"""

from __future__ import annotations

from dataclasses import replace

from PySide6.QtCore import QPointF, QRectF, Qt, Signal
from PySide6.QtGui import QPainter, QUndoCommand, QUndoStack
from PySide6.QtWidgets import QGraphicsScene, QGraphicsView, QWidget

from desktop_app.core.melody import Melody, Note
from desktop_app.ui.compose.piano_roll_paint import (GRID, KEY_W, RULER_H, PianoRollPainting,
                                                     pitch_name)

#: Undo text of key / meter / tempo changes; consecutive ones merge into one undo step.
SETTINGS_EDIT = "Change key, meter or tempo"


class _SetMelody(QUndoCommand):
    """Swap the roll's melody (and selection) between ``before`` and ``after``."""

    def __init__(self, roll: "PianoRoll", before: Melody, after: Melody, text: str,
                 select: frozenset[int] = frozenset()) -> None:
        super().__init__(text)
        self.roll, self.before, self.after, self.select = roll, before, after, select

    def redo(self) -> None:
        self.roll._apply(self.after, self.select)

    def undo(self) -> None:
        self.roll._apply(self.before, frozenset())

    def id(self) -> int:  # noqa: A003 - Qt's name; settings edits in a row merge into one step
        return 1 if self.text() == SETTINGS_EDIT else -1

    def mergeWith(self, other: QUndoCommand) -> bool:  # noqa: N802 - Qt override
        if other.id() != self.id() or not isinstance(other, _SetMelody):
            return False
        self.after = other.after
        return True


class PianoRoll(PianoRollPainting, QGraphicsView):
    """Editable piano roll (objectName ``pianoRoll``); GUI thread only."""

    #: The melody after any change (edit, undo, redo, load).
    melody_changed = Signal(object)
    #: A short message for the user (e.g. "Select a note first").
    message = Signal(str)
    #: Space pressed in the roll: play or stop the preview.
    play_toggled = Signal()

    def __init__(self, parent: QWidget | None = None, *, px_per_quarter: float = 44.0,
                 row_height: float = 13.0) -> None:
        super().__init__(parent)
        self.setObjectName("pianoRoll")
        self.setAccessibleName("Piano roll")
        self.setToolTip("Click to add a note, drag to move, drag the right edge to resize, "
                        "Delete to remove, Space to play; Ctrl+wheel zooms")
        self.px_q, self.row = px_per_quarter, row_height
        self.undo_stack = QUndoStack(self)
        self._melody = Melody()
        self._selected: frozenset[int] = frozenset()
        self._preview: tuple[Note, ...] | None = None
        self._drag: dict | None = None
        self._playhead: float | None = None
        self._min_bars = 4
        self.default_length = 1.0
        self.setScene(QGraphicsScene(self))
        self.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        self.setRenderHint(QPainter.RenderHint.Antialiasing, False)
        self.setViewportUpdateMode(QGraphicsView.ViewportUpdateMode.FullViewportUpdate)
        self.setAlignment(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignTop)
        self.setMouseTracking(True)
        self._update_scene_rect()
        self.centre_on_pitch(67)

    # -- the melody ------------------------------------------------------------------------

    def melody(self) -> Melody:
        return self._melody

    def selection(self) -> frozenset[int]:
        return self._selected

    def set_melody(self, melody: Melody, text: str | None = None) -> None:
        """Show ``melody``. With ``text`` it is an undoable edit; without, history is reset."""
        if text is None:
            self.undo_stack.clear()
            self._apply(melody, frozenset())
            self.centre_on_melody()
        elif melody != self._melody:
            self.undo_stack.push(_SetMelody(self, self._melody, melody, text))

    def edit(self, notes, text: str, select=frozenset()) -> None:
        """Replace the notes as one undoable edit called ``text``."""
        after = self._melody.with_notes(notes)
        if after != self._melody:
            self.undo_stack.push(_SetMelody(self, self._melody, after, text, frozenset(select)))

    def undo(self) -> None:  # Edit > Undo routes here when the roll has focus
        self.undo_stack.undo()

    def redo(self) -> None:
        self.undo_stack.redo()

    def set_min_bars(self, bars: int) -> None:
        self._min_bars = max(1, int(bars))
        self._update_scene_rect()

    def set_playhead(self, quarters: float | None, follow: bool = True) -> None:
        self._playhead = quarters
        if quarters is not None and follow:
            x = quarters * self.px_q
            visible = self.mapToScene(self.viewport().rect()).boundingRect()
            if not visible.left() + KEY_W <= x <= visible.right() - 20:
                self.horizontalScrollBar().setValue(int(x - KEY_W - 10))
        self.viewport().update()

    def playhead(self) -> float | None:
        return self._playhead

    def _apply(self, melody: Melody, select: frozenset[int]) -> None:
        self._melody = melody
        self._selected = frozenset(i for i in select if 0 <= i < len(melody.notes))
        self._preview = None
        self._update_scene_rect()
        self.viewport().update()
        self.melody_changed.emit(melody)

    # -- geometry --------------------------------------------------------------------------

    def _update_scene_rect(self) -> None:
        bar = self._melody.meter.bar_quarters
        bars = max(self._min_bars, self._melody.n_bars) + 2
        self.scene().setSceneRect(QRectF(-KEY_W, -RULER_H, bars * bar * self.px_q + KEY_W,
                                         128 * self.row + RULER_H))

    def x_of(self, q: float) -> float:
        return q * self.px_q

    def y_of(self, pitch: int) -> float:
        return (127 - pitch) * self.row

    def note_rect(self, note: Note) -> QRectF:
        return QRectF(self.x_of(note.start), self.y_of(note.pitch),
                      max(3.0, note.duration * self.px_q), self.row)

    def view_point_of(self, note: Note, where: float = 0.5) -> QPointF:
        """Viewport coordinates of a point inside ``note`` (``where`` along its length)."""
        r = self.note_rect(note)
        scene = QPointF(r.left() + r.width() * where, r.center().y())
        return QPointF(self.mapFromScene(scene))

    def view_point_at(self, quarters: float, pitch: int) -> QPointF:
        scene = QPointF(self.x_of(quarters) + 2, self.y_of(pitch) + self.row / 2)
        return QPointF(self.mapFromScene(scene))

    def centre_on_pitch(self, pitch: int) -> None:
        self.verticalScrollBar().setValue(int(self.y_of(pitch) + RULER_H
                                              - self.viewport().height() / 2))

    def centre_on_melody(self) -> None:
        p = self._melody.pitches
        self.centre_on_pitch((min(p) + max(p)) // 2 if p else 67)
        self.horizontalScrollBar().setValue(self.horizontalScrollBar().minimum())

    def wheelEvent(self, event) -> None:  # noqa: N802 - Qt override
        """Ctrl+wheel zooms time, Ctrl+Shift+wheel zooms pitch; plain wheel scrolls."""
        mods = event.modifiers()
        if not mods & Qt.KeyboardModifier.ControlModifier:
            return super().wheelEvent(event)
        factor = 1.15 if event.angleDelta().y() + event.angleDelta().x() > 0 else 1 / 1.15
        if mods & Qt.KeyboardModifier.ShiftModifier:
            self.row = min(28.0, max(7.0, self.row * factor))
        else:
            self.px_q = min(200.0, max(12.0, self.px_q * factor))
        self._update_scene_rect()
        self.viewport().update()

    def resizeEvent(self, event) -> None:  # noqa: N802 - Qt override
        super().resizeEvent(event)
        if event.oldSize().height() <= 0:
            self.centre_on_melody()

    # -- editing ---------------------------------------------------------------------------

    def note_at(self, scene: QPointF) -> int | None:
        """Index of the (last drawn) note under the scene point, if any."""
        for i in range(len(self._melody.notes) - 1, -1, -1):
            if self.note_rect(self._melody.notes[i]).contains(scene):
                return i
        return None

    def _snap(self, q: float) -> float:
        return max(0.0, round(q / GRID) * GRID)

    def mousePressEvent(self, event) -> None:  # noqa: N802 - Qt override
        if event.button() != Qt.MouseButton.LeftButton:
            return super().mousePressEvent(event)
        self.setFocus(Qt.FocusReason.MouseFocusReason)
        pos = event.position()
        if pos.x() < KEY_W or pos.y() < RULER_H:
            return
        scene = self.mapToScene(pos.toPoint())
        index = self.note_at(scene)
        shift = bool(event.modifiers() & Qt.KeyboardModifier.ShiftModifier)
        if index is None:
            if shift or self._selected:
                self._selected = frozenset()
                self.viewport().update()
                if shift:
                    return
            pitch = 127 - int(scene.y() // self.row)
            if not 0 <= pitch <= 127:
                return
            start = max(0.0, int(scene.x() / self.px_q / GRID) * GRID)
            note = Note(start=start, pitch=pitch, duration=self.default_length)
            notes = list(self._melody.notes) + [note]
            new_index = sorted(notes).index(note)
            self.edit(notes, f"Add {pitch_name(pitch)}", select={new_index})
            return
        if shift:
            self._selected = self._selected ^ {index}
        elif index not in self._selected:
            self._selected = frozenset({index})
        self.viewport().update()
        rect = self.note_rect(self._melody.notes[index])
        mode = "resize" if scene.x() >= rect.right() - min(6.0, rect.width() / 3) else "move"
        self._drag = {"mode": mode, "origin": scene, "index": index}

    def mouseMoveEvent(self, event) -> None:  # noqa: N802 - Qt override
        scene = self.mapToScene(event.position().toPoint())
        if self._drag is None:
            index = self.note_at(scene)
            edge = index is not None and \
                scene.x() >= self.note_rect(self._melody.notes[index]).right() - 6
            self.viewport().setCursor(Qt.CursorShape.SizeHorCursor if edge else
                                      Qt.CursorShape.ArrowCursor)
            return super().mouseMoveEvent(event)
        self._preview = self._dragged_notes(scene)
        self.viewport().update()

    def _dragged_notes(self, scene: QPointF) -> tuple[Note, ...]:
        d = self._drag
        dq = round((scene.x() - d["origin"].x()) / self.px_q / GRID) * GRID
        notes = list(self._melody.notes)
        if d["mode"] == "resize":
            n = notes[d["index"]]
            notes[d["index"]] = replace(n, duration=max(GRID, self._snap(n.duration + dq)))
            return tuple(notes)
        dp = -int(round((scene.y() - d["origin"].y()) / self.row))
        chosen = [notes[i] for i in self._selected]
        dq = max(dq, -min(n.start for n in chosen))
        dp = max(min(dp, 127 - max(n.pitch for n in chosen)), -min(n.pitch for n in chosen))
        for i in self._selected:
            n = notes[i]
            notes[i] = replace(n, start=n.start + dq, pitch=n.pitch + dp)
        return tuple(notes)

    def mouseReleaseEvent(self, event) -> None:  # noqa: N802 - Qt override
        if self._drag is None or event.button() != Qt.MouseButton.LeftButton:
            return super().mouseReleaseEvent(event)
        scene = self.mapToScene(event.position().toPoint())
        notes = self._dragged_notes(scene)
        mode, index = self._drag["mode"], self._drag["index"]
        self._drag, self._preview = None, None
        if notes == self._melody.notes:
            self.viewport().update()
            return
        moved = {notes[i] for i in self._selected}
        select = {i for i, n in enumerate(sorted(notes)) if n in moved}
        if mode == "resize":
            self.default_length = notes[index].duration
            self.edit(notes, "Resize note", select)
        else:
            self.edit(notes, f"Move {len(self._selected)} note(s)", select)

    def keyPressEvent(self, event) -> None:  # noqa: N802 - Qt override
        key, mods = event.key(), event.modifiers()
        if key in (Qt.Key.Key_Delete, Qt.Key.Key_Backspace):
            self.delete_selected()
        elif key == Qt.Key.Key_Space:
            self.play_toggled.emit()
        elif key == Qt.Key.Key_A and mods & Qt.KeyboardModifier.ControlModifier:
            self._selected = frozenset(range(len(self._melody.notes)))
            self.viewport().update()
        elif key in (Qt.Key.Key_Up, Qt.Key.Key_Down) and self._selected:
            step = (12 if mods & Qt.KeyboardModifier.ShiftModifier else 1) * \
                (1 if key == Qt.Key.Key_Up else -1)
            self.shift_selected(step)
        else:
            super().keyPressEvent(event)

    def delete_selected(self) -> None:
        if not self._selected:
            self.message.emit("Select a note first: click it (Shift+click adds more, "
                              "Ctrl+A selects all), then press Delete.")
            return
        count = len(self._selected)
        notes = [n for i, n in enumerate(self._melody.notes) if i not in self._selected]
        self.edit(notes, f"Delete {count} note(s)")

    def shift_selected(self, semitones: int) -> None:
        chosen = [self._melody.notes[i] for i in self._selected]
        if not all(0 <= n.pitch + semitones <= 127 for n in chosen):
            self.message.emit("That would move a note outside the MIDI range (C-1 to G9).")
            return
        moved = [replace(n, pitch=n.pitch + semitones) if i in self._selected else n
                 for i, n in enumerate(self._melody.notes)]
        targets = {moved[i] for i in self._selected}
        select = {i for i, n in enumerate(sorted(moved)) if n in targets}
        self.edit(moved, f"Move {len(chosen)} note(s) by {semitones:+d}", select)
