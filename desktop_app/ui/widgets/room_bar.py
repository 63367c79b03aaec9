"""The side bar listing the rooms with their icons and names (GUI thread)."""

from __future__ import annotations

from PySide6.QtCore import QSize, Qt
from PySide6.QtGui import QIcon
from PySide6.QtWidgets import QListWidget, QListWidgetItem

from desktop_app.core import paths


def room_icon(room_id: str) -> QIcon:
    """The room's colour icon, drawn the same when selected (no highlight tint)."""
    path = str(paths.resources_dir() / "icons" / f"room-{room_id}.svg")
    icon = QIcon(path)
    icon.addFile(path, QSize(), QIcon.Mode.Selected)
    return icon


class RoomBar(QListWidget):
    """A vertical list of rooms; ``currentRowChanged`` tells the main window to switch."""

    def __init__(self, rooms, parent=None) -> None:
        super().__init__(parent)
        self.setObjectName("roomList")
        self.setAccessibleName("Rooms")
        self.setIconSize(QSize(28, 28))
        self.setSpacing(2)
        self.setFixedWidth(168)
        self.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        self.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        for index, room in enumerate(rooms):
            item = QListWidgetItem(room_icon(room.room_id), room.title)
            item.setData(Qt.ItemDataRole.UserRole, room.room_id)
            item.setToolTip(f"{room.tagline}  (Ctrl+{index + 1})")
            item.setData(Qt.ItemDataRole.AccessibleTextRole, f"{room.title} room")
            item.setSizeHint(QSize(150, 46))
            self.addItem(item)

    def room_ids(self) -> list[str]:
        return [self.item(i).data(Qt.ItemDataRole.UserRole) for i in range(self.count())]
