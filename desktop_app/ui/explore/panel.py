"""The Explore room: see a model's latent space as a map, click, search and walk through it.

GUI thread. The map and its controls live beside this module (view, map, controls, path,
dock). The map is built lazily the first time the room is shown, so opening the app costs
nothing until the user comes here. Opening a point "in its room" goes out on the room bus;
the room's own map and the side dock share it.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtWidgets import QComboBox, QHBoxLayout, QLabel, QVBoxLayout, QWidget

from desktop_app.core.model_registry import ModelScan
from desktop_app.core.paths import IMAGE_MODEL, PHRASE_MODEL
from desktop_app.ui.explore.view import ExploreView
from desktop_app.ui.room_base import RoomPanel
from desktop_app.ui.room_bus import RoomBus

KIND_TITLES = (("image", "Images"), ("music", "Melody phrases"), ("text", "Words"))


class ModelChooser(QWidget):
    """Kind + model pickers (``kindCombo``, ``modelCombo``)."""

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self.kindCombo = QComboBox(self)
        self.kindCombo.setObjectName("exploreKindCombo")
        for kind, title in KIND_TITLES:
            self.kindCombo.addItem(title, kind)
        self.modelCombo = QComboBox(self)
        self.modelCombo.setObjectName("exploreModelCombo")
        self.modelCombo.setMinimumWidth(180)
        row = QHBoxLayout(self)
        row.setContentsMargins(0, 0, 0, 0)
        row.addWidget(QLabel("Map of", self))
        row.addWidget(self.kindCombo)
        row.addWidget(self.modelCombo)
        row.addStretch(1)
        self._scan = ModelScan()

    def kind(self) -> str:
        return self.kindCombo.currentData()

    def fill_models(self, scan: ModelScan | None = None, prefer: str = "") -> None:
        """List the usable models of the chosen kind from ``scan`` (else the last one)."""
        self._scan = scan if scan is not None else self._scan
        kind = self.kind()
        models = [m for m in self._scan.of_kind(kind) if not m.problem]
        self.modelCombo.blockSignals(True)
        self.modelCombo.clear()
        for m in models:
            self.modelCombo.addItem(f"{m.name} ({m.source})", str(m.path))
        if kind == "music":   # only the phrase VAE can encode phrases
            index = next((i for i, m in enumerate(models) if m.name == PHRASE_MODEL), -1)
        else:   # the preferred model if it is usable here (an image map needs an atlas)
            usable = [i for i, m in enumerate(models)
                      if kind != "image" or (m.path / "atlas.json").is_file()]
            index = next((i for i in usable if models[i].name == prefer),
                         usable[0] if usable else (0 if models else -1))
        self.modelCombo.setCurrentIndex(index)
        self.modelCombo.blockSignals(False)


class ExplorePanel(RoomPanel):
    """Explore room panel (objectName ``explorePanel``), GUI thread."""

    room_id = "explore"
    title = "Explore"
    tagline = "Look inside a model: its latent space as a map."
    model_kind = "image"
    generates = False
    uses_randomness = False
    available = True
    has_own_map = True

    def __init__(self, engine, randomness, parent=None) -> None:
        super().__init__(engine, randomness, parent)
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
        self.chooser.kindCombo.currentIndexChanged.connect(lambda _i: self._on_kind_changed())
        self.chooser.modelCombo.currentIndexChanged.connect(lambda _i: self.load_current())

    def on_bus(self, bus: RoomBus) -> None:
        self.view.set_bus(bus)   # the room's map opens points and shows the live star too

    def _on_kind_changed(self) -> None:
        self.chooser.fill_models(self.model_scan())
        self.load_current()

    def showEvent(self, event) -> None:  # noqa: N802 - Qt API
        super().showEvent(event)
        if not self._loaded_key:
            self.chooser.fill_models(self.model_scan(), prefer=IMAGE_MODEL)
            self.load_current()

    def load_current(self) -> None:
        kind, model = self.chooser.kind(), self.chooser.modelCombo.currentData()
        if not model:
            needs = {"image": "an image model with an atlas", "text": "a text model",
                     "music": f"the phrase VAE (models/music/{PHRASE_MODEL}) to encode melody "
                              "phrases; it is not installed"}[kind]
            self.view.set_status(f"The map needs {needs}.")
            self._loaded_key = f"{kind}:none"
            return
        key = f"{kind}:{model}"
        if key != self._loaded_key:
            self._loaded_key = key
            self.view.load(kind, model)

    def open_model(self, kind: str, model: str) -> None:
        """Show the map of ``model`` (a folder or a model name) of medium ``kind``."""
        index = self.chooser.kindCombo.findData(kind)
        self.chooser.kindCombo.blockSignals(True)
        self.chooser.kindCombo.setCurrentIndex(index)
        self.chooser.kindCombo.blockSignals(False)
        self.chooser.fill_models(self.model_scan())
        combo = self.chooser.modelCombo
        i = next((k for k in range(combo.count()) if combo.itemData(k) == str(model)
                  or Path(combo.itemData(k)).name == str(model)), -1)
        if i >= 0:
            self.chooser.modelCombo.setCurrentIndex(i)
        self.load_current()
