"""Imagine room models: the picker lists built-in and user-trained models; switching models;
a broken model folder gives a message and the room keeps the model it had."""

from __future__ import annotations

import os
import shutil

import numpy as np

from desktop_app.core import paths


def test_picker_lists_user_models_and_switching_resets_the_latents(make_panel,
                                                                   other_image_model, qtbot):
    user = paths.user_models_dir() / "image" / "my-trained"
    shutil.copytree(other_image_model, user)
    panel = make_panel()
    from desktop_app.core.model_registry import scan_models
    panel.models_changed(scan_models())
    labels = [panel.modelPicker.itemText(i) for i in range(panel.modelPicker.count())]
    assert "my-trained (user)" in labels
    assert labels[-1] == "Open model folder…"
    panel.request_model(panel._requested_model)
    panel.sliders.slider("smile").setValue(100)
    assert panel.history.stack.count() == 1
    index = labels.index("my-trained (user)")
    panel.modelPicker.activated.emit(index)
    assert panel.model_info.name == "my-trained"
    assert panel.modelPicker.currentText() == "my-trained (user)"
    assert panel.history.stack.count() == 0          # other weights: old latents meant nothing
    assert panel.grid.seed(0) == 1234
    qtbot.waitUntil(lambda: panel.current_pixels is not None)
    assert set(panel.sliders.sliders) == set()       # that model has no directions
    assert panel.sliders.emptyLabel.isVisibleTo(panel)


def test_a_broken_model_folder_keeps_the_previous_model(panel, tmp_path):
    broken = tmp_path / "broken"
    broken.mkdir()
    (broken / "config.json").write_text('{"model_type": "reverie-conv-vae", "image_size": 64}')
    (broken / "model.safetensors").write_bytes(os.urandom(64))
    base = panel.history.state.base.copy()
    panel.request_model(str(broken))
    assert "Could not load the image model" in panel.messageLabel.text()
    assert "Still using tinyvae" in panel.messageLabel.text()
    assert panel.model_info.name == "tinyvae"
    assert np.array_equal(panel.history.state.base, base)
    panel.grid.click(1)
    assert np.array_equal(panel.history.state.base, panel.grid.latent(1))


def test_generate_needs_a_loaded_model_and_stop_cancels(make_panel):
    panel = make_panel()
    assert panel.generate() is None
    assert "still loading" in panel.messageLabel.text()
    panel.request_model(panel._requested_model)
    panel.randomness.set_locked(False)
    panel.randomness.seedSpin.setValue(99)
    panel.generateButton.click()
    assert panel.grid.seed(0) == 99 and panel.randomness.last_seed() == 99
    assert not panel.stopButton.isEnabled()


def test_a_latent_sent_while_the_first_grid_is_sampled_is_kept(make_panel):
    """Explore's "Open in Imagine" loads the model, then sets the latent: the automatic first
    grid must not replace that latent with its cell 0."""
    from desktop_app.core.events import Finished

    panel = make_panel()
    z = np.linspace(-1, 1, 12).astype(np.float32)

    def on_event(event):
        if isinstance(event, Finished) and event.job_id == job_id[0]:
            panel.set_base(z, "Explore: a point", "Open from the map")

    job_id = []
    panel.engine.event.connect(on_event)
    real_submit = panel.engine.submit

    def submit(job, *, supersede=False):
        if not job_id:
            job_id.append(job.job_id)
        return real_submit(job, supersede=supersede)

    panel.engine.submit = submit
    panel.request_model(panel._requested_model)
    assert panel.grid.latent(0) is not None           # the grid was sampled
    assert np.array_equal(panel.history.state.base, z)
    assert "Explore: a point" in panel.caption.text()
