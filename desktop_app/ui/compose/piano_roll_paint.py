"""How the piano roll is painted: grid, notes, keyboard strip, bar ruler and playhead.

A mixin of :class:`~desktop_app.ui.compose.piano_roll.PianoRoll` (GUI thread), kept apart from
the editing: the roll's scene holds no items, so everything on screen is drawn here, from the
melody, in ``drawBackground`` / ``drawForeground``. It reads the roll's geometry (``row``,
``px_q``, ``x_of``, ``y_of``, ``note_rect``) and state (``_melody``, ``_preview``,
``_selected``, ``_playhead``).
"""

from __future__ import annotations

from PySide6.QtCore import QPointF, QRectF, Qt
from PySide6.QtGui import QBrush, QColor, QFont, QPainter, QPen

NAMES = ("C", "C#", "D", "D#", "E", "F", "F#", "G", "G#", "A", "A#", "B")
BLACK = {1, 3, 6, 8, 10}
KEY_W = 46      # keyboard strip width (px)
RULER_H = 20    # bar ruler height (px)
GRID = 0.25     # snap: a 16th note, in quarter notes
NOTE_IN = QColor("#4f8fe6")
NOTE_OUT = QColor("#e88a3a")
PLAYHEAD = QColor("#e0453a")


def pitch_name(pitch: int) -> str:
    return f"{NAMES[pitch % 12]}{pitch // 12 - 1}"


