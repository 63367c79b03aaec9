"""The Imagine room on the real threaded engine: the image follows a drag, latest wins."""

from __future__ import annotations

import numpy as np
from PySide6.QtWidgets import QApplication

from desktop_app.core.events import Cancelled, ImageReady
from desktop_app.engine.engine import InferenceEngine
from imagine_helpers import expected_image


def test_drag_on_the_threaded_engine_ends_on_the_latest_image(make_panel, qtbot):
    engine = InferenceEngine(num_threads=1)
    panel = make_panel(engine=engine)
    panel.show()
    qtbot.waitExposed(panel)
    panel.request_model(panel._requested_model)
    qtbot.waitUntil(lambda: panel.current_pixels is not None, timeout=30_000)
    events = []
    engine.event.connect(events.append)
    shown = []
    panel.imageView.painted.connect(lambda _t: shown.append(panel.imageView.pixels().copy()))
    base = panel.history.state.base.copy()
    slider = panel.sliders.slider("skin_tone")
    slider.setSliderDown(True)
    for v in range(0, 300, 10):
        slider.setValue(v)
        QApplication.processEvents()
    slider.setSliderDown(False)
    qtbot.waitUntil(lambda: not panel._decode_pending and not panel._decode_in_flight,
                    timeout=10_000)
    _z, img = expected_image(panel.model_dir, base, {"skin_tone": 2.9})
    qtbot.waitUntil(lambda: bool(shown) and np.array_equal(shown[-1], img), timeout=10_000)
    decodes = {e.job_id for e in events if isinstance(e, ImageReady)}
    assert 1 <= len(decodes) <= 30
    # nothing shown after the final image, and no cancelled job's picture was painted
    cancelled = {e.job_id for e in events if isinstance(e, Cancelled)}
    assert panel._decode_job not in cancelled
    assert np.array_equal(panel.imageView.pixels(), img)
    assert panel.history.stack.undoText() == "Move Skin tone"
