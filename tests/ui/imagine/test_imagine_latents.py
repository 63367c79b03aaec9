"""Imagine room: the grid of seeds, sliders that follow a drag (latest wins), undo / redo."""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import Qt

from desktop_app.core.events import ImageReady
from desktop_app.core.imaging import DecodeLatentJob
from imagine_helpers import expected_image, seed_latent

SLIDER_NAMES = {"slider_smile", "slider_skin_tone", "slider_style",
                *(f"slider_direction_{i}" for i in range(1, 9))}


def count_decodes(engine):
    """Wrap ``engine.submit`` to count the decode jobs the room submits (and how)."""
    calls = []
    real = engine.submit

    def submit(job, *, supersede=False):
        if isinstance(job, DecodeLatentJob):
            calls.append((job, supersede))
        return real(job, supersede=supersede)

    engine.submit = submit
    return calls


def test_grid_holds_seeds_s_to_s_plus_8_and_the_first_is_current(panel):
    assert [panel.grid.seed(i) for i in range(9)] == list(range(1234, 1243))
    for i in range(9):
        assert np.array_equal(panel.grid.latent(i), seed_latent(panel.model_dir, 1234 + i))
    assert np.array_equal(panel.history.state.base, panel.grid.latent(0))
    assert panel.imageView.pixels().shape == (64, 64, 3)
    assert panel.randomness.last_seed() == 1234
    panel.grid.click(4)
    assert np.array_equal(panel.history.state.base, panel.grid.latent(4))
    assert "seed 1238" in panel.caption.text()


def test_sliders_are_named_for_automation(panel):
    names = {s.objectName() for s in panel.sliders.findChildren(type(panel.sliders.slider("smile")))}
    assert names == SLIDER_NAMES
    assert panel.findChild(type(panel.sliders), "latentSliders") is panel.sliders
    assert panel.sliders.slider("skin_tone").objectName() == "slider_skin_tone"
    assert panel.sliders.slider("skin_tone").maximum() == 300  # +3 sigma in 0.01 steps


def test_drag_decodes_through_supersede_and_shows_only_the_latest(panel, qtbot):
    calls = count_decodes(panel.engine)
    shown = []
    panel.imageView.painted.connect(lambda _t: shown.append(panel.imageView.pixels().copy()))
    panel.show()
    qtbot.waitExposed(panel)
    base = panel.history.state.base.copy()
    slider = panel.sliders.slider("smile")
    slider.setSliderDown(True)
    for v in range(0, 260, 13):          # 20 moves faster than the 15 ms throttle
        slider.setValue(v)
    slider.setSliderDown(False)          # the drag ends (sliderReleased)
    qtbot.waitUntil(lambda: not panel._decode_pending and not panel._decode_in_flight)
    assert 1 <= len(calls) < 20          # throttled, not one decode per move
    assert all(supersede for _job, supersede in calls)
    z, img = expected_image(panel.model_dir, base, {"smile": 2.47})
    assert dict(calls[-1][0].directions) == {"smile": 2.47}
    assert np.array_equal(panel.current_latent, z)
    assert np.array_equal(panel.imageView.pixels(), img)
    qtbot.waitUntil(lambda: bool(shown) and np.array_equal(shown[-1], img))
    assert panel.history.stack.count() == 1   # the whole drag is one undo step
    assert panel.history.stack.undoText() == "Move Smile"


def test_an_image_from_a_superseded_job_is_not_shown(panel):
    before = panel.imageView.pixels().copy()
    stale = np.zeros((64, 64, 3), np.uint8)
    panel.engine.event.emit(ImageReady(job_id=panel._decode_job - 1000, pixels=stale,
                                       latent=np.zeros(12, np.float32)))
    assert np.array_equal(panel.imageView.pixels(), before)


def test_double_click_resets_one_slider_and_reset_all_resets_every_one(panel, qtbot):
    smile, style = panel.sliders.slider("smile"), panel.sliders.slider("style")
    smile.setValue(150)
    style.setValue(-80)
    assert panel.history.state.amounts_dict() == {"smile": 1.5, "style": -0.8}
    qtbot.mouseDClick(smile, Qt.MouseButton.LeftButton)
    assert smile.value() == 0
    assert panel.history.state.amounts_dict() == {"style": -0.8}
    panel.sliders.resetAllButton.click()
    assert panel.history.state.amounts_dict() == {}
    _z, img = expected_image(panel.model_dir, panel.history.state.base, {})
    qtbot.waitUntil(lambda: np.array_equal(panel.imageView.pixels(), img))


def test_undo_and_redo_restore_latents_exactly(panel, qtbot):
    seen = []

    def snap():
        qtbot.waitUntil(lambda: not panel._decode_pending and not panel._decode_in_flight)
        seen.append((panel.history.state.base.copy(), panel.history.state.amounts,
                     panel.current_latent.copy()))

    snap()                                             # seed 1234
    panel.sliders.slider("smile").setValue(120)        # keyboard-like change: one step
    snap()
    drag = panel.sliders.slider("skin_tone")
    drag.setSliderDown(True)
    for v in (-30, -90, -170):
        drag.setValue(v)
    drag.setSliderDown(False)
    qtbot.waitUntil(lambda: not panel._decode_pending)
    snap()
    panel.grid.click(3)                                # a new base
    snap()
    assert panel.history.stack.count() == 3

    def same(i):
        base, amounts, latent = seen[i]
        return (np.array_equal(panel.history.state.base, base)
                and panel.history.state.amounts == amounts
                and np.array_equal(panel.current_latent, latent)
                and panel.sliders.amounts() == dict(amounts))

    for i in (2, 1, 0):
        panel.undoButton.click()
        qtbot.waitUntil(lambda i=i: same(i))
    assert not panel.undoButton.isEnabled()
    for i in (1, 2, 3):
        panel.redoButton.click()
        qtbot.waitUntil(lambda i=i: same(i))
    assert not panel.redoButton.isEnabled()


def test_ctrl_z_on_a_focused_slider_undoes(panel, qtbot):
    panel.show()
    qtbot.waitExposed(panel)
    slider = panel.sliders.slider("style")
    slider.setValue(200)
    slider.setFocus()
    qtbot.keyClick(slider, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)
    assert panel.history.state.amounts_dict() == {}
    qtbot.keyClick(slider, Qt.Key.Key_Z,
                   Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.ShiftModifier)
    assert panel.history.state.amounts_dict() == {"style": 2.0}


def test_noise_temperature_resamples_the_same_seeds(panel):
    panel.grid.click(2)
    panel.randomness.noiseSpin.setValue(0.5)   # the Randomness panel's Noise re-samples
    assert np.allclose(panel.grid.latent(2), seed_latent(panel.model_dir, 1236, 0.5))
    assert np.array_equal(panel.history.state.base, panel.grid.latent(2))