class PianoRollPainting:
    """The painting half of the piano roll."""

    def _colours(self):
        pal = self.palette()
        base, text = pal.base().color(), pal.text().color()
        dark = base.lightness() < 128
        black_row = base.darker(110) if not dark else base.lighter(125)
        return base, text, black_row, dark

    def drawBackground(self, painter: QPainter, rect: QRectF) -> None:  # noqa: N802
        base, text, black_row, dark = self._colours()
        painter.fillRect(rect, base)
        lo = max(0, int(127 - rect.bottom() / self.row) - 1)
        hi = min(127, int(127 - rect.top() / self.row) + 1)
        for p in range(lo, hi + 1):
            if p % 12 in BLACK:
                painter.fillRect(QRectF(rect.left(), self.y_of(p), rect.width(), self.row),
                                 black_row)
            if p % 12 == 0:
                line = QColor(text)
                line.setAlpha(60)
                painter.setPen(QPen(line, 1))
                y = self.y_of(p) + self.row
                painter.drawLine(QPointF(rect.left(), y), QPointF(rect.right(), y))
        self._draw_time_grid(painter, rect, text)
        self._draw_notes(painter, rect, dark)

    def _draw_time_grid(self, painter: QPainter, rect: QRectF, text: QColor) -> None:
        bar = self._melody.meter.bar_quarters
        beat = bar / self._melody.meter.numerator
        q = max(0.0, int(rect.left() / self.px_q / GRID) * GRID)
        end = rect.right() / self.px_q
        while q <= end:
            colour = QColor(text)
            on_bar = abs(q / bar - round(q / bar)) < 1e-6
            on_beat = abs(q / beat - round(q / beat)) < 1e-6
            colour.setAlpha(150 if on_bar else 55 if on_beat else 22)
            painter.setPen(QPen(colour, 1.5 if on_bar else 1))
            x = self.x_of(q)
            painter.drawLine(QPointF(x, rect.top()), QPointF(x, rect.bottom()))
            q += GRID

    def _draw_notes(self, painter: QPainter, rect: QRectF, dark: bool) -> None:
        notes = self._preview if self._preview is not None else self._melody.notes
        outline = QColor("#ffffff" if dark else "#111111")
        key = self._melody.key
        for i, n in enumerate(notes):
            r = self.note_rect(n)
            if not r.intersects(rect):
                continue
            in_key = key.contains(n.pitch)
            colour = QColor(NOTE_IN if in_key else NOTE_OUT)
            colour.setAlpha(110 + n.velocity)
            selected = i in self._selected
            painter.fillRect(r, colour.lighter(135) if selected else colour)
            if not in_key:
                painter.fillRect(r, QBrush(colour.darker(160), Qt.BrushStyle.BDiagPattern))
            pen = QPen(outline if selected else colour.darker(170), 2 if selected else 1)
            if not in_key:
                pen.setStyle(Qt.PenStyle.DashLine)
            painter.setPen(pen)
            painter.drawRect(r.adjusted(0.5, 0.5, -0.5, -0.5))

    def drawForeground(self, painter: QPainter, rect: QRectF) -> None:  # noqa: N802
        base, text, black_row, dark = self._colours()
        view = self.mapToScene(self.viewport().rect()).boundingRect()
        if self._playhead is not None:
            painter.setPen(QPen(PLAYHEAD, 2))
            x = self.x_of(self._playhead)
            painter.drawLine(QPointF(x, view.top()), QPointF(x, view.bottom()))
        self._draw_keyboard(painter, view, text, dark)
        self._draw_ruler(painter, view, base, text)

    def _draw_keyboard(self, painter: QPainter, view: QRectF, text: QColor, dark: bool) -> None:
        left = view.left()
        white, black = (QColor("#d8d8d8"), QColor("#2b2b2b")) if dark else \
            (QColor("#fbfbfb"), QColor("#3a3a3a"))
        font = QFont(self.font())
        font.setPointSizeF(max(6.0, self.row * 0.52))
        painter.setFont(font)
        lo = max(0, int(127 - view.bottom() / self.row) - 1)
        hi = min(127, int(127 - view.top() / self.row) + 1)
        for p in range(lo, hi + 1):
            r = QRectF(left, self.y_of(p), KEY_W, self.row)
            is_black = p % 12 in BLACK
            painter.fillRect(r, black if is_black else white)
            painter.setPen(QPen(QColor("#909090"), 1))
            painter.drawLine(r.bottomLeft(), r.bottomRight())
            font.setBold(p % 12 == 0)
            painter.setFont(font)
            painter.setPen(QColor("#f0f0f0") if is_black else QColor("#202020"))
            painter.drawText(r.adjusted(3, 0, -3, 0), Qt.AlignmentFlag.AlignVCenter
                             | Qt.AlignmentFlag.AlignRight, pitch_name(p))
        painter.setPen(QPen(QColor("#808080"), 1))
        painter.drawLine(QPointF(left + KEY_W, view.top()), QPointF(left + KEY_W, view.bottom()))

    def _draw_ruler(self, painter: QPainter, view: QRectF, base: QColor, text: QColor) -> None:
        r = QRectF(view.left(), view.top(), view.width(), RULER_H)
        painter.fillRect(r, base.darker(112) if base.lightness() > 128 else base.lighter(135))
        bar = self._melody.meter.bar_quarters
        font = QFont(self.font())
        font.setPointSizeF(8)
        painter.setFont(font)
        first = max(0, int(view.left() / self.px_q / bar))
        b = first
        while b * bar * self.px_q <= view.right():
            x = self.x_of(b * bar)
            painter.setPen(QPen(text, 1))
            painter.drawLine(QPointF(x, r.top() + 6), QPointF(x, r.bottom()))
            painter.drawText(QRectF(x + 3, r.top(), 40, RULER_H),
                             Qt.AlignmentFlag.AlignVCenter, str(b + 1))
            b += 1
        if self._playhead is not None:
            x = self.x_of(self._playhead)
            painter.setBrush(PLAYHEAD)
            painter.setPen(Qt.PenStyle.NoPen)
            painter.drawPolygon([QPointF(x - 6, r.top()), QPointF(x + 6, r.top()),
                                 QPointF(x, r.bottom())])
        painter.fillRect(QRectF(view.left(), view.top(), KEY_W, RULER_H), base)
