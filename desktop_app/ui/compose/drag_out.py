"""Drag the melody out of the Compose room as a ``.mid`` file (onto a DAW, a file manager...).

Lives on the GUI thread. :func:`melody_mime_data` writes the melody to a MIDI file in the
user data folder's ``drag-out/`` (atomically; the file stays, because the drop target may read
it after the drag ends) and returns ``QMimeData`` carrying its file URL, which DAWs, file
managers and desktops all accept. :class:`DragOutHandle` is the grip the user drags.
"""

from __future__ import annotations

import re
from pathlib import Path

from PySide6.QtCore import QMimeData, QPoint, Qt, QUrl, Signal
from PySide6.QtGui import QDrag
from PySide6.QtWidgets import QApplication, QLabel, QWidget

from desktop_app.core.melody import Melody
from desktop_app.core.paths import user_data_dir


def drag_folder() -> Path:
    return user_data_dir() / "drag-out"


def drag_file_name(melody: Melody) -> str:
    title = melody.title or f"Reverie melody {melody.key.name}"
    stem = re.sub(r"[^A-Za-z0-9#._ -]+", "", title).strip().replace(" ", "-") or "melody"
    return f"{stem[:60]}.mid"


def melody_mime_data(melody: Melody, *, program: int = 0, folder: Path | None = None) -> QMimeData:
    """MIME data for dragging ``melody`` out: a file URL to a fresh ``.mid`` file."""
    from desktop_app.core.midi import write_midi  # mido loads on first use
    path = write_midi(melody, (folder or drag_folder()) / drag_file_name(melody), program=program)
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(path))])
    mime.setText(str(path))
    return mime


class DragOutHandle(QLabel):
    """A grip: press and drag it to carry the melody out as a MIDI file (GUI thread)."""

    #: A readable sentence when the drag cannot start (nothing to drag, disk error).
    message = Signal(str)

    def __init__(self, provider, parent: QWidget | None = None) -> None:
        """``provider()`` returns ``(melody, program)`` for the drag."""
        super().__init__("⇲  Drag MIDI out", parent)
        self.setObjectName("dragOutHandle")
        self.setAccessibleName("Drag the melody out as a MIDI file")
        self.setToolTip("Drag this onto your DAW, a folder or the desktop to drop the melody "
                        "there as a .mid file")
        self.setCursor(Qt.CursorShape.OpenHandCursor)
        self.setFrameShape(QLabel.Shape.StyledPanel)
        self.setMargin(4)
        self._provider = provider
        self._press: QPoint | None = None
        self.last_drag: QDrag | None = None

    def mousePressEvent(self, event) -> None:  # noqa: N802 - Qt override
        if event.button() == Qt.MouseButton.LeftButton:
            self._press = event.position().toPoint()

    def mouseMoveEvent(self, event) -> None:  # noqa: N802 - Qt override
        if self._press is None:
            return
        if (event.position().toPoint() - self._press).manhattanLength() < \
                QApplication.startDragDistance():
            return
        self._press = None
        self.start_drag()

    def mouseReleaseEvent(self, event) -> None:  # noqa: N802 - Qt override
        self._press = None

    def make_drag(self) -> QDrag | None:
        melody, program = self._provider()
        if not melody.notes:
            self.message.emit("There is no melody to drag out yet: generate or add some notes.")
            return None
        try:
            mime = melody_mime_data(melody, program=program)
        except OSError as exc:
            self.message.emit(f"Could not write the MIDI file for dragging: {exc}")
            return None
        drag = QDrag(self)
        drag.setMimeData(mime)
        drag.setPixmap(self.grab())
        self.last_drag = drag
        return drag

    def start_drag(self) -> None:
        drag = self.make_drag()
        if drag is not None:
            drag.exec(Qt.DropAction.CopyAction)
