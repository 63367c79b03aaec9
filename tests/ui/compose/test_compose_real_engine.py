"""The Compose room on the real InferenceEngine (worker QThread): variations stream in while
the GUI runs, and Stop cancels the job, keeping what arrived."""

from __future__ import annotations

from desktop_app.core.events import Cancelled, MelodyReady
from desktop_app.engine.engine import InferenceEngine
from desktop_app.ui.compose.panel import ComposePanel
from desktop_app.ui.widgets.randomness import RandomnessControls


def test_stop_cancels_generation_and_keeps_the_variations_so_far(qtbot, tiny_music_models):
    engine = InferenceEngine(num_threads=1)
    randomness = RandomnessControls()
    lm, vae = tiny_music_models
    panel = ComposePanel(engine, randomness, model_dir=lm, vae_dir=vae, restore=False)
    qtbot.addWidget(panel)
    qtbot.addWidget(randomness)
    try:
        panel.controls.variationsSpin.setValue(8)
        panel.controls.barsSpin.setValue(32)
        with qtbot.waitSignal(engine.event, timeout=60_000,
                              check_params_cb=lambda e: isinstance(e, MelodyReady)):
            panel.generateButton.click()
            assert panel.stopButton.isEnabled() and not panel.generateButton.isEnabled()
        with qtbot.waitSignal(engine.event, timeout=30_000,
                              check_params_cb=lambda e: isinstance(e, Cancelled)):
            panel.stopButton.click()
        kept = panel.variationsList.melodies()
        assert 1 <= len(kept) < 8
        assert panel.pianoRoll.melody() == kept[0]
        assert "Stopped" in panel.message()
        assert panel.generateButton.isEnabled() and not panel.stopButton.isEnabled()
    finally:
        engine.shutdown()
