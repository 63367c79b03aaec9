"""The explorer's projections: PCA, two attribute axes, or t-SNE computed in the engine.

A mixin of :class:`~desktop_app.ui.explore.view.ExploreView` (GUI thread): it lays the map's
codes out in 2-D when the projection (or an axis) changes, asks the engine for t-SNE
(``ProjectJob``, cancellable; the current layout stays until it is ready) and colours the
points by the chosen category. It reads and writes the view's ``data``, ``xy``, ``linear``,
``method`` and its widgets (``controls``, ``latentMap``, ``path``).
"""

from __future__ import annotations

import numpy as np

from desktop_app.core import projection as pj
from desktop_app.core.events import Cancelled, Event, Failed, Finished, Progress
from desktop_app.core.explore import ProjectJob
from desktop_app.ui.explore.controls import AXES, PCA, TSNE
from desktop_app.ui.explore.latent_map import PALETTE, class_colour


class ProjectionsMixin:
    """Projections of :class:`ExploreView`."""

    def _on_projection_changed(self, method: str) -> None:
        if self.data is None:
            return
        self.controls.set_axes_visible(method == AXES)
        if method == TSNE:
            self._start_tsne()
            return
        try:
            if method == AXES:
                names = (self.controls.xAxisCombo.currentText(),
                         self.controls.yAxisCombo.currentText())
                if not all(names):
                    raise pj.DataError(f"{self.data.model} has no attribute directions; the "
                                       f"axes need two (use PCA or t-SNE)")
                linear = pj.axes_map(self.data.codes, self.data.directions[names[0]],
                                     self.data.directions[names[1]], names)
            else:
                linear = pj.pca_map(self.data.codes)
        except pj.DataError as exc:
            if not self.method and method != PCA:   # a new map: PCA so that something shows
                self.controls.projectionCombo.blockSignals(True)
                self.controls.projectionCombo.setCurrentText(PCA)
                self.controls.projectionCombo.blockSignals(False)
                self._on_projection_changed(PCA)
                self.set_status(f"{exc} — showing PCA instead.")
                return
            if not self.method:               # nothing can be drawn: clear the old points
                self.xy = np.zeros((0, 2), np.float32)
                self.latentMap.set_points(self.xy)
            self.set_status(str(exc))
            self._restore_combo()
            return
        self.linear = linear
        self._show_layout(method, linear.transform(self.data.codes))
        self.set_status(f"{method}: a linear map — clicking empty space decodes the latent on "
                        f"the plane of {linear.axis_names[0]} and {linear.axis_names[1]} "
                        f"through the mean. {self.data.note}")

    def _on_axes_changed(self) -> None:
        if self.controls.projectionCombo.currentText() == AXES:
            self._on_projection_changed(AXES)

    def _restore_combo(self) -> None:
        combo = self.controls.projectionCombo
        combo.blockSignals(True)
        combo.setCurrentText(self.method or PCA)
        combo.blockSignals(False)
        self.controls.set_axes_visible(self.method == AXES)

    def _start_tsne(self) -> None:
        if self._tsne_xy is not None:
            self.linear = None
            self._show_layout(TSNE, self._tsne_xy)
            return
        job = ProjectJob(codes=np.array(self.data.codes, np.float32),
                         cache_key=self.data.fingerprint())
        if self._project_job is not None:
            self.engine.cancel(self._project_job)
        self._project_job = job.job_id
        self.controls.cancelButton.setEnabled(True)
        self.set_status("Computing the t-SNE map in the engine… (the current map stays until "
                        "it is ready; Cancel stops it)")
        self.engine.submit(job)

    def cancel_projection(self) -> None:
        if self._project_job is not None:
            self.engine.cancel(self._project_job)

    def _show_layout(self, method: str, xy: np.ndarray) -> None:
        self.method = method
        self.xy = np.asarray(xy, np.float32)
        self._recolour(keep_view=False)
        self.latentMap.setLabel("bottom", self.linear.axis_names[0] if self.linear else "t-SNE 1")
        self.latentMap.setLabel("left", self.linear.axis_names[1] if self.linear else "t-SNE 2")
        self.path.relayout()
        if self.selected is not None:
            self.latentMap.select(self.selected)
        if self._live is not None:
            self.set_current_latent(*self._live)

    def _recolour(self, keep_view: bool = True) -> None:
        if self.data is None or len(self.xy) != len(self.data):
            return
        key = self.controls.colourByCombo.currentText()
        values = self.data.categories.get(key)
        if not values:
            self.latentMap.set_points(self.xy, keep_view=keep_view)
            self.controls.set_legend([], [])
            return
        names, inverse, counts = np.unique(np.asarray(values), return_inverse=True,
                                           return_counts=True)
        unlabelled = names == "unlabelled"         # grey, drawn beneath the labelled points
        order = np.argsort(np.where(unlabelled, 1, 0) * 10**9 - counts, kind="stable")
        rank = np.empty_like(order)
        rank[order] = np.arange(len(order))
        grey = len(PALETTE)
        classes = np.where(unlabelled[inverse], grey, np.minimum(rank[inverse], grey))
        colours = [class_colour(i) for i in range(grey + 1)]
        self.latentMap.set_points(self.xy, classes, colours, keep_view=keep_view, under=grey)
        shown = [i for i in order[:grey] if not unlabelled[i]]
        rest = len(names) - len(shown)
        self.controls.set_legend([str(names[i]) for i in shown], [int(counts[i]) for i in shown],
                                 more=rest, more_label="unlabelled" if unlabelled.any()
                                 and rest == 1 else "")

    def _on_project_event(self, event: Event) -> None:
        if isinstance(event, Progress):
            pct = "" if event.fraction is None else f" {event.fraction:.0%}"
            self.set_status(f"t-SNE{pct}: {event.message}")
        elif isinstance(event, Finished):
            self._project_job = None
            self.controls.cancelButton.setEnabled(False)
            self._tsne_xy = np.asarray(event.result, np.float32)
            self.linear = None
            self._show_layout(TSNE, self._tsne_xy)
            self.set_status("t-SNE: neighbours stay together, distances between clusters mean "
                            "little; clicking empty space blends the 3 nearest points.")
        elif isinstance(event, (Failed, Cancelled)):
            self._project_job = None
            self.controls.cancelButton.setEnabled(False)
            why = "was cancelled" if isinstance(event, Cancelled) else f"failed: {event.message}"
            self._restore_combo()
            self.set_status(f"The t-SNE map {why}; the previous map stays.")
