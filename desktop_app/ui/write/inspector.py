"""The distribution inspector: what every sampler stage does to the next-token distribution.

GUI thread only. Given the model's raw logits for the next token at the cursor (computed once
by a ``NextTokenLogitsJob`` on the worker and cached), it re-runs
:func:`desktop_app.core.sampling.sampler_trace` on the GUI thread whenever a control moves —
numpy over the vocabulary, a few milliseconds — and redraws one pyqtgraph chart: the top
candidates (rows, labelled with their text) and, in columns, their probability in the raw
model output and after each stage, in the chain's order. Tokens a stage removed are drawn as
grey stubs; each column's header gives the entropy (bits) and how many tokens are still in play.
Nothing is generated.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np
import pyqtgraph as pg
from PySide6.QtGui import QFontMetricsF
from PySide6.QtWidgets import QLabel, QVBoxLayout, QWidget

TOP_N = 20
BAR_SPAN = 0.86  # fraction of a column a probability of 1 fills
STAGE_TITLES = {"raw": "raw", "samplers": "after",  # "samplers": a server's own, after all
                "penalties": "penalties", "dry": "DRY", "top_k": "top-k",
                "typical_p": "typical", "top_p": "top-p", "min_p": "min-p", "xtc": "XTC",
                "temperature": "temp"}
#: when a column is narrower than its title (a narrow room): "top-k" beside "top-p" ran together
SHORT_TITLES = {"penalties": "pen", "top_k": "k", "typical_p": "typ", "top_p": "p",
                "min_p": "min", "temperature": "T", "samplers": "aft"}


def entropy_bits(p: np.ndarray) -> float:
    nz = p[p > 0]
    return float(-(nz * np.log2(nz)).sum()) if nz.size else 0.0


def show_token(text: str) -> str:
    """A token's text made visible in a chart label (spaces, newlines, tabs shown)."""
    if text == "":
        return "∅"
    out = text.replace("\n", "↵").replace("\t", "⇥").replace(" ", "␣")
    return out if len(out) <= 14 else out[:13] + "…"


@dataclass(frozen=True)
class StageView:
    name: str
    entropy: float
    in_play: int
    probs: np.ndarray  # probabilities of the shown candidates


