"""The explorer as a side dock beside Imagine, Compose and Write (View → Explorer).

GUI thread. The main window adds the dock (hidden until View → Explorer shows it) and tells it
which model the current room uses (:meth:`ExploreDock.follow`); the dock's map shares the
window's room bus, so it opens points in their rooms and draws the star where the Imagine
room's current latent falls.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtWidgets import QDockWidget

from desktop_app.core.model_registry import ModelScan
from desktop_app.core.paths import PHRASE_MODEL
from desktop_app.ui.explore.view import ExploreView
from desktop_app.ui.room_bus import RoomBus


class ExploreDock(QDockWidget):
    """A compact explorer that follows the current room's model (objectName ``exploreDock``)."""

    def __init__(self, engine, bus: RoomBus, parent=None) -> None:
        super().__init__("Explorer", parent)
        self.setObjectName("exploreDock")
        self.view = ExploreView(engine, bus, self, compact=True)
        self.setWidget(self.view)
        self._key = ""
        self._wanted: tuple[str, str] | None = None
        self.visibilityChanged.connect(lambda _v: self._load_wanted())

    def follow(self, kind: str | None, model: str | None, scan: ModelScan) -> None:
        """Show the map of ``model`` (``kind`` image/music/text; ``scan``: the models the
        window knows); loads when visible."""
        if kind == "music":
            vae = [m for m in scan.of_kind("music") if m.name == PHRASE_MODEL]
            model = str(vae[0].path) if vae else None
        elif not model and kind:      # the room has not loaded one yet: its first usable one
            found = [m for m in scan.of_kind(kind) if not m.problem
                     and (kind != "image" or (m.path / "atlas.json").is_file())]
            model = str(found[0].path) if found else None
        if not kind:
            return
        self._wanted = (kind, model or "")
        self._load_wanted()

    def _load_wanted(self) -> None:
        if not self.isVisible() or self._wanted is None:
            return
        kind, model = self._wanted
        if not model:
            self.view.set_status(f"The {kind} map needs a model: " + (
                f"the phrase VAE (models/music/{PHRASE_MODEL}) is not installed" if kind == "music"
                else "choose one in the room first"))
            return
        if f"{kind}:{model}" != self._key:
            self._key = f"{kind}:{model}"
            self.view.load(kind, model)
        elif self.view.data is not None:      # back to the map already shown
            self.view.set_status(f"{Path(self.view.data.model).name}: {self.view.data.note}")
