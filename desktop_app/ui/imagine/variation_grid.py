"""The 3×3 grid of variations (objectName ``variationGrid``): seeds s … s+8. GUI thread only.

Each cell shows one sampled image with its seed; clicking a cell picks it (``picked``), and its
context menu sends it to the morph as A or B (``use_as``). The grid holds the cells' latents so
the panel never asks the engine twice for the same picture.
"""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import QRect, QSize, Qt, Signal
from PySide6.QtGui import QFont, QFontMetrics, QPainter, QPalette, QPen
from PySide6.QtWidgets import QGridLayout, QMenu, QSizePolicy, QWidget

from desktop_app.ui.imagine.image_view import fit_rect, to_qimage

ROWS = COLS = 3


class GridCell(QWidget):
    """One clickable thumbnail with its seed underneath."""

    clicked = Signal(int)
    menu_requested = Signal(int, object)   # index, global position

    def __init__(self, index: int, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.index = index
        self.setObjectName(f"gridCell{index}")
        self.setMinimumSize(56, 74)
        policy = QSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Preferred)
        policy.setHeightForWidth(True)
        self.setSizePolicy(policy)
        self.setCursor(Qt.CursorShape.PointingHandCursor)
        self.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        self.image = None
        self.seed: int | None = None
        self.latent: np.ndarray | None = None
        self.pixels: np.ndarray | None = None
        self.selected = False

    def set_content(self, pixels, seed: int | None, latent) -> None:
        self.image = None if pixels is None else to_qimage(pixels)
        self.pixels = None if pixels is None else np.array(pixels, np.uint8)
        self.seed, self.latent = seed, latent
        self.setAccessibleName(f"Variation with seed {seed}" if seed is not None
                               else "Empty variation")
        self.setToolTip("" if seed is None else f"Seed {seed} — click to pick, right-click to "
                        "use it in the morph")
        self.update()

    def paintEvent(self, event) -> None:  # noqa: N802 - Qt API
        p = QPainter(self)
        pal = self.palette()
        p.fillRect(self.rect(), pal.color(QPalette.ColorRole.Base))
        label_h = 16
        area = self.rect().adjusted(3, 3, -3, -3 - label_h)
        if self.image is not None:
            p.drawImage(fit_rect(self.image.size(), area, False), self.image)
        if self.seed is not None:
            p.setPen(pal.color(QPalette.ColorRole.Text))
            text, font = self.label_fit(self.width() - 4)
            p.setFont(font)
            p.drawText(QRect(0, self.height() - label_h - 2, self.width(), label_h),
                       Qt.AlignmentFlag.AlignCenter, text)
        if self.selected or self.hasFocus():
            pen = QPen(pal.color(QPalette.ColorRole.Highlight), 3 if self.selected else 1)
            p.setPen(pen)
            p.drawRect(self.rect().adjusted(1, 1, -2, -2))
        p.end()

    def label_fit(self, width: int) -> tuple[str, QFont]:
        """The seed label that fits ``width`` pixels whole: "seed N", else "N", in the cell's
        font or down to 7 pt (a 9-digit seed in a narrow cell was cut at both ends)."""
        font = QFont(self.font())
        size = font.pointSizeF() if font.pointSizeF() > 0 else 9.0
        for text in (f"seed {self.seed}", f"{self.seed}"):
            f = QFont(font)
            while True:
                if QFontMetrics(f).horizontalAdvance(text) <= width:
                    return text, f
                if size <= 7.0 or f.pointSizeF() <= 7.0:
                    break
                f.setPointSizeF(max(7.0, f.pointSizeF() - 0.5))
        text = f"{self.seed}"
        return QFontMetrics(f).elidedText(text, Qt.TextElideMode.ElideMiddle, width), f

    def mouseReleaseEvent(self, event) -> None:  # noqa: N802 - Qt API
        if event.button() == Qt.MouseButton.LeftButton and self.latent is not None:
            self.clicked.emit(self.index)

    def keyPressEvent(self, event) -> None:  # noqa: N802 - Qt API
        if event.key() in (Qt.Key.Key_Return, Qt.Key.Key_Enter, Qt.Key.Key_Space):
            if self.latent is not None:
                self.clicked.emit(self.index)
        else:
            super().keyPressEvent(event)

    def contextMenuEvent(self, event) -> None:  # noqa: N802 - Qt API
        if self.latent is not None:
            self.menu_requested.emit(self.index, event.globalPos())

    def sizeHint(self) -> QSize:  # noqa: N802 - Qt API
        return QSize(84, 102)

    def hasHeightForWidth(self) -> bool:  # noqa: N802 - Qt API
        return True

    def heightForWidth(self, width: int) -> int:  # noqa: N802 - Qt API
        return width + 18


class VariationGrid(QWidget):
    """Nine variations of the seed in the Randomness box."""

    picked = Signal(int)            # cell index
    use_as = Signal(int, str)       # cell index, "A" or "B"

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("variationGrid")
        self.setAccessibleName("Variations")
        layout = QGridLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(4)
        self.cells: list[GridCell] = []
        for i in range(ROWS * COLS):
            cell = GridCell(i, self)
            cell.clicked.connect(self._on_cell_clicked)
            cell.menu_requested.connect(self._on_cell_menu_requested)
            layout.addWidget(cell, i // COLS, i % COLS)
            self.cells.append(cell)

    def clear(self, seeds: list[int] | None = None) -> None:
        for i, cell in enumerate(self.cells):
            cell.set_content(None, seeds[i] if seeds else None, None)
            cell.selected = False

    def set_cell(self, index: int, pixels, seed: int, latent) -> None:
        if 0 <= index < len(self.cells):
            self.cells[index].set_content(pixels, seed, np.array(latent, np.float32))

    def latent(self, index: int) -> np.ndarray | None:
        return self.cells[index].latent

    def seed(self, index: int) -> int | None:
        return self.cells[index].seed

    def select(self, index: int | None) -> None:
        for cell in self.cells:
            cell.selected = cell.index == index
            cell.update()

    def click(self, index: int) -> None:
        """Pick cell ``index`` as if clicked (automation and tests)."""
        self._on_cell_clicked(index)

    def _on_cell_clicked(self, index: int) -> None:
        if self.cells[index].latent is not None:
            self.select(index)
            self.picked.emit(index)

    def _on_cell_menu_requested(self, index: int, pos) -> None:
        menu = QMenu(self)
        menu.addAction("Pick this one", lambda: self._on_cell_clicked(index))
        menu.addAction("Use as morph start (A)", lambda: self.use_as.emit(index, "A"))
        menu.addAction("Use as morph end (B)", lambda: self.use_as.emit(index, "B"))
        menu.exec(pos)
