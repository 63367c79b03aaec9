"""Help → About: versions, licences of Reverie and its libraries, and model attributions.

Versions come from package metadata (``importlib.metadata``), so showing the dialog never
imports torch. Model licences and attributions come from each model's ``config.json`` and
``MODEL_CARD.md`` through the model registry.
"""

from __future__ import annotations

import html
import platform
from importlib import metadata

from PySide6 import __version__ as pyside_version
from PySide6.QtCore import qVersion
from PySide6.QtWidgets import QDialog, QDialogButtonBox, QTextBrowser, QVBoxLayout, QWidget

from desktop_app import APP_NAME, __version__
from desktop_app.core.model_registry import ModelScan, human_count

#: (distribution, licence) of the libraries Reverie ships with.
LIBRARIES = (
    ("PySide6", "LGPL-3.0-only (Qt for Python)"),
    ("torch", "BSD-3-Clause"),
    ("numpy", "BSD-3-Clause"),
    ("pyqtgraph", "MIT"),
    ("pillow", "MIT-CMU (HPND)"),
    ("mido", "MIT"),
    ("safetensors", "Apache-2.0"),
    ("tokenizers", "Apache-2.0"),
    ("gguf", "MIT (llama.cpp)"),
)


def _version(dist: str) -> str:
    try:
        return metadata.version(dist)
    except metadata.PackageNotFoundError:
        return "not installed"


def about_html(scan: ModelScan) -> str:
    """The About text as HTML (pure function of the scan and the installed packages)."""
    rows = [("Python", platform.python_version(), "PSF-2.0"),
            ("Qt", qVersion(), "LGPL-3.0-only")]
    for dist, licence in LIBRARIES:
        version = pyside_version if dist == "PySide6" else _version(dist)
        rows.append((dist, version, licence))
    libs = "".join(f"<tr><td>{html.escape(n)}</td><td>{html.escape(v)}</td>"
                   f"<td>{html.escape(lic)}</td></tr>" for n, v, lic in rows)
    if scan.models:
        models = "".join(
            f"<li><b>{html.escape(m.name)}</b> ({m.kind}, {human_count(m.parameters)} parameters, "
            f"{m.source}) — licence: {html.escape(m.licence)}"
            + (f"<br><span>{html.escape(m.attribution)}</span>" if m.attribution else "")
            + "</li>" for m in scan.models)
        models = f"<ul>{models}</ul>"
    else:
        models = "<p>No models are installed.</p>"
    return (
        f"<h2>{APP_NAME} {__version__}</h2>"
        "<p>An offline desktop studio for generative models: write, imagine, compose, "
        "explore and train — everything runs on your computer.</p>"
        "<p>Reverie is free software under the MIT licence.</p>"
        "<h3>Libraries</h3><table cellspacing='0' cellpadding='3'>"
        "<tr><th align='left'>Name</th><th align='left'>Version</th>"
        f"<th align='left'>Licence</th></tr>{libs}</table>"
        f"<h3>Models</h3>{models}"
    )


class AboutDialog(QDialog):
    """Shows :func:`about_html` (GUI thread)."""

    def __init__(self, scan: ModelScan, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("aboutDialog")
        self.setWindowTitle(f"About {APP_NAME}")
        self.resize(560, 520)
        text = QTextBrowser(self)
        text.setObjectName("aboutText")
        text.setOpenExternalLinks(False)
        text.setHtml(about_html(scan))
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close, self)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addWidget(text)
        layout.addWidget(buttons)
