"""Draw a path on the map, morph along it and export it (GUI thread).

Waypoints are points (their codes) or empty-space positions (the latent under them). Image
maps morph with ``DecodePathJob`` (linear steps between waypoints, ends included) and export
an animated GIF; phrase maps export the waypoint phrases one after another as a MIDI file;
word maps list the nearest word at each step of the path.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PySide6.QtCore import Qt
from PySide6.QtWidgets import (QFileDialog, QHBoxLayout, QLabel, QPushButton, QSlider, QSpinBox,
                               QVBoxLayout, QWidget)

from desktop_app.core.errors import ReverieError
from desktop_app.core.events import Cancelled, Event, Failed, Finished, ImageReady
from desktop_app.core.explore import MapData, path_latents
from desktop_app.core.imaging import DecodePathJob
from desktop_app.ui.explore.preview import pixmap_from_pixels


class PathTool(QWidget):
    """Waypoints, the morph along them and its export (objectName ``pathTool``)."""

    def __init__(self, view, engine) -> None:
        super().__init__(view)
        self.setObjectName("pathTool")
        self.view, self.engine = view, engine
        self.data: MapData | None = None
        self.waypoints: list[tuple[int, np.ndarray, np.ndarray]] = []  # (index, latent, xy)
        self.frames: list[np.ndarray] = []
        self._job = None
        self.drawButton = QPushButton("Draw path", self)
        self.drawButton.setObjectName("drawPathButton")
        self.drawButton.setCheckable(True)
        self.drawButton.setToolTip("While on, each click on the map adds a waypoint")
        self.clearButton = QPushButton("Clear", self)
        self.stepsSpin = QSpinBox(self)
        self.stepsSpin.setObjectName("pathStepsSpin")
        self.stepsSpin.setRange(1, 60)
        self.stepsSpin.setValue(8)
        self.stepsSpin.setPrefix("steps ")
        self.morphButton = QPushButton("Morph along path", self)
        self.morphButton.setObjectName("morphPathButton")
        self.exportButton = QPushButton("Export…", self)
        self.exportButton.setObjectName("exportPathButton")
        self.scrubber = QSlider(Qt.Orientation.Horizontal, self)
        self.scrubber.setObjectName("pathScrubber")
        self.frame = QLabel(self)
        self.frame.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.info = QLabel("Turn on Draw path, click points or empty space, then Morph.", self)
        self.info.setWordWrap(True)
        row1, row2 = QHBoxLayout(), QHBoxLayout()
        row1.addWidget(self.drawButton)
        row1.addWidget(self.clearButton)
        row1.addWidget(self.stepsSpin)
        row2.addWidget(self.morphButton)
        row2.addWidget(self.exportButton)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        for part in (row1, row2):
            layout.addLayout(part)
        layout.addWidget(self.info)
        layout.addWidget(self.scrubber)
        layout.addWidget(self.frame, 1)
        self.drawButton.toggled.connect(self._on_draw_toggled)
        self.clearButton.clicked.connect(lambda: self.reset(self.data))
        self.morphButton.clicked.connect(self.morph)
        self.exportButton.clicked.connect(self._on_export_clicked)
        self.scrubber.valueChanged.connect(self._show_frame)

    def reset(self, data: MapData | None) -> None:
        self.data = data
        self.waypoints, self.frames = [], []
        self.scrubber.setRange(0, 0)
        self.frame.clear()
        self.view.latentMap.set_path([])
        self._update_buttons()

    def _update_buttons(self) -> None:
        kind = self.data.kind if self.data else ""
        self.morphButton.setEnabled(kind in ("image", "text") and len(self.waypoints) >= 2)
        self.exportButton.setEnabled((kind == "image" and bool(self.frames))
                                     or (kind == "music" and len(self.waypoints) >= 2))

    def _on_draw_toggled(self, on: bool) -> None:
        self.view.latentMap.drawing_path = on
        if on:
            self.view.tabs.setCurrentWidget(self)

    def add_waypoint(self, index: int, x: float, y: float) -> None:
        if self.data is None:
            return
        if index >= 0:
            z, xy = self.data.codes[index], self.view.xy[index]
        else:
            z, xy = self.view.latent_at(x, y), np.array([x, y], np.float32)
        self.waypoints.append((int(index), np.array(z, np.float32), np.array(xy, np.float32)))
        self.relayout()
        names = [self.data.names[i] if i >= 0 else "·" for i, _, _ in self.waypoints]
        self.info.setText(f"{len(self.waypoints)} waypoints: " + " → ".join(names[-6:]))
        self._update_buttons()

    def relayout(self) -> None:
        """Redraw the path after the map's layout changed (waypoints on points follow them)."""
        if self.data is None:
            return
        pts = [self.view.xy[i] if 0 <= i < len(self.view.xy) else xy
               for i, _, xy in self.waypoints]
        self.view.latentMap.set_path(pts)

    def latents(self) -> np.ndarray:
        return path_latents(np.stack([z for _, z, _ in self.waypoints]), self.stepsSpin.value())

    def word_walk(self) -> list[str]:
        """Text maps: the nearest word at each step of the path (repeats dropped)."""
        from desktop_app.core.projection import nearest_neighbours
        words: list[str] = []
        for z in self.latents():
            idx, _ = nearest_neighbours(self.data.codes, z, 1, "cosine")
            w = self.data.names[int(idx[0])]
            if not words or words[-1] != w:
                words.append(w)
        self.info.setText("Along the path: " + " → ".join(words))
        return words

    def morph(self) -> int | None:
        if self.data is not None and self.data.kind == "text" and len(self.waypoints) >= 2:
            self.word_walk()
            return None
        if self.data is None or self.data.kind != "image" or len(self.waypoints) < 2:
            self.info.setText("A morph needs at least two waypoints on an image map.")
            return None
        job = DecodePathJob(model=self.data.model, latents=self.latents())
        if self._job is not None:     # only our own previous morph (Imagine uses this job too)
            self.engine.cancel(self._job)
        self._job = job.job_id
        self.frames = []
        self.info.setText(f"Decoding {len(job.latents)} frames…")
        self.engine.submit(job)
        return job.job_id

    def on_engine_event(self, event: Event) -> None:
        if event.job_id != self._job:
            return
        if isinstance(event, ImageReady):
            self.frames.append(np.asarray(event.pixels))
        elif isinstance(event, Finished):
            self._job = None
            self.scrubber.setRange(0, max(len(self.frames) - 1, 0))
            self.scrubber.setValue(0)
            self._show_frame(0)
            self.info.setText(f"{len(self.frames)} frames along {len(self.waypoints)} "
                              f"waypoints — scrub, or Export… as a GIF")
        elif isinstance(event, (Failed, Cancelled)):
            self._job = None
            self.info.setText("The morph stopped: " + getattr(event, "message", "cancelled"))
        self._update_buttons()

    def _show_frame(self, i: int) -> None:
        if 0 <= i < len(self.frames):
            self.frame.setPixmap(pixmap_from_pixels(self.frames[i], 128))

    # -- export ------------------------------------------------------------------------------

    def export_gif(self, path: str | Path, ms_per_frame: int = 80) -> int:
        """Write the morph frames as an animated GIF; return the number of frames written."""
        from desktop_app.core.animation import save_animation
        if not self.frames:
            raise ReverieError("there is no morph to export yet; draw a path and press Morph")
        save_animation(path, [np.squeeze(f) for f in self.frames], duration_ms=ms_per_frame)
        return len(self.frames)

    def export_midi(self, path: str | Path) -> int:
        """Write the waypoint phrases one after another as a MIDI file; return the count."""
        from desktop_app.core.midi import write_midi
        melodies = [self.data.melodies[i] for i, _, _ in self.waypoints
                    if 0 <= i < len(self.data.melodies)]
        if len(melodies) < 2:
            raise ReverieError("a phrase path needs at least two phrases clicked on the map")
        notes, offset = [], 0.0
        for m in melodies:
            notes += [n.__class__(pitch=n.pitch, start=n.start + offset, duration=n.duration)
                      for n in m.notes]
            offset += max((n.start + n.duration for n in m.notes), default=0.0)
        from dataclasses import replace
        title = f"Explore path of {len(melodies)} phrases"      # MIDI text is latin-1
        write_midi(replace(melodies[0], notes=tuple(notes), title=title), path)
        return len(melodies)

    def _on_export_clicked(self) -> None:
        if self.data is None:
            return
        music = self.data.kind == "music"
        path, _ = QFileDialog.getSaveFileName(
            self, "Export the path", "explore-path.mid" if music else "explore-path.gif",
            "MIDI (*.mid)" if music else "GIF (*.gif)")
        if not path:
            return
        try:
            n = self.export_midi(path) if music else self.export_gif(path)
        except ReverieError as exc:
            self.info.setText(str(exc))
            return
        self.info.setText(f"Exported {n} {'phrases' if music else 'frames'} to {path}")
