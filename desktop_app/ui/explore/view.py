"""The explorer widget shared by the Explore room and the side docks (GUI thread).

It asks the engine for a model's map data (``BuildMapJob``), lays it out (PCA here at once;
t-SNE in the engine, cached; or two attribute directions: :mod:`.projections`), and turns
clicks into requests: a point -> decode / open that item; empty space -> decode the latent
under the cursor (the plane through the mean for PCA and attribute axes, a blend of the
nearest points for t-SNE); a drawn path -> a morph (``path.PathTool``). Opening a point
goes out on the room bus (:mod:`desktop_app.ui.room_bus`).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (QHBoxLayout, QLabel, QPushButton, QScrollArea, QSizePolicy,
                               QSplitter, QTabWidget, QVBoxLayout, QWidget)

from desktop_app.core import projection as pj
from desktop_app.core.events import Cancelled, Event, Failed, Finished, ImageReady
from desktop_app.core.explore import BuildMapJob, MapData
from desktop_app.core.imaging import DecodeLatentJob
from desktop_app.ui.explore.controls import PCA, TSNE, Bookmarks, MapControls, NeighboursBox
from desktop_app.ui.explore.latent_map import LatentMap
from desktop_app.ui.explore.lookup import LookupMixin
from desktop_app.ui.explore.path import PathTool
from desktop_app.ui.explore.projections import ProjectionsMixin
from desktop_app.ui.explore.preview import (HoverCard, piano_roll_pixmap, pixmap_from_pixels)
from desktop_app.ui.explore.text_words import AnalogyBox
from desktop_app.ui.room_bus import RoomBus

def breakable(text: str) -> str:
    """``text`` with zero-width spaces after / \\ _ so a long path can wrap: an unbreakable
    path in a word-wrapped label sets its minimum width, and that widened the whole window past
    the screen (issue 20 #13)."""
    for ch in "/\\_":
        text = text.replace(ch, ch + "\u200b")
    return text


def _wrap_without_widening(label: QLabel) -> None:
    """Word-wrap ``label`` and never let its text ask the window for more width."""
    label.setWordWrap(True)
    label.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
    label.setMinimumWidth(1)

class ExploreView(ProjectionsMixin, LookupMixin, QWidget):
    """Map + controls + preview for one model at a time. GUI thread only."""

    #: Emitted with the latent (or word) that a click asked to decode, before submitting.
    decodeRequested = Signal(object)
    message = Signal(str)

    def __init__(self, engine, bus: RoomBus | None = None, parent=None,
                 compact: bool = False) -> None:
        super().__init__(parent)
        self.engine = engine
        self.bus = bus or RoomBus(self)
        self.data: MapData | None = None
        self.xy = np.zeros((0, 2), np.float32)
        self.linear: pj.LinearMap | None = None
        self.method = PCA
        self.selected: int | None = None
        self.decoded_latent: np.ndarray | None = None
        self._jobs: dict[int, str] = {}
        self._map_job = self._project_job = self._decode_job = None
        self._tsne_xy: np.ndarray | None = None
        self._live: tuple[str, np.ndarray] | None = None     # the rooms' current latent
        self._build_ui(compact)
        engine.event.connect(self._on_engine_event)
        self.bus.set_current_latent.connect(self.set_current_latent)

    def set_bus(self, bus: RoomBus) -> None:
        """Open points through ``bus`` and follow the latent the rooms announce on it."""
        self.bus.set_current_latent.disconnect(self.set_current_latent)
        self.bus = bus
        bus.set_current_latent.connect(self.set_current_latent)

    # -- layout ------------------------------------------------------------------------------

    def _build_ui(self, compact: bool) -> None:
        self.latentMap = LatentMap(self)
        self.controls = MapControls(self)
        self.neighbours = NeighboursBox(self)
        self.bookmarks = Bookmarks(self)
        self.analogy = AnalogyBox(self)
        self.path = PathTool(self, self.engine)
        self.preview = QLabel(self)
        self.preview.setObjectName("explorePreview")
        self.preview.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.preview.setMinimumSize(160, 160 if not compact else 96)
        self.info = QLabel("", self)
        self.info.setObjectName("exploreInfo")
        _wrap_without_widening(self.info)
        self.openButton = QPushButton("Open in its room", self)
        self.openButton.setObjectName("openInRoomButton")
        self.openButton.setToolTip("Open the selected point in Imagine, Compose or Write "
                                   "(or double-click it on the map)")
        self.openButton.setEnabled(False)
        self.openButton.clicked.connect(lambda: self.selected is not None
                                        and self.open_point(self.selected))
        self.hover = HoverCard(self.latentMap)
        tabs = QTabWidget(self)
        tabs.addTab(self.neighbours, "Neighbours")
        tabs.addTab(self.path, "Path")
        tabs.addTab(self.bookmarks, "Bookmarks")
        self.tabs = tabs
        side = QWidget(self)
        s = QVBoxLayout(side)
        s.setContentsMargins(6, 0, 0, 0)
        s.addWidget(self.controls)
        s.addWidget(self.preview)
        s.addWidget(self.info)
        s.addWidget(self.openButton)
        s.addWidget(self.analogy)
        s.addWidget(tabs, 1)
        self.status = QLabel("", self)
        self.status.setObjectName("mapStatus")
        _wrap_without_widening(self.status)
        left = QWidget(self)
        ll = QVBoxLayout(left)
        ll.setContentsMargins(0, 0, 0, 0)
        ll.addWidget(self.status)
        ll.addWidget(self.latentMap, 1)
        if compact:                   # a dock: the map first, the controls below it
            self.preview.setMinimumSize(72, 72)
            self.preview.setMaximumHeight(96)
            scroll = QScrollArea(self)
            scroll.setWidgetResizable(True)
            scroll.setFrameShape(QScrollArea.Shape.NoFrame)
            scroll.setWidget(side)
            side.setMinimumHeight(520)
            split = QSplitter(Qt.Orientation.Vertical, self)
            split.addWidget(left)
            split.addWidget(scroll)
            split.setStretchFactor(0, 3)
            split.setStretchFactor(1, 2)
            split.setSizes([420, 380])
            left.setMinimumHeight(260)
            layout = QVBoxLayout(self)
            layout.setContentsMargins(4, 4, 4, 4)
            layout.addWidget(split)
        else:
            split = QSplitter(Qt.Orientation.Horizontal, self)
            split.addWidget(left)
            split.addWidget(side)
            split.setStretchFactor(0, 3)
            split.setStretchFactor(1, 1)
            split.setSizes([700, 300])
            layout = QHBoxLayout(self)
            layout.setContentsMargins(0, 0, 0, 0)
            layout.addWidget(split)
        self.analogy.hide()
        c = self.controls
        c.projectionCombo.currentTextChanged.connect(self._on_projection_changed)
        c.xAxisCombo.currentTextChanged.connect(lambda _t: self._on_axes_changed())
        c.yAxisCombo.currentTextChanged.connect(lambda _t: self._on_axes_changed())
        c.colourByCombo.currentTextChanged.connect(lambda _t: self._recolour())
        c.latentSearch.textChanged.connect(self._on_search_changed)
        c.latentSearch.returnPressed.connect(self._on_search_return)
        self.neighbours.metricChanged.connect(lambda _m: self._show_neighbours())
        self.neighbours.neighbourActivated.connect(self.select_point)
        self.latentMap.pointClicked.connect(self.select_point)
        self.latentMap.pointDoubleClicked.connect(self.open_point)
        self.latentMap.emptyClicked.connect(self.decode_at)
        self.latentMap.pointHovered.connect(self._on_point_hovered)
        self.latentMap.waypointAdded.connect(self.path.add_waypoint)
        c.cancelButton.clicked.connect(self.cancel_projection)
        self.bookmarks.addPointRequested.connect(self._on_bookmark_point)
        self.bookmarks.addViewRequested.connect(self._on_bookmark_view)
        self.bookmarks.bookmarkActivated.connect(self._on_bookmark_activated)

    def set_status(self, text: str) -> None:
        self.status.setText(breakable(text))
        self.status.setToolTip(text if len(text) > 80 else "")
        if text:
            self.message.emit(text)

    # -- loading -----------------------------------------------------------------------------

    def load(self, kind: str, model: str) -> None:
        """Ask the engine for the map of ``model`` (a name or folder); the old map stays
        until the new one arrives."""
        # Never supersede by group: the room and the dock each have a map, and one must not
        # cancel the other's. Each view cancels only its own previous request.
        if self._map_job is not None:
            self.engine.cancel(self._map_job)
        job = BuildMapJob(kind=kind, model=str(model))
        self._map_job = job.job_id
        self.set_status(f"Building the map of {Path(str(model)).name}…")
        self.engine.submit(job)

    def set_map(self, data: MapData) -> None:
        """Show ``data`` (called when ``BuildMapJob`` finishes; tests may call it directly)."""
        self.data = data
        self.selected = None
        self.linear = None
        # Nothing of the previous map may stay: its neighbours, its room on the button, its
        # hover card and the live-link star (they described points that no longer exist).
        self.openButton.setEnabled(False)
        self.openButton.setText("Open in its room")
        self.neighbours.show_neighbours("", [])
        self.hover.hide()
        self.latentMap.set_current(None)
        self._tsne_xy = None
        self.path.reset(data)
        c = self.controls
        for combo, items in ((c.colourByCombo, ["(none)", *data.categories]),
                             (c.xAxisCombo, list(data.directions)),
                             (c.yAxisCombo, list(data.directions))):
            combo.blockSignals(True)
            combo.clear()
            combo.addItems(items)
            combo.blockSignals(False)
        if len(data.directions) > 1:
            c.yAxisCombo.setCurrentIndex(1)
        if data.categories:
            c.colourByCombo.setCurrentIndex(1)
        self.analogy.setVisible(data.kind == "text")
        if data.kind == "text":
            self.analogy.set_words(data.codes, data.names)
        self.bookmarks.set_model(f"{data.kind}:{data.model}")
        self.preview.clear()
        self.info.setText(data.note)
        self.method = ""
        wanted = c.projectionCombo.currentText()
        if wanted == TSNE:      # PCA at once, so the old map's points never stand for new data
            self._on_projection_changed(PCA)
            if self.method:
                self._on_projection_changed(TSNE)
        else:
            self._on_projection_changed(wanted)

    # -- clicks ------------------------------------------------------------------------------

    def select_point(self, index: int) -> None:
        """Select item ``index``: preview, neighbours, and decode it (images)."""
        if self.data is None or not 0 <= index < len(self.data):
            return
        self.selected = int(index)
        self.latentMap.select(index)
        self.openButton.setEnabled(True)
        room = self.bus.room_title(self.data.kind)
        self.openButton.setText(f"Open in {room}" if room else "Open in its room")
        d = self.data
        name = d.names[index]
        if d.kind == "image":
            if d.thumbs is not None:
                self.preview.setPixmap(pixmap_from_pixels(d.thumbs[index], 128))
            self._decode(d.codes[index], f"“{name}” — decoding its latent… double-click or "
                                         f"Open to edit it in Imagine")
        elif d.kind == "music" and index < len(d.melodies):
            self.preview.setPixmap(piano_roll_pixmap(d.melodies[index], 200, 96))
            self.decodeRequested.emit(d.codes[index])
            self.info.setText(f"Phrase “{name}” — double-click to open it in Compose")
        else:
            self.decodeRequested.emit(name)
            self.preview.setText(f"<span style='font-size:22pt'>{name}</span>")
            self.info.setText(f"Word “{name}” — its neighbours are the words whose embeddings "
                              f"the model placed nearest")
        self._show_neighbours()

    def open_point(self, index: int) -> None:
        """Open item ``index`` in its room (through the bus)."""
        if self.data is None or not 0 <= index < len(self.data):
            return
        d = self.data
        payload = {"model": d.model, "name": d.names[index]}
        if d.kind == "image":
            payload["latent"] = np.array(d.codes[index], np.float32)
        elif d.kind == "music" and index < len(d.melodies):
            payload["melody"] = d.melodies[index]
        else:
            payload["word"] = d.names[index]
        self.bus.open_in_room.emit(d.kind, payload)

    def latent_at(self, x: float, y: float) -> np.ndarray:
        """The latent under map position (x, y): the plane's inverse for linear maps, else a
        blend of the three nearest points' codes."""
        if self.linear is not None:
            return self.linear.inverse((x, y))
        return pj.blend_inverse(self.xy, self.data.codes, (x, y), k=3)

    def decode_at(self, x: float, y: float) -> None:
        if self.data is None or len(self.xy) != len(self.data):
            return
        z = self.latent_at(x, y)
        how = ("on the plane through the mean" if self.linear is not None else
               "blended from the 3 nearest points (t-SNE has no inverse)")
        self.latentMap.select(None)
        self.selected = None
        self.openButton.setEnabled(False)
        if self.data.kind == "image":
            self._decode(z, f"Empty space at ({x:.2f}, {y:.2f}): the latent {how}")
        else:
            idx, dist = pj.nearest_neighbours(self.data.codes, z, 1, self.neighbours.metric())
            word = self.data.names[int(idx[0])]
            self.decodeRequested.emit(z)
            self.info.setText(f"Empty space at ({x:.2f}, {y:.2f}): nearest item to the latent "
                              f"{how} is “{word}”")
            self._show_neighbours(z, f"({x:.1f}, {y:.1f})")

    def _decode(self, z: np.ndarray, text: str) -> None:
        z = np.array(z, np.float32)
        self.decodeRequested.emit(z)
        self.info.setText(text)
        job = DecodeLatentJob(model=self.data.model, latent=z)
        if self._decode_job is not None:      # our own previous decode only: a group
            self.engine.cancel(self._decode_job)   # supersede would cancel Imagine's decodes
        self._decode_job = job.job_id
        self.engine.submit(job)

    # -- engine events -----------------------------------------------------------------------

    def _on_engine_event(self, event: Event) -> None:
        jid = event.job_id
        if jid == self._map_job:
            self._on_map_event(event)
        elif jid == self._project_job:
            self._on_project_event(event)
        elif jid == self._decode_job:
            if isinstance(event, ImageReady):
                self.decoded_latent = np.array(event.latent, np.float32)
                self.preview.setPixmap(pixmap_from_pixels(event.pixels, 160))
                self.info.setText(self.info.text().replace("decoding its latent…",
                                                           "decoded from its latent;"))
            elif isinstance(event, Failed):
                self.set_status(f"The point could not be decoded: {event.message}")
        else:
            self.path.on_engine_event(event)

    def _on_map_event(self, event: Event) -> None:
        if isinstance(event, Finished):
            self._map_job = None
            self.set_map(event.result)
        elif isinstance(event, Failed):
            self._map_job = None
            self.set_status(f"No map: {event.message}")
        elif isinstance(event, Cancelled):
            self._map_job = None
            self.set_status("Building the map was cancelled." if self.data is None else
                            "Building the new map was cancelled; this map stays.")
