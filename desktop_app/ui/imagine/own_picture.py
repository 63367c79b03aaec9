""""Your picture" (objectName ``ownPicture``): open or drop an image to edit it. GUI thread only.

The panel encodes the picture (``EncodePictureJob``); this widget then shows it as the model
saw it beside its reconstruction, with the per-pixel error and what was converted on the way
(CMYK, palette, 16-bit, transparency, the first frame of an animation). From then on the
latent sliders edit the encoded picture.
"""

from __future__ import annotations

import math
from pathlib import Path

from PySide6.QtCore import Signal
from PySide6.QtWidgets import QFileDialog, QGridLayout, QLabel, QPushButton, QVBoxLayout, QWidget

from desktop_app.ui.imagine.image_view import ImageView
from desktop_app.ui.widgets.error_label import error_html

OPEN_FILTER = ("Pictures (*.png *.jpg *.jpeg *.webp *.gif *.bmp *.tif *.tiff);;All files (*)")


def quality_word(mse: float) -> str:
    """A plain-language reading of a reconstruction's per-pixel MSE."""
    if mse < 0.005:
        return "very close"
    if mse < 0.015:
        return "close"
    if mse < 0.04:
        return "rough"
    return "far off (the model has not seen pictures like this)"


class OwnPicture(QWidget):
    """Open / drop a picture; original beside reconstruction, error and notes."""

    open_requested = Signal(str)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("ownPicture")
        self.setAccessibleName("Your picture")
        intro = QLabel("Open or drop a picture: the model encodes it, shows how close its "
                       "reconstruction comes, and the sliders then edit it.", self)
        intro.setWordWrap(True)
        self.openButton = QPushButton("Open a picture…", self, objectName="openPictureButton")
        self.openButton.clicked.connect(self.open_dialog)
        self.originalView = ImageView(self, name="ownOriginalView", placeholder="Drop a picture "
                                      "here", thumbnail=True)
        self.originalView.setAccessibleName("Your picture as the model sees it")
        self.reconView = ImageView(self, name="ownReconstructionView", thumbnail=True)
        self.reconView.setAccessibleName("Reconstruction")
        for view in (self.originalView, self.reconView):
            view.setMinimumSize(120, 120)
            view.file_dropped.connect(self.open_requested)
        grid = QGridLayout()
        grid.addWidget(QLabel("Your picture", self), 0, 0)
        grid.addWidget(QLabel("Reconstruction", self), 0, 1)
        grid.addWidget(self.originalView, 1, 0)
        grid.addWidget(self.reconView, 1, 1)
        self.errorLabel = QLabel("", self, objectName="reconstructionError")
        self.errorLabel.setWordWrap(True)
        self.notesLabel = QLabel("", self, objectName="pictureNotes")
        self.notesLabel.setWordWrap(True)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(intro)
        layout.addWidget(self.openButton)
        layout.addLayout(grid)
        layout.addWidget(self.errorLabel)
        layout.addWidget(self.notesLabel)
        layout.addStretch(1)
        self.mse: float | None = None

    def open_dialog(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Open a picture to edit", "", OPEN_FILTER)
        if path:
            self.open_requested.emit(path)

    def set_busy(self, path: str) -> None:
        self.errorLabel.setText(f"Encoding {Path(path).name}…")
        self.notesLabel.setText("")

    def show_result(self, encoded) -> None:
        """Show an :class:`~desktop_app.core.imaging.EncodedPicture`."""
        self.mse = float(encoded.mse)
        self.originalView.set_image(encoded.original)
        self.reconView.set_image(encoded.reconstruction)
        psnr = 10 * math.log10(1.0 / max(self.mse, 1e-10))
        self.errorLabel.setText(
            f"<b>{Path(encoded.path).name}</b>: reconstruction error {self.mse:.4f} per pixel "
            f"(PSNR {psnr:.1f} dB) — {quality_word(self.mse)}.")
        self.notesLabel.setText(("Note: " + "; ".join(encoded.notes) + ".") if encoded.notes
                                else "")

    def show_error(self, message: str) -> None:
        self.errorLabel.setText(error_html(message))
        self.notesLabel.setText("Nothing was changed; the room keeps the image it had.")
