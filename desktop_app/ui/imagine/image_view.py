"""The large image view of the Imagine room (objectName ``imageView``). GUI thread only.

Shows one uint8 picture (H, W[, 3]) scaled to fit: *pixel-exact* scales by a whole factor with
no blending (each model pixel becomes a crisp square), *smooth* fills the space with bilinear
filtering. Files dragged onto it are offered through ``file_dropped``; ``painted`` fires after
each paint that showed a new picture (the slider-latency benchmark listens to it).
"""

from __future__ import annotations

import time

import numpy as np
from PySide6.QtCore import QRect, QSize, Qt, Signal
from PySide6.QtGui import QColor, QImage, QPainter, QPalette
from PySide6.QtWidgets import QSizePolicy, QWidget


def to_qimage(pixels: np.ndarray) -> QImage:
    """A QImage that owns a copy of ``pixels`` (uint8 (H, W) grey or (H, W, 3) RGB)."""
    arr = np.ascontiguousarray(pixels, np.uint8)
    h, w = arr.shape[:2]
    if arr.ndim == 2:
        img = QImage(arr.data, w, h, w, QImage.Format.Format_Grayscale8)
    elif arr.ndim == 3 and arr.shape[2] == 3:
        img = QImage(arr.data, w, h, 3 * w, QImage.Format.Format_RGB888)
    else:
        raise ValueError(f"cannot show an image of shape {arr.shape}")
    return img.copy()  # detach from the numpy buffer


def fit_rect(img: QSize, area: QRect, whole_factor: bool) -> QRect:
    """Where a picture of size ``img`` is drawn inside ``area`` (centred, aspect kept).

    ``whole_factor`` scales by a whole number (when it can), so every pixel is the same size.
    """
    if img.width() <= 0 or img.height() <= 0:
        return QRect()
    factor = min(area.width() / img.width(), area.height() / img.height())
    if whole_factor and factor >= 1:
        factor = int(factor)
    w, h = max(1, int(img.width() * factor)), max(1, int(img.height() * factor))
    return QRect(area.x() + (area.width() - w) // 2, area.y() + (area.height() - h) // 2, w, h)


class ImageView(QWidget):
    """Large picture with smooth or pixel-exact scaling; accepts dropped files."""

    file_dropped = Signal(str)
    #: perf_counter() time at the end of the first paint showing a new picture.
    painted = Signal(float)

    def __init__(self, parent: QWidget | None = None, *, name: str = "imageView",
                 placeholder: str = "", thumbnail: bool = False) -> None:
        super().__init__(parent)
        self.setObjectName(name)
        self.setAccessibleName("Current image")
        self.setAcceptDrops(True)
        self.setMinimumSize(128, 128)
        self._thumbnail = thumbnail   # fills its box (any factor) and keeps itself square
        policy = QSizePolicy(QSizePolicy.Policy.Expanding,
                             QSizePolicy.Policy.Preferred if thumbnail
                             else QSizePolicy.Policy.Expanding)
        policy.setHeightForWidth(thumbnail)
        self.setSizePolicy(policy)
        self._image: QImage | None = None
        self._pixels: np.ndarray | None = None
        self._smooth = False
        self._fresh = False
        self._drag_hover = False
        self.placeholder = placeholder

    # -- content ---------------------------------------------------------------------------
    def set_image(self, pixels: np.ndarray | None) -> None:
        if pixels is None:
            self._image = self._pixels = None
        else:
            self._pixels = np.array(pixels, np.uint8, copy=True)
            self._image = to_qimage(self._pixels)
        self._fresh = True
        self.update()

    def pixels(self) -> np.ndarray | None:
        return self._pixels

    def qimage(self) -> QImage | None:
        return self._image

    def set_smooth(self, smooth: bool) -> None:
        self._smooth = bool(smooth)
        self.update()

    def is_smooth(self) -> bool:
        return self._smooth

    def image_rect(self) -> QRect:
        if self._image is None:
            return QRect()
        return fit_rect(self._image.size(), self.rect().adjusted(4, 4, -4, -4),
                        not (self._smooth or self._thumbnail))

    # -- painting --------------------------------------------------------------------------
    def paintEvent(self, event) -> None:  # noqa: N802 - Qt API
        p = QPainter(self)
        pal = self.palette()
        p.fillRect(self.rect(), pal.color(QPalette.ColorRole.Base))
        if self._image is not None:
            p.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform, self._smooth)
            p.drawImage(self.image_rect(), self._image)
        elif self.placeholder:
            p.setPen(pal.color(QPalette.ColorRole.PlaceholderText))
            p.drawText(self.rect().adjusted(16, 16, -16, -16),
                       Qt.AlignmentFlag.AlignCenter | Qt.TextFlag.TextWordWrap, self.placeholder)
        if self._drag_hover:
            pen_colour = QColor(pal.color(QPalette.ColorRole.Highlight))
            p.setPen(pen_colour)
            p.drawRect(self.rect().adjusted(1, 1, -2, -2))
        p.end()
        if self._fresh:
            self._fresh = False
            self.painted.emit(time.perf_counter())

    def sizeHint(self) -> QSize:  # noqa: N802 - Qt API
        return QSize(140, 140) if self._thumbnail else QSize(384, 384)

    def hasHeightForWidth(self) -> bool:  # noqa: N802 - Qt API
        return self._thumbnail

    def heightForWidth(self, width: int) -> int:  # noqa: N802 - Qt API
        return width

    # -- drag and drop ---------------------------------------------------------------------
    @staticmethod
    def local_file(mime) -> str | None:
        for url in mime.urls() if mime.hasUrls() else ():
            if url.isLocalFile():
                return url.toLocalFile()
        return None

    def dragEnterEvent(self, event) -> None:  # noqa: N802 - Qt API
        if self.local_file(event.mimeData()):
            self._drag_hover = True
            self.update()
            event.acceptProposedAction()
        else:
            event.ignore()

    def dragLeaveEvent(self, event) -> None:  # noqa: N802 - Qt API
        self._drag_hover = False
        self.update()

    def dropEvent(self, event) -> None:  # noqa: N802 - Qt API
        self._drag_hover = False
        self.update()
        path = self.local_file(event.mimeData())
        if path:
            event.acceptProposedAction()
            self.file_dropped.emit(path)
        else:
            event.ignore()
