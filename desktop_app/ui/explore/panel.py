"""The Explore room's model chooser, and (lazily) the room panel itself (GUI thread).

``ExplorePanel`` is defined in :mod:`desktop_app.ui.rooms.explore`, because the rooms package
imports every room when it loads: defining the panel there keeps this package free of that
import cycle. ``from desktop_app.ui.explore.panel import ExplorePanel`` still works.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtWidgets import QComboBox, QHBoxLayout, QLabel, QWidget

from desktop_app.core.model_registry import scan_models

KIND_TITLES = (("image", "Images"), ("music", "Melody phrases"), ("text", "Words"))


class ModelChooser(QWidget):
    """Kind + model pickers; ``chosen(kind, model_path)`` on a change."""

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
        self.kindCombo.currentIndexChanged.connect(lambda _i: self.fill_models())

    def kind(self) -> str:
        return self.kindCombo.currentData()

    def fill_models(self, prefer: str = "") -> None:
        kind = self.kind()
        models = [m for m in configured_scan(self).of_kind(kind) if not m.problem]
        self.modelCombo.blockSignals(True)
        self.modelCombo.clear()
        for m in models:
            self.modelCombo.addItem(f"{m.name} ({m.source})", str(m.path))
        if kind == "music":   # only the phrase VAE can encode phrases
            index = next((i for i, m in enumerate(models) if m.name == "phrase-vae"), -1)
        else:   # the preferred model if it is usable here (an image map needs an atlas)
            usable = [i for i, m in enumerate(models)
                      if kind != "image" or (m.path / "atlas.json").is_file()]
            index = next((i for i in usable if models[i].name == prefer),
                         usable[0] if usable else (0 if models else -1))
        self.modelCombo.setCurrentIndex(index)
        self.modelCombo.blockSignals(False)


def configured_scan(widget: QWidget):
    """The models the window knows (Preferences' own and extra folders), not a default scan:
    the main window's last scan when it has one, else a scan with the settings' folders."""
    window = widget.window()
    scan = getattr(window, "scan", None)
    if scan is not None and scan.models:
        return scan
    settings = getattr(window, "settings", None)
    if settings is not None and hasattr(settings, "extra_model_dirs"):
        return scan_models(user_dir=settings.user_models_dir(),
                           extra_dirs=settings.extra_model_dirs())
    return scan_models()


def __getattr__(name: str):
    if name == "ExplorePanel":
        from desktop_app.ui.rooms.explore import ExplorePanel
        return ExplorePanel
    raise AttributeError(name)
