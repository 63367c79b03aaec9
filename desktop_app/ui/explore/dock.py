"""The explorer as a side dock in Imagine, Compose and Write, and the links to the rooms.

GUI thread. :func:`install_explore` is the main window's one call: it adds the dock (hidden;
View → Explorer shows it), makes the dock follow the current room's model, routes
``ExploreBus.open_in_room`` to the rooms, and feeds the live link (the Imagine room's decoded
latent becomes the star on every map of that model).

Hooks the rooms can use directly: ``window.explore_bus.set_current_latent.emit(model, z)``.
Until the Imagine room emits it, the live link follows the ``ImageReady`` events of the
Imagine room's decode jobs (any ``ImageReady`` while Imagine is the current room).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PySide6.QtCore import Qt
from PySide6.QtGui import QGuiApplication
from PySide6.QtWidgets import QDockWidget, QMenu

from desktop_app.core.events import Finished, ImageReady
from desktop_app.ui.explore.panel import configured_scan
from desktop_app.ui.explore.view import ROOM_OF, ExploreBus, ExploreView

KIND_OF_ROOM = {"imagine": "image", "compose": "music", "write": "text"}


class ExploreDock(QDockWidget):
    """A compact explorer that follows the current room's model (objectName ``exploreDock``)."""

    def __init__(self, engine, bus: ExploreBus, parent=None) -> None:
        super().__init__("Explorer", parent)
        self.setObjectName("exploreDock")
        self.view = ExploreView(engine, bus, self, compact=True)
        self.setWidget(self.view)
        self._key = ""
        self._wanted: tuple[str, str] | None = None
        self.visibilityChanged.connect(lambda _v: self._load_wanted())

    def follow(self, kind: str | None, model: str | None) -> None:
        """Show the map of ``model`` (``kind`` image/music/text); loads when visible."""
        if kind == "music":
            vae = [m for m in configured_scan(self).of_kind("music") if m.name == "phrase-vae"]
            model = str(vae[0].path) if vae else None
        elif not model and kind:      # the room has not loaded one yet: its first usable one
            found = [m for m in configured_scan(self).of_kind(kind) if not m.problem
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
                "the phrase VAE (models/music/phrase-vae) is not installed" if kind == "music"
                else "choose one in the room first"))
            return
        if f"{kind}:{model}" != self._key:
            self._key = f"{kind}:{model}"
            self.view.load(kind, model)
        elif self.view.data is not None:      # back to the map already shown
            self.view.set_status(f"{Path(self.view.data.model).name}: {self.view.data.note}")


def _room_model(panel) -> str | None:
    model = getattr(panel, "model_dir", None)
    return str(model) if model else None


def install_explore(window) -> ExploreBus:
    """Add the explorer dock, the View menu entry and the room links to ``window``."""
    bus = ExploreBus(window)
    window.explore_bus = bus
    explore = window.panel("explore")
    if hasattr(explore, "view"):          # the room's own view shares the bus
        explore.bus = explore.view.bus = bus
        bus.set_current_latent.connect(explore.view.set_current_latent)
    dock = ExploreDock(window.engine, bus, window)
    dock.setAllowedAreas(Qt.DockWidgetArea.LeftDockWidgetArea
                         | Qt.DockWidgetArea.RightDockWidgetArea)
    window.addDockWidget(Qt.DockWidgetArea.RightDockWidgetArea, dock)
    dock.hide()
    window.explore_dock = dock
    action = dock.toggleViewAction()
    action.setText("&Explorer (side map)")
    action.setObjectName("exploreDockAction")
    view_menu = window.menuBar().findChild(QMenu, "viewMenu")
    if view_menu is not None:
        view_menu.addAction(action)
    pending: dict = {}

    def on_room_changed(_row: int) -> None:
        panel = window.current_panel()
        kind = KIND_OF_ROOM.get(panel.room_id)
        if kind:
            dock.follow(kind, _room_model(panel))
            z = getattr(panel, "current_latent", None)
            if kind == "image" and z is not None and _room_model(panel):
                bus.set_current_latent.emit(_room_model(panel), z)
        elif panel.room_id == "explore":
            dock.hide()

    def on_open(kind: str, payload: dict) -> None:
        room = ROOM_OF.get(kind, "")
        if room not in [p.room_id for p in window.panels]:
            return
        window.show_room(room)
        panel = window.panel(room)
        if kind == "image" and hasattr(panel, "set_base"):
            if Path(str(_room_model(panel) or "")).name == Path(str(payload["model"])).name:
                panel.set_base(np.asarray(payload["latent"], np.float32),
                               f"Explore: {payload.get('name', '')}", "Open from the map")
            elif hasattr(panel, "request_model"):
                pending["image"] = payload
                panel.request_model(payload["model"])
        elif kind == "music" and payload.get("melody") is not None \
                and hasattr(getattr(panel, "pianoRoll", None), "set_melody"):
            panel.pianoRoll.set_melody(payload["melody"], "Open phrase from the map")
        elif kind == "text" and payload.get("word"):
            QGuiApplication.clipboard().setText(payload["word"])
            window.status.showMessage(f"“{payload['word']}” is on the clipboard — paste it "
                                      f"into your draft.", 6000)

    def on_event(event) -> None:
        current = window.current_panel()
        if isinstance(event, ImageReady) and current.room_id == "imagine" \
                and event.latent is not None and _room_model(current):
            bus.set_current_latent.emit(_room_model(current), event.latent)
        if isinstance(event, Finished) and "image" in pending:
            panel = window.panel("imagine")
            payload = pending["image"]
            if Path(str(_room_model(panel) or "")).name == Path(str(payload["model"])).name:
                pending.pop("image")
                panel.set_base(np.asarray(payload["latent"], np.float32),
                               f"Explore: {payload.get('name', '')}", "Open from the map")

    window.room_bar.currentRowChanged.connect(on_room_changed)
    bus.open_in_room.connect(on_open)
    window.engine.event.connect(on_event)
    return bus