class DistributionInspector(QWidget):
    """Chart of the next-token distribution per stage (objectName ``distributionInspector``)."""

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self.setObjectName("distributionInspector")
        self.setAccessibleName("Distribution inspector")
        self.setToolTip("The model's top candidates for the next token at the cursor: their "
                        "probability in the raw output and after each sampler stage, in order. "
                        "Grey: removed by that stage.")
        pg.setConfigOptions(antialias=False)
        self.plot = pg.PlotWidget(self)
        self.plot.setBackground(None)
        self.plot.setMenuEnabled(False)
        self.plot.setMouseEnabled(False, False)
        self.plot.hideButtons()
        item = self.plot.getPlotItem()
        item.hideAxis("bottom")
        item.invertY(True)
        item.getAxis("left").setStyle(tickLength=0)
        item.getViewBox().sigResized.connect(self._on_view_resized)
        self.kept = pg.BarGraphItem(x0=[], y0=[], width=[], height=[],
                                    brush=pg.mkBrush(70, 120, 220), pen=pg.mkPen(None))
        self.removed = pg.BarGraphItem(x0=[], y0=[], width=[], height=[],
                                       brush=pg.mkBrush(150, 150, 150, 210), pen=pg.mkPen(None))
        self.chosen = pg.BarGraphItem(x0=[], y0=[], width=[], height=[],
                                      brush=pg.mkBrush(230, 140, 40), pen=pg.mkPen(None))
        for bar in (self.removed, self.kept, self.chosen):
            self.plot.addItem(bar)
        self.headers: list[pg.TextItem] = []
        self.values: list[pg.TextItem] = []  # final probability of each row, right of the chart
        self.summary = QLabel("Place the cursor in a document and load a model to see the "
                              "next-token distribution.", self)
        self.summary.setObjectName("inspectorSummary")
        self.summary.setWordWrap(True)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.summary)
        layout.addWidget(self.plot, 1)
        layout.addStretch(0)          # takes the room while the chart is hidden
        self.plot.hide()              # no empty axes before the first distribution
        self.logits: np.ndarray | None = None
        self.history: tuple[int, ...] = ()
        self.breaker_ids: tuple = ()
        self.labels: dict[int, str] = {}
        self.settings = None
        self.stages: list[StageView] = []
        self.shown_ids: np.ndarray = np.zeros(0, dtype=np.int64)
        self.last_update_ms = 0.0
        self.update_count = 0

    # -- inputs ----------------------------------------------------------------------------
    def set_logits(self, logits, history=(), labels: dict[int, str] | None = None,
                   breaker_ids=()) -> None:
        """New raw logits for the cursor position (from the worker), then redraw."""
        self.logits = None if logits is None else np.asarray(logits, dtype=np.float64)
        self.history = tuple(int(t) for t in history)
        self.labels = dict(labels or {})
        self.breaker_ids = tuple(breaker_ids)
        self.refresh()

    def set_settings(self, settings) -> None:
        self.settings = settings
        self.refresh()

    def set_server_distribution(self, result, server: str = "the server") -> None:
        """Draw a ``ServerNextToken``: the server's raw top-N and, where it reports them, the
        probabilities after its samplers (tokens it removed are grey stubs)."""
        self.logits = None
        raw = list(result.raw)
        if not raw:
            self.clear(f"{server} reported no candidates for the next token.")
            return
        keys = [a.id if a.id >= 0 else -(i + 1) for i, a in enumerate(raw)]  # text-only ids
        self.labels = {k: a.text for k, a in zip(keys, raw)}
        self.shown_ids = np.asarray(keys, dtype=np.int64)
        raw_p = np.asarray([a.raw_probability or 0.0 for a in raw])
        self.stages = [StageView("raw", entropy_bits(raw_p), len(raw), raw_p)]
        if result.post is not None:
            post = {(a.id if a.id >= 0 else a.text): a.probability or 0.0 for a in result.post}
            post_p = np.asarray([post.get(a.id if a.id >= 0 else a.text, 0.0) for a in raw])
            self.stages.append(StageView("samplers", entropy_bits(post_p),
                                         len(result.post), post_p))
            stay = (f"{len(result.post)} tokens stay in play" if len(result.post) < len(raw)
                    else f"its top {len(result.post)} are shown")
            after = f"after its samplers {stay} (grey: removed)"
        else:
            after = "after its samplers: the server cannot report this"
        self._draw()
        self.summary.setText(f"{server}'s own numbers for the next token: its top {len(raw)} "
                             f"before its samplers (covering {raw_p.sum():.0%}); {after}. "
                             "Entropies are over the tokens shown.")
        self.update_count += 1

    def clear(self, message: str) -> None:
        self.logits = None
        self.summary.setText(message)
        self.stages = []
        self._draw()

    # -- computing -------------------------------------------------------------------------
    def refresh(self) -> None:
        """Recompute every stage from the cached logits and redraw (GUI thread, < 100 ms)."""
        if self.logits is None or self.settings is None:
            return
        from desktop_app.core.sampling import make_rng, sampler_trace  # noqa: PLC0415

        t0 = time.perf_counter()
        seed = self.settings.seed if self.settings.seed is not None else 0
        trace = sampler_trace(self.logits, self.settings, self.history,
                              rng=make_rng(seed), breaker_ids=self.breaker_ids)
        raw = np.asarray(trace[0][1])
        n = min(TOP_N, raw.size)
        ids = np.argpartition(-raw, n - 1)[:n]
        self.shown_ids = ids[np.lexsort((ids, -raw[ids]))]
        self.stages = [StageView(name, entropy_bits(np.asarray(p)), int(np.count_nonzero(p)),
                                 np.asarray(p)[self.shown_ids]) for name, p in trace]
        self._draw()
        final = self.stages[-1]
        self.summary.setText(
            f"Next token: entropy {final.entropy:.2f} bits, {final.in_play:,} of "
            f"{raw.size:,} tokens in play after all stages (raw: {self.stages[0].entropy:.2f} "
            "bits). Grey bars: removed.")
        self.last_update_ms = (time.perf_counter() - t0) * 1000.0
        self.update_count += 1

    def _draw(self) -> None:
        self.plot.setVisible(bool(self.stages))
        kept, removed = ([], [], []), ([], [], [])
        ids = self.shown_ids
        for col, stage in enumerate(self.stages):
            raw = self.stages[0].probs
            for row, p in enumerate(stage.probs):
                if p > 0:
                    target = kept
                    length = max(float(p) * BAR_SPAN, 0.03)
                else:  # removed: a grey stub as long as its raw probability (at least visible)
                    target = removed
                    length = max(float(raw[row]) * BAR_SPAN, 0.03)
                target[0].append(col)
                target[1].append(row - 0.38)
                target[2].append(length)
        for bar, (x, y, w) in ((self.kept, kept), (self.removed, removed)):
            bar.setOpts(x0=x, y0=y, width=w, height=[0.76] * len(x))
        self._draw_values()
        axis = self.plot.getPlotItem().getAxis("left")
        axis.setTicks([[(row, show_token(self.labels.get(int(t), f"#{int(t)}")))
                        for row, t in enumerate(ids)]] if self.stages else [[]])
        if self.stages:
            self._fit_x_range()
            self.plot.setYRange(-2.3, len(ids) - 0.4, padding=0)
        self._draw_headers()   # after the range: short titles when a column is narrow

    def _fit_x_range(self) -> None:
        """One column per stage, then room for the final probabilities in *pixels*: a fixed
        share of the range cut "52.5%" to "52." in a narrow room (a 1,256-pixel window)."""
        n = len(self.stages)
        view = self.plot.getPlotItem().getViewBox()
        width = max(float(view.width()), 1.0)
        margin = self.fontMetrics().horizontalAdvance("100.0%") + 8.0
        span = (n + 0.05) * width / max(width - margin, width * 0.3)
        self.plot.setXRange(-0.05, max(span - 0.05, n + 0.55), padding=0)

    def _on_view_resized(self, *_args) -> None:
        if self.stages:
            self._fit_x_range()
            self._draw_headers()

    def _column_px(self) -> float:
        view = self.plot.getPlotItem().getViewBox()
        (x0, x1), _ = view.viewRange()
        return float(view.width()) / max(x1 - x0, 1e-6)

    def _draw_headers(self) -> None:
        metrics = self.fontMetrics()
        room = self._column_px() - 4
        titles = [STAGE_TITLES.get(st.name, st.name) for st in self.stages]
        if any(metrics.horizontalAdvance(t) > room for t in titles):
            titles = [SHORT_TITLES.get(st.name, t) for st, t in zip(self.stages, titles)]
        # still too wide (a narrow window: "raw" touched "k"): a smaller type, down to 70 %
        font = self.font()
        widest = max((metrics.horizontalAdvance(t) for t in titles), default=0)
        if widest > room > 0:
            font.setPointSizeF(font.pointSizeF() * max(0.7, room / widest))
            metrics = QFontMetricsF(font)
        # entropy and tokens in play only where they fit under the title (the summary above
        # the chart says both for the final stage)
        figures = metrics.horizontalAdvance("H 9.9") <= room + 2
        # ... and where the three lines fit above the first row (else the title was cut off)
        view = self.plot.getPlotItem().getViewBox()
        _, (y0, y1) = view.viewRange()
        above_px = (-0.45 - y0) * float(view.height()) / max(y1 - y0, 1e-6)
        figures = figures and 3 * metrics.lineSpacing() <= above_px
        while len(self.headers) < len(self.stages):
            text = pg.TextItem(anchor=(0, 1), color=(90, 90, 90))
            self.plot.addItem(text)
            self.headers.append(text)
        for i, header in enumerate(self.headers):
            if i < len(self.stages):
                stage = self.stages[i]
                header.setFont(font)
                header.setText(f"{titles[i]}\nH {stage.entropy:.1f}\n{_short(stage.in_play)}"
                               if figures else f"\n\n{titles[i]}")
                header.setPos(i - 0.05, -0.45)
                header.show()
            else:
                header.hide()

    def _draw_values(self) -> None:
        final = self.stages[-1].probs if self.stages else ()
        while len(self.values) < len(final):
            text = pg.TextItem(anchor=(0, 0.5), color=(60, 60, 60))
            self.plot.addItem(text)
            self.values.append(text)
        for row, text in enumerate(self.values):
            if row < len(final):
                p = float(final[row])
                text.setText(f"{p:.1%}" if p >= 0.001 else ("<0.1%" if p > 0 else "–"))
                text.setPos(len(self.stages) - 0.02, row)
                text.show()
            else:
                text.hide()

    def stage(self, name: str) -> StageView | None:
        return next((s for s in self.stages if s.name == name), None)


def _short(n: int) -> str:
    return f"{n / 1000:.0f}k" if n >= 10_000 else str(n)
