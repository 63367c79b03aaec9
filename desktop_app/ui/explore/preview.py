"""Small pictures for the explorer: image pixmaps, the hover card and a mini piano roll (GUI thread)."""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import QPoint, QRectF, Qt
from PySide6.QtGui import QColor, QImage, QPainter, QPixmap
from PySide6.QtWidgets import QFrame, QLabel, QVBoxLayout, QWidget


def pixmap_from_pixels(pixels: np.ndarray, side: int, smooth: bool = False) -> QPixmap:
    """uint8 (H, W), (H, W, 1) or (H, W, 3) -> a square pixmap ``side`` pixels wide."""
    a = np.asarray(pixels, np.uint8)
    if a.ndim == 3 and a.shape[2] == 1:
        a = a[..., 0]
    a = np.ascontiguousarray(a)
    h, w = a.shape[:2]
    if a.ndim == 2:
        img = QImage(a.data, w, h, w, QImage.Format.Format_Grayscale8)
    else:
        img = QImage(a.data, w, h, 3 * w, QImage.Format.Format_RGB888)
    mode = (Qt.TransformationMode.SmoothTransformation if smooth
            else Qt.TransformationMode.FastTransformation)
    return QPixmap.fromImage(img.copy()).scaled(side, side, Qt.AspectRatioMode.KeepAspectRatio,
                                                mode)


def piano_roll_pixmap(melody, width: int = 160, height: int = 64) -> QPixmap:
    """A mini piano roll of a Melody (notes as bars; time left to right, pitch up)."""
    pm = QPixmap(width, height)
    pm.fill(QColor("#fbfbf8"))
    notes = list(getattr(melody, "notes", ()) or ())
    if not notes:
        return pm
    end = max(n.start + n.duration for n in notes) or 1.0
    lo, hi = min(n.pitch for n in notes) - 1, max(n.pitch for n in notes) + 1
    p = QPainter(pm)
    p.setPen(Qt.PenStyle.NoPen)
    p.setBrush(QColor("#4e79a7"))
    row = height / max(hi - lo + 1, 1)
    for n in notes:
        x = n.start / end * width
        y = height - (n.pitch - lo + 1) * row
        p.drawRect(QRectF(x, y, max(n.duration / end * width - 1, 1.5), max(row, 2)))
    p.end()
    return pm


class HoverCard(QFrame):
    """The card that follows the cursor over the map: picture and/or text. Child widget."""

    def __init__(self, parent: QWidget) -> None:
        super().__init__(parent)
        self.setObjectName("hoverCard")
        self.setFrameShape(QFrame.Shape.StyledPanel)
        self.setStyleSheet("#hoverCard { background: palette(base); border: 1px solid "
                           "palette(mid); border-radius: 6px; }")
        self.setAttribute(Qt.WidgetAttribute.WA_TransparentForMouseEvents)
        self.picture = QLabel(self)
        self.text = QLabel(self)
        self.text.setTextFormat(Qt.TextFormat.RichText)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(6, 6, 6, 6)
        layout.addWidget(self.picture, 0, Qt.AlignmentFlag.AlignHCenter)
        layout.addWidget(self.text)
        self.hide()

    def show_at(self, global_pos: QPoint, pixmap: QPixmap | None, html: str) -> None:
        self.picture.setVisible(pixmap is not None)
        if pixmap is not None:
            self.picture.setPixmap(pixmap)
        self.text.setText(html)
        self.adjustSize()
        parent = self.parentWidget()
        pos = parent.mapFromGlobal(global_pos) + QPoint(14, 14)
        pos.setX(min(pos.x(), max(parent.width() - self.width() - 4, 0)))
        pos.setY(min(pos.y(), max(parent.height() - self.height() - 4, 0)))
        self.move(pos)
        self.raise_()
        self.show()
