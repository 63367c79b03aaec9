"""The latent map: a pyqtgraph scatter of up to tens of thousands of codes (GUI thread).

One ``ScatterPlotItem`` per colour class (pxMode, one brush each, cached symbols) keeps pan and
zoom fast at 20,000 points. Hit tests are done here in numpy in screen pixels, so a click or a
hover finds "the point under the cursor" the same way at every zoom level.

Signals: ``pointClicked(index)``, ``pointDoubleClicked(index)``, ``emptyClicked(x, y)`` (map
coordinates), ``pointHovered(index, global_x, global_y)`` (index -1 when the cursor leaves
the points) and ``waypointAdded(index_or_-1, x, y)`` while drawing a path.
"""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QPointF, Qt, Signal
from PySide6.QtGui import QColor

PALETTE = ("#4e79a7", "#f28e2b", "#e15759", "#76b7b2", "#59a14f", "#edc948", "#b07aa1",
           "#ff9da7", "#9c755f", "#bab0ac", "#1f77b4", "#d62728", "#2ca02c", "#9467bd",
           "#8c564b", "#17becf")
OTHER = "#9a9a9a"
HIT_PX = 7.0


def class_colour(i: int) -> QColor:
    return QColor(PALETTE[i] if i < len(PALETTE) else OTHER)


