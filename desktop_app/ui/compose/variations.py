"""The variations list: small piano rolls of generated (or interpolated) melodies to choose from.

Lives on the GUI thread. ``variationsList`` is a ``QListWidget``; each row holds a
:class:`MiniRoll` (a painted thumbnail of the notes, out-of-key notes in a warm colour), a
caption, and a ▶ button that auditions the melody without replacing the one being edited.
Clicking a row (or pressing Enter on it) chooses that melody for the piano roll.
"""

from __future__ import annotations

from PySide6.QtCore import QRectF, QSize, Qt, Signal
from PySide6.QtGui import QColor, QPainter, QPen
from PySide6.QtWidgets import (QHBoxLayout, QLabel, QListWidget, QListWidgetItem, QToolButton,
                               QVBoxLayout, QWidget)

from desktop_app.core.melody import Melody
from desktop_app.core.melody_stats import in_key_ratio
from desktop_app.ui.compose.piano_roll_paint import NOTE_IN, NOTE_OUT


class MiniRoll(QWidget):
    """A read-only thumbnail of a melody, fitted to the widget (GUI thread)."""

    def __init__(self, melody: Melody, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.melody = melody
        self.setMinimumSize(QSize(150, 44))
        self.painted = False  # set after the first paint (the benchmark waits on it)

    def paintEvent(self, event) -> None:  # noqa: N802 - Qt override
        painter = QPainter(self)
        rect = QRectF(self.rect()).adjusted(1, 1, -1, -1)
        base = self.palette().base().color()
        painter.fillRect(rect, base)
        m = self.melody
        bar = m.meter.bar_quarters
        length = max(1, m.n_bars) * bar
        grid = QColor(self.palette().text().color())
        grid.setAlpha(45)
        painter.setPen(QPen(grid, 1))
        for b in range(1, max(1, m.n_bars)):
            x = rect.left() + rect.width() * b * bar / length
            painter.drawLine(int(x), int(rect.top()), int(x), int(rect.bottom()))
        if m.notes:
            lo, hi = min(m.pitches) - 1, max(m.pitches) + 1
            row = rect.height() / (hi - lo + 1)
            for n in m.notes:
                x = rect.left() + rect.width() * n.start / length
                w = max(2.0, rect.width() * n.duration / length - 1)
                y = rect.top() + (hi - n.pitch) * row
                painter.fillRect(QRectF(x, y, w, max(2.0, row)),
                                 NOTE_IN if m.key.contains(n.pitch) else NOTE_OUT)
        painter.setPen(QPen(grid, 1))
        painter.drawRect(rect)
        painter.end()
        self.painted = True


class _Row(QWidget):
    def __init__(self, melody: Melody, caption: str, index: int, owner: "VariationsList"):
        super().__init__()
        layout = QHBoxLayout(self)
        layout.setContentsMargins(4, 3, 4, 3)
        layout.setSpacing(6)
        self.play = QToolButton(self)
        self.play.setText("▶")
        self.play.setObjectName(f"auditionButton{index + 1}")
        self.play.setAccessibleName(f"Listen to variation {index + 1}")
        self.play.setToolTip("Listen to this one (the melody you are editing stays)")
        self.play.clicked.connect(lambda: owner.audition_requested.emit(index))
        self.roll = MiniRoll(melody, self)
        text = QVBoxLayout()
        text.setSpacing(0)
        self.caption = QLabel(caption, self)
        self.caption.setObjectName("variationCaption")
        font = self.caption.font()
        font.setPointSizeF(font.pointSizeF() * 0.9)
        self.caption.setFont(font)
        text.addWidget(self.roll, 1)
        text.addWidget(self.caption)
        layout.addWidget(self.play, 0, Qt.AlignmentFlag.AlignVCenter)
        layout.addLayout(text, 1)


class VariationsList(QListWidget):
    """The list of candidate melodies (objectName ``variationsList``); GUI thread only."""

    #: The user chose melody ``index`` for the piano roll.
    chosen = Signal(int)
    #: The user wants to hear melody ``index`` without choosing it.
    audition_requested = Signal(int)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("variationsList")
        self.setAccessibleName("Variations")
        self.setSpacing(2)
        self.setUniformItemSizes(True)
        self._melodies: list[Melody] = []
        self.itemClicked.connect(lambda item: self.chosen.emit(self.row(item)))
        self.itemActivated.connect(lambda item: self.chosen.emit(self.row(item)))

    def melodies(self) -> list[Melody]:
        return list(self._melodies)

    def melody(self, index: int) -> Melody:
        return self._melodies[index]

    def clear(self) -> None:  # noqa: D401 - QListWidget override
        super().clear()
        self._melodies = []

    def add_melody(self, melody: Melody, caption: str = "") -> int:
        index = len(self._melodies)
        self._melodies.append(melody)
        caption = caption or f"{index + 1}"
        detail = f"{len(melody.notes)} notes · {round(100 * in_key_ratio(melody))}% in key"
        item = QListWidgetItem(self)
        row = _Row(melody, f"{caption} · {round(100 * in_key_ratio(melody))}% in key", index,
                   self)
        item.setSizeHint(QSize(252, 68))
        item.setToolTip(f"{caption} · {detail}")
        item.setData(Qt.ItemDataRole.AccessibleTextRole, f"Variation {caption}")
        self.setItemWidget(item, row)
        return index

    def thumbnail(self, index: int) -> MiniRoll:
        return self.itemWidget(self.item(index)).roll

    def set_melodies(self, melodies, captions=None) -> None:
        self.clear()
        for i, m in enumerate(melodies):
            self.add_melody(m, captions[i] if captions else "")
