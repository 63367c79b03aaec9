"""Compose room fixtures: the panel on a SyncEngine with the real music backends and tiny seeded
models (random weights, real model folders), and a fake audio sink for machines without sound."""

from __future__ import annotations

import pytest
from PySide6.QtCore import QBuffer, QIODevice, QObject, Signal
from PySide6.QtMultimedia import QAudio

from desktop_app.engine.sync_engine import SyncEngine
from desktop_app.ui.compose.panel import ComposePanel
from desktop_app.ui.widgets.audio_player import AudioPlayer
from desktop_app.ui.widgets.randomness import RandomnessControls


@pytest.fixture(scope="session")
def tiny_music_models(tmp_path_factory):
    import torch

    from desktop_app.ml.music.tiny import tiny_lm_dir, tiny_vae_dir
    torch.set_num_threads(1)  # on a busy 2-core machine, more threads are ~40x slower here
    root = tmp_path_factory.mktemp("compose-models")
    return str(tiny_lm_dir(root / "lm")), str(tiny_vae_dir(root / "vae"))


@pytest.fixture
def make_panel(qtbot, tiny_music_models):
    """Build ComposePanels (real music handlers on a SyncEngine); all shut down afterwards."""
    made = []

    def make(player=None, **kwargs):
        engine = SyncEngine()
        randomness = RandomnessControls()
        lm, vae = tiny_music_models
        kwargs.setdefault("model_dir", lm)
        kwargs.setdefault("vae_dir", vae)
        panel = ComposePanel(engine, randomness, player=player, **kwargs)
        qtbot.addWidget(panel)
        qtbot.addWidget(randomness)
        panel.resize(1000, 700)
        made.append(panel)
        return panel

    yield make
    for panel in made:
        panel.player.stop()
        panel.engine.shutdown()


@pytest.fixture
def panel(make_panel):
    return make_panel()


class FakeDevice:
    def __init__(self, ident: bytes = b"fake-out") -> None:
        self._id = ident

    def id(self):  # noqa: A003 - QAudioDevice's name
        return self._id

    def description(self) -> str:
        return "Fake speakers"

    def isFormatSupported(self, fmt) -> bool:  # noqa: N802
        return fmt.channelCount() == 1

    def isNull(self) -> bool:  # noqa: N802
        return False


class FakeSink(QObject):
    """Stands in for QAudioSink: accepts 8 KiB at a time; the test sets the processed time."""

    stateChanged = Signal(object)

    def __init__(self, device, fmt, parent=None) -> None:
        super().__init__(parent)
        self.fmt = fmt
        self.buffer = QBuffer(self)
        self.processed_us = 0
        self.err = QAudio.Error.NoError
        self.stopped = False

    def start(self):
        self.buffer.open(QIODevice.OpenModeFlag.WriteOnly)
        return self.buffer

    def bytesFree(self) -> int:  # noqa: N802
        return 8192

    def processedUSecs(self) -> int:  # noqa: N802
        return self.processed_us

    def error(self):
        return self.err

    def stop(self) -> None:
        self.stopped = True


@pytest.fixture
def fake_audio():
    """An AudioPlayer on a fake device and sink; ``outputs`` is the device list it sees."""
    state = {"outputs": [FakeDevice()], "sinks": []}

    def factory(device, fmt, parent):
        sink = FakeSink(device, fmt, parent)
        state["sinks"].append(sink)
        return sink

    player = AudioPlayer(sink_factory=factory,
                         default_device=lambda: state["outputs"][0] if state["outputs"] else None,
                         list_outputs=lambda: state["outputs"])
    state["player"] = player
    yield state
    player.stop()
