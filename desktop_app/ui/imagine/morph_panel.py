"""Morph controls (objectName ``morphPanel``): A and B, frames, path, scrubber, export.

GUI thread only. A and B each hold a latent and its picture; they are set from the current
image, from a grid cell (its context menu), or from a picture file (button, or drop the file on
the A / B thumbnail; the panel encodes it). "Make morph" asks the panel for the frames
(``make_requested``); they arrive through :meth:`set_frame`. The scrubber shows any frame at
once; "Use this frame" hands its latent to the room. Export writes an animated GIF, an
animated WebP or a folder of numbered PNG frames, optionally ping-pong (A → B → A).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (QCheckBox, QComboBox, QFileDialog, QFormLayout, QGridLayout,
                               QHBoxLayout, QLabel, QMenu, QProgressBar, QPushButton, QSizePolicy, QSlider,
                               QSpinBox, QToolButton, QVBoxLayout, QWidget)

from desktop_app.core.errors import ReverieError
from desktop_app.ui.imagine.image_view import ImageView
from desktop_app.core.animation import save_animation, save_frames
from desktop_app.ui.imagine.png_meta import ping_pong
from desktop_app.ui.widgets.elided_label import ElidedLabel

METHODS = (("Spherical (slerp)", "slerp"), ("Linear (lerp)", "lerp"))


class MorphEnd:
    """One end of the morph: a latent, its picture and where it came from."""

    def __init__(self) -> None:
        self.latent: np.ndarray | None = None
        self.pixels: np.ndarray | None = None
        self.source = ""


class MorphPanel(QWidget):
    """The morph tab of the Imagine room."""

    make_requested = Signal()
    end_requested = Signal(str, str)          # "A"/"B", "current" | "file"
    end_file_dropped = Signal(str, str)       # "A"/"B", path
    frame_chosen = Signal(object)             # latent of the scrubbed frame
    message = Signal(str)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("morphPanel")
        self.setAccessibleName("Morph")
        self.ends = {"A": MorphEnd(), "B": MorphEnd()}
        self.frames: list[np.ndarray | None] = []
        self.latents: list[np.ndarray | None] = []
        self._views: dict[str, ImageView] = {}
        self._captions: dict[str, QLabel] = {}
        self.last_export: Path | None = None
        self._build()

    # -- building ----------------------------------------------------------------------------
    def _end_box(self, which: str) -> QWidget:
        box = QWidget(self)
        col = QVBoxLayout(box)
        col.setContentsMargins(0, 0, 0, 0)
        view = ImageView(box, name=f"morphEnd{which}", placeholder=f"{which}: drop a picture",
                         thumbnail=True)
        view.setMinimumSize(96, 96)
        view.setAccessibleName(f"Morph {'start' if which == 'A' else 'end'} ({which})")
        view.file_dropped.connect(lambda p, w=which: self.end_file_dropped.emit(w, p))
        # one elided line (the whole text in its tooltip): a caption that wrapped to two lines
        # once A was set pushed A's buttons down, so a click meant for the row missed
        caption = ElidedLabel(f"{which}: not set", box)
        caption.setObjectName(f"morph{which}Caption")
        caption.setAlignment(Qt.AlignmentFlag.AlignCenter)
        caption.setFixedHeight(caption.fontMetrics().lineSpacing() + 4)
        # and its text never widens its column (which pushed B's buttons sideways)
        caption.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Fixed)
        # short: two of these side by side set the Imagine room's minimum width, and "current
        # image" made it overflow a 1366-pixel laptop screen's first window by 31 px
        current = QPushButton(f"{which} ← current", box)
        current.setObjectName(f"morph{which}FromCurrentButton")
        current.setAccessibleName(f"Set {which} from the current image")
        current.setToolTip(f"Use the current image (the large view) as {which}")
        current.clicked.connect(lambda _=False, w=which: self.end_requested.emit(w, "current"))
        file_button = QToolButton(box)
        file_button.setText(f"{which} from a file…")
        file_button.setObjectName(f"morph{which}FromFileButton")
        file_button.setToolTip(f"Encode a picture file as {which} (or drop it on the thumbnail)")
        file_button.clicked.connect(lambda _=False, w=which: self.end_requested.emit(w, "file"))
        file_button.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextOnly)
        file_button.setSizePolicy(current.sizePolicy())
        col.addWidget(view)
        col.addWidget(caption)
        col.addWidget(current)
        col.addWidget(file_button)
        self._views[which], self._captions[which] = view, caption
        return box

    def _build(self) -> None:
        ends = QGridLayout()
        ends.addWidget(self._end_box("A"), 0, 0)
        ends.addWidget(self._end_box("B"), 0, 1)
        ends.setColumnStretch(0, 1)
        ends.setColumnStretch(1, 1)
        self.framesSpin = QSpinBox(self, objectName="morphFramesSpin", minimum=2, maximum=120,
                                   value=24)
        self.framesSpin.setToolTip("Frames in the morph, A and B included (2–120)")
        self.methodCombo = QComboBox(self, objectName="morphMethodCombo")
        for label, key in METHODS:
            self.methodCombo.addItem(label, key)
        self.methodCombo.setToolTip("Spherical keeps the in-between images as crisp as the ends; "
                                    "linear is a straight line (often greyer in the middle)")
        self.pingPongCheck = QCheckBox("Ping-pong (A → B → A)", self, objectName="pingPongCheck")
        self.durationSpin = QSpinBox(self, objectName="morphDurationSpin", minimum=20,
                                     maximum=2000, value=80, suffix=" ms")
        self.durationSpin.setToolTip("How long each frame shows in an exported animation")
        form = QFormLayout()
        form.addRow("Frames", self.framesSpin)
        form.addRow("Path", self.methodCombo)
        form.addRow("Frame time", self.durationSpin)
        form.addRow("", self.pingPongCheck)
        self.makeButton = QPushButton("Make morph", self, objectName="makeMorphButton")
        self.makeButton.clicked.connect(self.make_requested)
        self.progress = QProgressBar(self, objectName="morphProgress", maximumHeight=10,
                                     textVisible=False)
        self.progress.hide()
        self.preview = ImageView(self, name="morphPreview", placeholder="Set A and B, then "
                                 "make the morph.", thumbnail=True)
        self.scrubber = QSlider(Qt.Orientation.Horizontal, self, objectName="morphScrubber")
        self.scrubber.setAccessibleName("Morph frame")
        self.scrubber.setEnabled(False)
        self.scrubber.valueChanged.connect(self._on_scrubber_value_changed)
        self.frameLabel = QLabel("", self)
        self.useFrameButton = QPushButton("Use this frame", self, objectName="useFrameButton")
        self.useFrameButton.setToolTip("Make the scrubbed frame the current image")
        self.useFrameButton.setEnabled(False)
        self.useFrameButton.clicked.connect(self._on_use_frame_clicked)
        self.exportButton = QPushButton("Export…", self, objectName="exportMorphButton")
        self.exportButton.setEnabled(False)
        menu = QMenu(self.exportButton)
        menu.addAction("Animated GIF…", lambda: self.export_dialog("gif"))
        menu.addAction("Animated WebP…", lambda: self.export_dialog("webp"))
        menu.addAction("Folder of PNG frames…", lambda: self.export_dialog("frames"))
        self.exportButton.setMenu(menu)
        scrub_row = QHBoxLayout()
        scrub_row.addWidget(self.scrubber, 1)
        scrub_row.addWidget(self.frameLabel)
        buttons = QHBoxLayout()
        buttons.addWidget(self.useFrameButton)
        buttons.addStretch(1)
        buttons.addWidget(self.exportButton)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addLayout(ends)
        layout.addLayout(form)
        layout.addWidget(self.makeButton)
        layout.addWidget(self.progress)
        layout.addWidget(self.preview, 1)
        layout.addLayout(scrub_row)
        layout.addLayout(buttons)

    # -- ends --------------------------------------------------------------------------------
    def set_end(self, which: str, latent, pixels, source: str) -> None:
        end = self.ends[which]
        end.latent = np.array(latent, np.float32, copy=True)
        end.pixels = None if pixels is None else np.array(pixels, np.uint8)
        end.source = source
        self._views[which].set_image(end.pixels)
        self._captions[which].setText(f"{which}: {source}")
        self._captions[which].setToolTip(source)

    def clear_ends(self) -> None:
        for which, end in self.ends.items():
            end.latent = end.pixels = None
            end.source = ""
            self._views[which].set_image(None)
            self._captions[which].setText(f"{which}: not set")
        self.clear_frames()

    def ready(self) -> bool:
        return all(e.latent is not None for e in self.ends.values())

    def method(self) -> str:
        return self.methodCombo.currentData()

    # -- frames ------------------------------------------------------------------------------
    def start_frames(self, count: int) -> None:
        self.frames = [None] * count
        self.latents = [None] * count
        self.progress.setRange(0, count)
        self.progress.setValue(0)
        self.progress.show()
        self.makeButton.setEnabled(False)
        self.scrubber.setEnabled(False)
        self.exportButton.setEnabled(False)

    def set_frame(self, index: int, pixels, latent) -> None:
        if 0 <= index < len(self.frames):
            self.frames[index] = np.array(pixels, np.uint8)
            self.latents[index] = np.array(latent, np.float32)
            self.progress.setValue(sum(f is not None for f in self.frames))
            if index == 0 or not self.scrubber.isEnabled():
                self.preview.set_image(self.frames[index])

    def finish_frames(self, ok: bool) -> None:
        self.progress.hide()
        self.makeButton.setEnabled(True)
        done = [f for f in self.frames if f is not None]
        if not ok or len(done) != len(self.frames):
            self.frames = [f for f in self.frames if f is not None]
            self.latents = [z for z in self.latents if z is not None]
        has = bool(self.frames)
        self.scrubber.setEnabled(has)
        self.exportButton.setEnabled(has)
        self.useFrameButton.setEnabled(has)
        self.scrubber.setRange(0, max(0, len(self.frames) - 1))
        self.scrubber.setValue(0)
        self._on_scrubber_value_changed(0)

    def clear_frames(self) -> None:
        self.frames, self.latents = [], []
        self.preview.set_image(None)
        self.scrubber.setEnabled(False)
        self.exportButton.setEnabled(False)
        self.useFrameButton.setEnabled(False)
        self.frameLabel.setText("")

    def show_frame(self, index: int) -> None:
        self.scrubber.setValue(index)

    def export_frames(self) -> list[np.ndarray]:
        frames = list(self.frames)
        return ping_pong(frames) if self.pingPongCheck.isChecked() and len(frames) > 2 else frames

    # -- export ------------------------------------------------------------------------------
    def export_dialog(self, kind: str) -> None:
        if kind == "frames":
            chosen = QFileDialog.getExistingDirectory(self, "Export the morph frames into")
        else:
            filt = "Animated GIF (*.gif)" if kind == "gif" else "Animated WebP (*.webp)"
            chosen, _ = QFileDialog.getSaveFileName(self, "Export the morph", f"morph.{kind}",
                                                    filt)
            if chosen and not chosen.lower().endswith(f".{kind}"):
                chosen += f".{kind}"
        if chosen:
            self.export_to(chosen, scale=4 if kind != "frames" else 1)

    def export_to(self, path: str, *, scale: int = 1) -> bool:
        """Write the morph to ``path`` (.gif / .webp, or a folder); False with a message if not."""
        target = Path(path)
        frames = self.export_frames()
        try:
            if target.suffix.lower() in (".gif", ".webp"):
                save_animation(target, frames, duration_ms=self.durationSpin.value(), scale=scale)
            else:
                save_frames(target, frames, scale=scale)
        except ReverieError as exc:
            self.message.emit(f"The morph was not exported: {exc}")
            return False
        self.last_export = target
        self.message.emit(f"Exported {len(frames)} frames to {target}")
        return True

    # -- handlers ----------------------------------------------------------------------------
    def _on_scrubber_value_changed(self, index: int) -> None:
        if 0 <= index < len(self.frames) and self.frames[index] is not None:
            self.preview.set_image(self.frames[index])
            self.frameLabel.setText(f"{index + 1} / {len(self.frames)}")

    def _on_use_frame_clicked(self) -> None:
        i = self.scrubber.value()
        if 0 <= i < len(self.latents) and self.latents[i] is not None:
            self.frame_chosen.emit(self.latents[i])