class LatentMap(pg.PlotWidget):
    """The scatter map (objectName ``latentMap``). GUI thread only."""

    pointClicked = Signal(int)
    pointDoubleClicked = Signal(int)
    emptyClicked = Signal(float, float)
    pointHovered = Signal(int, int, int)
    waypointAdded = Signal(int, float, float)

    def __init__(self, parent=None) -> None:
        super().__init__(parent, background=None)
        self.setObjectName("latentMap")
        self.setAccessibleName("Latent map")
        self.xy = np.zeros((0, 2), np.float32)
        self.classes = np.zeros(0, np.int64)
        self._items: list[pg.ScatterPlotItem] = []
        self.drawing_path = False
        self._hover = -1
        self.plotItem.setMenuEnabled(False)
        self.plotItem.hideButtons()
        # no grid: its lines cost more than the 20,000 points themselves (benchmarks/bench_explore.py)
        self.setAntialiasing(False)
        self.plotItem.vb.setDefaultPadding(0.04)
        for side in ("left", "bottom"):
            self.plotItem.getAxis(side).enableAutoSIPrefix(False)
        self._highlight = pg.ScatterPlotItem(size=9, pen=pg.mkPen(20, 20, 20, 200, width=1),
                                             brush=None, pxMode=True)
        self._selected = pg.ScatterPlotItem(size=16, symbol="o", pen=pg.mkPen("#000", width=2.5),
                                            brush=pg.mkBrush(255, 255, 255, 90), pxMode=True)
        self._current = pg.ScatterPlotItem(size=20, symbol="star", pen=pg.mkPen("#000", width=1),
                                           brush=pg.mkBrush("#ffd400"), pxMode=True)
        self._path = pg.PlotDataItem(pen=pg.mkPen("#d62728", width=2.5), symbol="o",
                                     symbolSize=8, symbolBrush="#d62728")
        for item in (self._highlight, self._path, self._selected, self._current):
            item.setZValue(10)
            self.addItem(item)
        self.scene().sigMouseClicked.connect(self._on_scene_clicked)
        self.scene().sigMouseMoved.connect(self._on_scene_moved)

    # -- data ---------------------------------------------------------------------------------

    def set_points(self, xy: np.ndarray, classes: np.ndarray | None = None,
                   colours: list[QColor] | None = None, size: float = 5.0,
                   keep_view: bool = False, under: int | None = None) -> None:
        """Show ``xy`` (N, 2), coloured by ``classes`` (N,) indexing ``colours``; class
        ``under`` (e.g. the grey "unlabelled" points) is drawn beneath the others."""
        for item in self._items:
            self.removeItem(item)
        self._items = []
        self.xy = np.asarray(xy, np.float32)
        n = len(self.xy)
        self.classes = np.zeros(n, np.int64) if classes is None else np.asarray(classes)
        colours = colours or [class_colour(0)]
        for c in range(len(colours)):
            mask = self.classes == c
            if not mask.any():
                continue
            colour = QColor(colours[c])
            colour.setAlpha(200)
            item = pg.ScatterPlotItem(self.xy[mask, 0], self.xy[mask, 1], size=size,
                                      pen=None, brush=pg.mkBrush(colour), pxMode=True,
                                      useCache=True, hoverable=False)
            if c == under:
                item.setZValue(-1)
            self.addItem(item)
            self._items.append(item)
        self.clear_marks()
        if not keep_view and n:       # stays on (refits on resize) until the user pans or zooms
            self.plotItem.vb.enableAutoRange(x=True, y=True)

    def clear_marks(self) -> None:
        self._highlight.setData([], [])
        self._selected.setData([], [])

    def highlight(self, indices) -> None:
        idx = np.asarray(list(indices), np.int64)
        idx = idx[(idx >= 0) & (idx < len(self.xy))]
        self._highlight.setData(self.xy[idx, 0], self.xy[idx, 1])

    def select(self, index: int | None) -> None:
        if index is None or not 0 <= index < len(self.xy):
            self._selected.setData([], [])
        else:
            self._selected.setData([self.xy[index, 0]], [self.xy[index, 1]])

    def set_current(self, xy) -> None:
        """Place the live-link marker (the Imagine room's current latent), or hide it (None)."""
        if xy is None:
            self._current.setData([], [])
        else:
            self._current.setData([float(xy[0])], [float(xy[1])])

    def set_path(self, points) -> None:
        pts = np.asarray(points, np.float32).reshape(-1, 2)
        self._path.setData(pts[:, 0], pts[:, 1]) if len(pts) else self._path.setData([], [])

    # -- geometry -----------------------------------------------------------------------------

    def view_to_widget(self, x: float, y: float) -> QPointF:
        """Map coordinates -> this widget's pixel coordinates (for tests and tooltips)."""
        scene = self.plotItem.vb.mapViewToScene(QPointF(x, y))
        return QPointF(self.mapFromScene(scene))

    def index_at(self, x: float, y: float, tolerance_px: float = HIT_PX) -> int:
        """The point nearest to map position (x, y) within ``tolerance_px`` pixels, else -1."""
        if not len(self.xy):
            return -1
        px = self.plotItem.vb.viewPixelSize()
        sx, sy = max(px[0], 1e-12), max(px[1], 1e-12)
        d2 = ((self.xy[:, 0] - x) / sx) ** 2 + ((self.xy[:, 1] - y) / sy) ** 2
        i = int(np.argmin(d2))
        return i if d2[i] <= tolerance_px ** 2 else -1

    def view_range(self) -> tuple[float, float, float, float]:
        (x0, x1), (y0, y1) = self.plotItem.vb.viewRange()
        return float(x0), float(x1), float(y0), float(y1)

    def set_view_range(self, r) -> None:
        self.plotItem.vb.setRange(xRange=(r[0], r[1]), yRange=(r[2], r[3]), padding=0)

    # -- mouse --------------------------------------------------------------------------------

    def _on_scene_clicked(self, ev) -> None:
        if ev.button() != Qt.MouseButton.LeftButton:
            return
        vb = self.plotItem.vb
        if not vb.sceneBoundingRect().contains(ev.scenePos()):
            return
        p = vb.mapSceneToView(ev.scenePos())
        self.click_at(p.x(), p.y(), double=ev.double())
        ev.accept()

    def click_at(self, x: float, y: float, double: bool = False) -> None:
        """What a left click at map position (x, y) does (the mouse handler calls this)."""
        i = self.index_at(x, y)
        if self.drawing_path:
            if not double:
                self.waypointAdded.emit(i, float(x), float(y))
        elif i >= 0:
            (self.pointDoubleClicked if double else self.pointClicked).emit(i)
        elif not double:
            self.emptyClicked.emit(float(x), float(y))

    def _on_scene_moved(self, scene_pos) -> None:
        vb = self.plotItem.vb
        i = -1
        if vb.sceneBoundingRect().contains(scene_pos):
            p = vb.mapSceneToView(scene_pos)
            i = self.index_at(p.x(), p.y())
        if i != self._hover:
            self._hover = i
            g = self.mapToGlobal(self.mapFromScene(scene_pos))
            self.pointHovered.emit(i, g.x(), g.y())
