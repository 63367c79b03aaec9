"""One-line read-outs with several wordings, and a row that picks the wording that fits.

The Write room's footer holds a document name, counts, speed, the context gauge and four
buttons; at a 1,360-pixel window there is not room for every read-out in full. Instead of a
clipped "758 characte", each :class:`FittingLabel` offers shorter wordings ("298 words ·
1,508 characters" -> "… chars" -> "298 words"), and :class:`FittingRow` puts every label of the
row at the same level of brevity: the fullest at which the whole row fits. A row given
:meth:`FittingRow.wrap_with` (the read-outs beside the buttons) puts the buttons on a line of
their own when even the shortest wordings do not fit beside them: the default window on a
1366 × 768 laptop screen (1,256 pixels) clipped "● Untitl…", "232 wo…". Only when the shortest
does not fit a whole line is a label elided with "…". The first wording is always ``text()``
and, unless one is set, the tooltip.
"""

from __future__ import annotations

from collections.abc import Sequence

from PySide6.QtCore import QEvent, QSize, Qt
from PySide6.QtGui import QPainter
from PySide6.QtWidgets import QBoxLayout, QLabel, QWidget


class FittingLabel(QLabel):
    """``set_variants(["long", "shorter", "short"])``: paints the first that fits."""

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self.variants: tuple[str, ...] = ("",)
        self.level = 0  # which wording the row can afford (0 = the fullest)

    def setText(self, text: str) -> None:  # noqa: N802 - Qt's name
        self.set_variants([text])

    def set_variants(self, variants: Sequence[str], tooltip: str | None = None) -> None:
        self.variants = tuple(v for v in variants if v) or ("",)
        super().setText(self.variants[0])
        self.setToolTip(tooltip if tooltip is not None else self.variants[0])
        self.updateGeometry()
        self.update()

    def width_at(self, level: int) -> int:
        """Pixels the wording of ``level`` needs (the shortest one past the last level)."""
        margins = self.contentsMargins()
        text = self.variants[min(level, len(self.variants) - 1)] if self.isVisibleTo(
            self.parentWidget()) else ""
        return (self.fontMetrics().horizontalAdvance(text) + 2 + margins.left()
                + margins.right()) if text else 0

    def set_level(self, level: int) -> None:
        if level != self.level:
            self.level = level
            self.updateGeometry()
            self.update()

    def shown_text(self) -> str:
        """The wording painted at the current width: the row's level, else the first that
        fits, else the shortest elided."""
        width = self.contentsRect().width()
        metrics = self.fontMetrics()
        for variant in self.variants[min(self.level, len(self.variants) - 1):]:
            if metrics.horizontalAdvance(variant) <= width:
                return variant
        return metrics.elidedText(self.variants[-1], Qt.TextElideMode.ElideRight, width)

    def sizeHint(self) -> QSize:  # noqa: N802 - Qt's name
        hint = super().sizeHint()
        hint.setWidth(self.width_at(self.level))
        return hint

    def minimumSizeHint(self) -> QSize:  # noqa: N802 - Qt's name
        hint = super().minimumSizeHint()
        hint.setWidth(self.minimumWidth())
        return hint

    def paintEvent(self, event) -> None:  # noqa: N802 - Qt's name
        painter = QPainter(self)
        painter.drawText(self.contentsRect(), int(self.alignment() | Qt.AlignmentFlag.AlignVCenter),
                         self.shown_text())


class FittingRow(QWidget):
    """A widget whose layout holds :class:`FittingLabel` s (also inside child widgets): on every
    resize or layout change, all of them take the fullest level at which the row fits."""

    LEVELS = 3

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self._wrap: tuple[QBoxLayout, QWidget] | None = None
        self._fitting = False

    def wrap_with(self, box: QBoxLayout, readouts: QWidget) -> None:
        """``box`` (this row's layout) holds ``readouts`` (every label) and then the buttons;
        when the labels do not fit beside the buttons, ``box`` stacks the two."""
        self._wrap = (box, readouts)

    @property
    def wrapped(self) -> bool:
        return self._wrap is not None and self._wrap[0].direction() == QBoxLayout.Direction.TopToBottom

    def labels(self) -> list[FittingLabel]:
        return self.findChildren(FittingLabel)

    def _level(self, labels: list[FittingLabel], others: int) -> int | None:
        """The fullest level at which the labels and ``others`` pixels fit the row's width."""
        return next((c for c in range(self.LEVELS)
                     if others + sum(lb.width_at(c) for lb in labels) <= self.width()), None)

    def refit(self) -> None:
        layout = self.layout()
        labels = self.labels()
        if layout is None or not labels or self._fitting:
            return
        self._fitting = True   # a change of direction posts a layout request: no re-entry
        try:
            for child in self.findChildren(QWidget):  # size hints cached before a level change
                if child.layout() is not None:
                    child.layout().invalidate()
            layout.invalidate()
            current = sum(lb.width_at(lb.level) for lb in labels)
            if self._wrap is None:
                level = self._level(labels, layout.sizeHint().width() - current)
            else:
                box, readouts = self._wrap
                alone = readouts.layout().sizeHint().width() - current
                beside = sum(box.itemAt(i).sizeHint().width() for i in range(box.count())
                             if box.itemAt(i).widget() is not readouts)
                level = self._level(labels, alone + beside + box.spacing())
                box.setDirection(QBoxLayout.Direction.LeftToRight if level is not None
                                 else QBoxLayout.Direction.TopToBottom)
                if level is None:
                    level = self._level(labels, alone)
            level = self.LEVELS - 1 if level is None else level
            for label in labels:
                label.set_level(level)
        finally:
            self._fitting = False

    def event(self, event) -> bool:
        if event.type() in (QEvent.Type.LayoutRequest, QEvent.Type.Resize):
            self.refit()
        return super().event(event)
