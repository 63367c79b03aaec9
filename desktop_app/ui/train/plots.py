"""Live training charts (pyqtgraph): loss against steps, learning rate, throughput.

GUI thread. :class:`TrainCharts` keeps the points it was given (so a resumed run that replays
the earlier part of the curve from the saved history continues the same lines) and redraws at
most a few times a second however fast the progress lines arrive.
"""

from __future__ import annotations

import pyqtgraph as pg
from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QHBoxLayout, QVBoxLayout, QWidget

TRAIN_PEN = (52, 120, 220)
VAL_PEN = (230, 120, 30)


def _plot(parent: QWidget, title: str, left: str, name: str) -> pg.PlotWidget:
    plot = pg.PlotWidget(parent)
    plot.setObjectName(name)
    plot.setBackground(None)
    plot.setTitle(title, size="10pt")
    plot.setLabel("bottom", "step")
    plot.setLabel("left", left)
    plot.showGrid(x=True, y=True, alpha=0.2)
    plot.setMouseEnabled(x=False, y=False)
    plot.hideButtons()
    plot.setMinimumHeight(110)
    return plot


class TrainCharts(QWidget):
    """lossPlot (training + held-out loss), lrPlot and ratePlot (GUI thread)."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        pg.setConfigOptions(antialias=True)
        self.lossPlot = _plot(self, "Loss (lower is better)", "loss", "lossPlot")
        self.lossPlot.addLegend(offset=(-10, 10))
        self.train_curve = self.lossPlot.plot([], [], pen=pg.mkPen(TRAIN_PEN, width=2),
                                              name="training")
        self.val_curve = self.lossPlot.plot([], [], pen=pg.mkPen(VAL_PEN, width=2),
                                            symbol="o", symbolSize=6,
                                            symbolBrush=VAL_PEN, name="held-out")
        self.lrPlot = _plot(self, "Learning rate", "lr", "lrPlot")
        self.lr_curve = self.lrPlot.plot([], [], pen=pg.mkPen((120, 120, 120), width=2))
        self.ratePlot = _plot(self, "Throughput", "per s", "ratePlot")
        self.rate_curve = self.ratePlot.plot([], [], pen=pg.mkPen((60, 160, 90), width=2))
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.lossPlot, 3)
        row = QHBoxLayout()
        row.addWidget(self.lrPlot)
        row.addWidget(self.ratePlot)
        layout.addLayout(row, 2)
        self.clear()
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.setInterval(150)
        self._timer.timeout.connect(self.redraw)

    def clear(self) -> None:
        self.train: list[tuple[int, float]] = []
        self.val: list[tuple[int, float]] = []
        self.lr: list[tuple[int, float]] = []
        self.rate: list[tuple[int, float]] = []
        self.redraw()

    def set_rate_unit(self, unit: str) -> None:
        self.ratePlot.setLabel("left", unit)

    def add(self, ev: dict) -> None:
        """Take one progress object (kinds "step" and "eval" carry points)."""
        step = ev.get("step")
        if not isinstance(step, int):
            return
        if ev.get("kind") == "step":
            for series, key in ((self.train, "loss"), (self.lr, "lr"),
                                (self.rate, "tokens_per_s")):
                value = ev.get(key)
                if isinstance(value, (int, float)):
                    _put(series, step, float(value))
        elif ev.get("kind") == "eval" and isinstance(ev.get("val_loss"), (int, float)):
            _put(self.val, step, float(ev["val_loss"]))
        if not self._timer.isActive():
            self._timer.start()

    def redraw(self) -> None:
        for curve, series in ((self.train_curve, self.train), (self.val_curve, self.val),
                              (self.lr_curve, self.lr), (self.rate_curve, self.rate)):
            curve.setData([s for s, _ in series], [v for _, v in series])
        # rates and throughput from 0: a flat series (a constant rate after warm-up) would
        # otherwise be centred in a made-up range around it
        for plot, series in ((self.lrPlot, self.lr), (self.ratePlot, self.rate)):
            top = max((v for _, v in series), default=0.0)
            if top > 0:
                plot.setYRange(0.0, top * 1.1, padding=0)
            else:
                plot.enableAutoRange(axis="y")


def _put(series: list[tuple[int, float]], step: int, value: float) -> None:
    """Append; a resumed run that re-reports a step replaces the later points (no zig-zag)."""
    while series and series[-1][0] >= step:
        series.pop()
    series.append((step, value))
