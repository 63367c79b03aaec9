"""The Explore room: see a model's latent space as a map, click, search and walk through it.

GUI thread. The map and its controls live in :mod:`desktop_app.ui.explore` (view, map,
controls, path, docks). The map is built lazily the first time the room is shown, so opening
the app costs nothing until the user comes here.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtWidgets import QVBoxLayout

from desktop_app.ui.explore.panel import ModelChooser
from desktop_app.ui.explore.view import ExploreBus, ExploreView
from desktop_app.ui.rooms.base import RoomPanel


class ExplorePanel(RoomPanel):
    """Explore room panel (objectName ``explorePanel``), GUI thread."""

    room_id = "explore"
    title = "Explore"
    tagline = "Look inside a model: its latent space as a map."
    model_kind = "image"
    generates = False
    uses_randomness = False
    available = True

    def __init__(self, engine, randomness, parent=None, bus: ExploreBus | None = None) -> None:
        super().__init__(engine, randomness, parent)
        self.bus = bus or ExploreBus(self)
        self.chooser = ModelChooser(self)
        self.view = ExploreView(engine, self.bus, self)
        self.view.message.connect(self.notice)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(12, 10, 12, 8)
        layout.addWidget(self.chooser)
        layout.addWidget(self.modelMessage)
        layout.addWidget(self.view, 1)
        self._loaded_key = ""
        # An explicit minimum: the map and the side controls squeeze (the splitter clips them)
        # rather than widen the window for every room (the stack takes its pages' largest).
        self.setMinimumSize(280, 300)
        self.chooser.kindCombo.currentIndexChanged.connect(lambda _i: self.load_current())
        self.chooser.modelCombo.currentIndexChanged.connect(lambda _i: self.load_current())

    def showEvent(self, event) -> None:  # noqa: N802 - Qt API
        super().showEvent(event)
        if not self._loaded_key:
            self.chooser.fill_models(prefer="emoji")
            self.load_current()

    def load_current(self) -> None:
        kind, model = self.chooser.kind(), self.chooser.modelCombo.currentData()
        if not model:
            needs = {"image": "an image model with an atlas", "text": "a text model",
                     "music": "the phrase VAE (models/music/phrase-vae) to encode melody "
                              "phrases; it is not installed"}[kind]
            self.view.set_status(f"The map needs {needs}.")
            self._loaded_key = f"{kind}:none"
            return
        key = f"{kind}:{model}"
        if key != self._loaded_key:
            self._loaded_key = key
            self.view.load(kind, model)

    def open_model(self, kind: str, model: str) -> None:
        """Follow another room's model (the docks use this; so can the main window)."""
        index = self.chooser.kindCombo.findData(kind)
        self.chooser.kindCombo.setCurrentIndex(index)
        self.chooser.fill_models()
        combo = self.chooser.modelCombo
        i = next((k for k in range(combo.count()) if combo.itemData(k) == str(model)
                  or Path(combo.itemData(k)).name == str(model)), -1)
        if i >= 0:
            self.chooser.modelCombo.setCurrentIndex(i)
        self.load_current()
