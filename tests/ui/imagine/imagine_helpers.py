"""Helpers for the Imagine room tests: expected decodes, drops, picture files."""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import QMimeData, QPointF, Qt, QUrl
from PySide6.QtGui import QDragEnterEvent, QDropEvent
from PySide6.QtWidgets import QApplication


def expected_image(folder, base, amounts):
    """Decode ``base`` moved by ``amounts`` with the model loaded independently of the room."""
    from desktop_app.ml.image.runtime import ImageModel

    m = ImageModel(folder)
    z = m.move(np.asarray(base, np.float32), dict(amounts))
    return z, m.decode(z)


def drop_file(widget, path) -> None:
    """Drag ``path`` onto ``widget`` and drop it, as a file manager does."""
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(path))])
    pos = QPointF(widget.width() / 2, widget.height() / 2)
    enter = QDragEnterEvent(pos.toPoint(), Qt.DropAction.CopyAction, mime,
                            Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier)
    QApplication.sendEvent(widget, enter)
    assert enter.isAccepted()
    drop = QDropEvent(pos, Qt.DropAction.CopyAction, mime, Qt.MouseButton.LeftButton,
                      Qt.KeyboardModifier.NoModifier)
    QApplication.sendEvent(widget, drop)
    assert drop.isAccepted()


def photo(size=(80, 60), seed=0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:size[1], 0:size[0]]
    img = np.stack([xx * 3 % 256, yy * 4 % 256, (xx + yy) % 256], -1).astype(np.float64)
    return np.clip(img + rng.normal(0, 10, img.shape), 0, 255).astype(np.uint8)


def seed_latent(folder, seed: int, temperature: float = 1.0) -> np.ndarray:
    """What ``reverie generate image --seed S`` samples with the model in ``folder``."""
    from desktop_app.ml.image.runtime import ImageModel

    return ImageModel(folder).sample_latents(seed, 1, temperature)[0]
