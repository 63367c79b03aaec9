"""The explorer on a tiny image model: map, clicks, neighbours, search, path export, t-SNE."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image
from PySide6.QtCore import QPoint, Qt

from desktop_app.core import projection as pj
from desktop_app.core.events import Cancelled
from desktop_app.core.explore import ProjectJob
from desktop_app.core.imaging import DecodeLatentJob, DecodePathJob
from desktop_app.backends import registry
from desktop_app.core.jobs import JobCancelled
from desktop_app.ui.explore.latent_map import HIT_PX


def _click(qtbot, view, x: float, y: float) -> None:
    pos = view.latentMap.view_to_widget(x, y)
    qtbot.mouseClick(view.latentMap.viewport(), Qt.MouseButton.LeftButton,
                     pos=QPoint(round(pos.x()), round(pos.y())))


def _isolated_point(view) -> int:
    """A point whose nearest neighbour on screen is well beyond the click tolerance."""
    px = np.array([[view.latentMap.view_to_widget(*p).x(), view.latentMap.view_to_widget(*p).y()]
                   for p in view.xy])
    d = np.linalg.norm(px[:, None] - px[None], axis=2) + np.eye(len(px)) * 1e9
    i = int(np.argmax(d.min(1)))
    assert d[i].min() > 2 * HIT_PX
    return i


def _empty_spot(view) -> tuple[float, float]:
    x0, x1, y0, y1 = view.latentMap.view_range()
    for fx in np.linspace(0.1, 0.9, 9):
        for fy in np.linspace(0.1, 0.9, 9):
            x, y = x0 + fx * (x1 - x0), y0 + fy * (y1 - y0)
            if view.latentMap.index_at(x, y, tolerance_px=4 * HIT_PX) < 0:
                return x, y
    raise AssertionError("no empty space on the map")


def test_map_is_built_for_a_tiny_model(image_view):
    v = image_view
    assert len(v.data) == 48 and v.data.codes.shape == (48, 8)
    assert v.latentMap.xy.shape == (48, 2)
    assert v.latentMap.objectName() == "latentMap"
    combo = v.controls.colourByCombo
    items = [combo.itemText(i) for i in range(combo.count())]
    assert items[:2] == ["(none)", "side"] and set(items) == {"(none)", "side", "smile",
                                                              "skin_tone", "split"}
    assert combo.currentText() == "side"
    assert "left" in v.controls.legend.text() and "right" in v.controls.legend.text()
    # PCA map = the codes projected on the two leading components through the mean
    lin = pj.pca_map(v.data.codes)
    np.testing.assert_allclose(v.xy, lin.transform(v.data.codes), atol=1e-5)
    assert "plane" in v.status.text()


def test_click_on_a_point_decodes_exactly_that_point(qtbot, image_view):
    v = image_view
    i = _isolated_point(v)
    asked = []
    v.decodeRequested.connect(asked.append)
    v.engine.jobs.clear()
    _click(qtbot, v, *v.xy[i])
    assert v.selected == i
    jobs = [j for j in v.engine.jobs if isinstance(j, DecodeLatentJob)]
    assert len(jobs) == 1 and len(asked) == 1
    np.testing.assert_array_equal(jobs[0].latent, v.data.codes[i])
    np.testing.assert_array_equal(asked[0], v.data.codes[i])
    assert v.decoded_latent is not None and v.preview.pixmap() is not None


def test_double_click_opens_the_point_in_its_room(qtbot, image_view):
    v = image_view
    i = _isolated_point(v)
    opened = []
    v.bus.open_in_room.connect(lambda kind, payload: opened.append((kind, payload)))
    pos = v.latentMap.view_to_widget(*v.xy[i])
    at, vp, left = QPoint(round(pos.x()), round(pos.y())), v.latentMap.viewport(), \
        Qt.MouseButton.LeftButton
    qtbot.mouseClick(vp, left, pos=at)          # a real double-click: click, dbl, release
    qtbot.mouseDClick(vp, left, pos=at)
    qtbot.mouseRelease(vp, left, pos=at)
    assert opened and opened[-1][0] == "image"
    np.testing.assert_array_equal(opened[-1][1]["latent"], v.data.codes[i])
    opened.clear()
    v.openButton.click()                        # the button opens the selected point too
    np.testing.assert_array_equal(opened[-1][1]["latent"], v.data.codes[i])


def test_click_on_empty_space_decodes_the_inverse_projected_latent(qtbot, image_view):
    v = image_view
    x, y = _empty_spot(v)
    v.engine.jobs.clear()
    _click(qtbot, v, x, y)
    jobs = [j for j in v.engine.jobs if isinstance(j, DecodeLatentJob)]
    assert len(jobs) == 1
    z = jobs[0].latent
    lin = pj.pca_map(v.data.codes)
    # the latent lies on the plane through the mean and projects back to the clicked spot
    back = lin.transform(z[None])[0]
    px = v.latentMap.plotItem.vb.viewPixelSize()
    assert abs(back[0] - x) < 2 * px[0] and abs(back[1] - y) < 2 * px[1]
    resid = (z - lin.mean) - (z - lin.mean) @ lin.basis.T @ lin.basis
    assert np.linalg.norm(resid) < 1e-4
    assert v.selected is None and "plane through the mean" in v.info.text()


@pytest.mark.parametrize("metric", ["cosine", "euclidean"])
def test_neighbours_match_brute_force(image_view, metric):
    v = image_view
    v.neighbours.metricCombo.setCurrentText(metric)
    v.select_point(7)
    lst = v.neighbours.neighboursList
    got = [int(lst.item(k).data(Qt.ItemDataRole.UserRole)) for k in range(lst.count())]
    x = v.data.codes.astype(np.float64)
    if metric == "cosine":
        u = x / np.linalg.norm(x, axis=1, keepdims=True)
        d = 1 - u @ u[7]
    else:
        d = np.linalg.norm(x - x[7], axis=1)
    d[7] = np.inf
    assert got == list(np.argsort(d, kind="stable")[:12])


def test_search_finds_labelled_points(qtbot, image_view):
    v = image_view
    qtbot.keyClicks(v.controls.latentSearch, "right")
    found = v.search("right")
    expected = [i for i, s in enumerate(v.data.categories["side"]) if s == "right"]
    assert sorted(found) == expected and len(expected) > 0
    assert f"{len(expected)} item(s) match" in v.status.text()
    assert v.search("toy-17")[0] == 17
    assert v.search("no such thing") == []


def test_path_export_writes_one_frame_per_step(qtbot, image_view, tmp_path):
    v = image_view
    v.path.drawButton.setChecked(True)
    v.path.stepsSpin.setValue(4)
    for i in (0, 10, 20):
        v.latentMap.click_at(*v.xy[i])
    assert [w[0] for w in v.path.waypoints] == [0, 10, 20]
    assert not any(isinstance(j, DecodeLatentJob) for j in v.engine.jobs[-3:])
    v.path.morph()
    path_jobs = [j for j in v.engine.jobs if isinstance(j, DecodePathJob)]
    assert len(path_jobs[-1].latents) == 2 * 4 + 1
    np.testing.assert_allclose(path_jobs[-1].latents[0], v.data.codes[0])
    np.testing.assert_allclose(path_jobs[-1].latents[-1], v.data.codes[20])
    assert len(v.path.frames) == 9
    out = tmp_path / "path.gif"
    assert v.path.export_gif(out) == 9
    with Image.open(out) as gif:
        assert gif.n_frames == 9 and gif.size == (28, 28)


def test_tsne_layout_is_computed_and_cached(image_view):
    v = image_view
    v.controls.projectionCombo.setCurrentText("t-SNE")
    assert v.method == "t-SNE" and v.linear is None
    assert v.xy.shape == (48, 2) and np.all(np.isfinite(v.xy))
    assert v.controls.cancelButton.isEnabled() is False
    first = v.xy.copy()
    # empty space in t-SNE blends the nearest points' codes
    z = v.latent_at(*v.xy[3])
    np.testing.assert_allclose(z, v.data.codes[3], atol=1e-4)
    # a second request reads the cache
    v._tsne_xy = None
    msgs = []
    v.message.connect(msgs.append)
    v._start_tsne()
    np.testing.assert_array_equal(v.xy, first)
    assert any("cache" in m for m in msgs)


def test_cancelled_tsne_keeps_the_previous_map(make_view, tiny_image_model, recording_engine):
    def handler_for(job):
        if isinstance(job, ProjectJob):
            def cancelled(job, ctx):
                raise JobCancelled()
            return cancelled
        return registry.handler_for(job)

    eng = recording_engine(handler_for=handler_for)
    v = make_view(engine=eng)
    v.load("image", str(tiny_image_model))
    before = v.xy.copy()
    events = []
    eng.event.connect(events.append)
    v.controls.projectionCombo.setCurrentText("t-SNE")
    assert any(isinstance(e, Cancelled) for e in events)
    np.testing.assert_array_equal(v.xy, before)
    assert v.controls.projectionCombo.currentText() == "PCA"
    assert "cancelled; the previous map stays" in v.status.text()


def test_attribute_axes(image_view):
    v = image_view
    v.controls.projectionCombo.setCurrentText("Attribute axes")
    assert v.controls.axesRow.isVisibleTo(v)
    names = (v.controls.xAxisCombo.currentText(), v.controls.yAxisCombo.currentText())
    assert names[0] != names[1] and v.linear.axis_names == names
    d = v.data.directions[names[0]]
    x = (v.data.codes - v.data.codes.mean(0)) @ (d / np.linalg.norm(d))
    np.testing.assert_allclose(v.xy[:, 0], x, atol=1e-4)


def test_hover_shows_the_thumbnail_and_name(qtbot, image_view):
    v = image_view
    i = _isolated_point(v)
    g = v.latentMap.mapToGlobal(v.latentMap.view_to_widget(*v.xy[i]).toPoint())
    v._on_point_hovered(i, g.x(), g.y())
    assert v.hover.isVisible() and v.data.names[i] in v.hover.text.text()
    assert v.hover.picture.pixmap().width() == 64
    v._on_point_hovered(-1, 0, 0)
    assert not v.hover.isVisible()


def test_bookmarks_persist(make_view, image_view):
    v = image_view
    v.select_point(5)
    v.bookmarks.addPointButton.click()
    v.bookmarks.addViewButton.click()
    assert v.bookmarks.bookmarkList.count() == 2
    other = make_view()
    other.set_map(v.data)
    assert other.bookmarks.bookmarkList.count() == 2
    other.bookmarks._on_item_activated(other.bookmarks.bookmarkList.item(0))
    assert other.selected == 5


def test_model_without_an_atlas_says_what_the_map_needs(make_view, no_atlas_model):
    v = make_view()
    v.load("image", str(no_atlas_model))
    assert v.data is None
    assert "has no atlas" in v.status.text() and "the map needs" in v.status.text()


def test_too_small_a_dataset_is_refused(make_view):
    from desktop_app.core.explore import MapData
    v = make_view()
    with pytest.raises(pj.DataError, match="at least 3"):
        pj.pca_map(np.zeros((2, 4)))
    v.set_map(MapData("image", "x", np.random.default_rng(0).normal(size=(3, 4)).astype(
        np.float32), ("a", "b", "c")))
    assert v.xy.shape == (3, 2)
    # fewer points than a map needs: a message, no crash, and no stale points on the map
    v.set_map(MapData("image", "y", np.ones((2, 4), np.float32), ("a", "b")))
    assert "at least 3" in v.status.text() and len(v.latentMap.xy) == 0
