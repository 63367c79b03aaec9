"""The explorer's side controls: projection, colour-by, legend, search, neighbours, bookmarks.

GUI thread only. These widgets hold no map logic: :class:`~desktop_app.ui.explore.view.
ExploreView` fills them and listens to their signals. Bookmarks persist as JSON (atomic
writes) in the user data folder.
"""

from __future__ import annotations

import logging

from PySide6.QtCore import QSize, Qt, Signal
from PySide6.QtWidgets import (QComboBox, QFormLayout, QHBoxLayout, QLabel, QLineEdit,
                               QListWidget, QListWidgetItem, QPushButton, QVBoxLayout, QWidget)

from desktop_app.core import paths
from desktop_app.core.atomic import atomic_write_json
from desktop_app.core.errors import DataError, ReverieError
from desktop_app.core.untrusted import read_json
from desktop_app.ui.explore.latent_map import class_colour

log = logging.getLogger(__name__)

PCA, TSNE, AXES = "PCA", "t-SNE", "Attribute axes"


class MapControls(QWidget):
    """Projection and colour choices, the legend and the search box."""

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        form = QFormLayout(self)
        form.setContentsMargins(0, 0, 0, 0)
        self.projectionCombo = QComboBox(self)
        self.projectionCombo.setObjectName("projectionCombo")
        self.projectionCombo.setAccessibleName("Projection")
        self.projectionCombo.addItems([PCA, TSNE, AXES])
        self.projectionCombo.setToolTip("PCA is instant and invertible; t-SNE keeps "
                                        "neighbours together (computed in the engine, cached); "
                                        "attribute axes put two directions on x and y")
        self.xAxisCombo = QComboBox(self)
        self.xAxisCombo.setObjectName("xAxisCombo")
        self.yAxisCombo = QComboBox(self)
        self.yAxisCombo.setObjectName("yAxisCombo")
        axes = QHBoxLayout()
        axes.addWidget(self.xAxisCombo, 1)
        axes.addWidget(QLabel("against", self))
        axes.addWidget(self.yAxisCombo, 1)
        self.axesRow = QWidget(self)
        self.axesRow.setLayout(axes)
        axes.setContentsMargins(0, 0, 0, 0)
        self.colourByCombo = QComboBox(self)
        self.colourByCombo.setObjectName("colourByCombo")
        self.colourByCombo.setAccessibleName("Colour by")
        self.legend = QLabel(self)
        self.legend.setObjectName("mapLegend")
        self.legend.setWordWrap(True)
        self.legend.setTextFormat(Qt.TextFormat.RichText)
        self.latentSearch = QLineEdit(self)
        self.latentSearch.setObjectName("latentSearch")
        self.latentSearch.setPlaceholderText("Search a label or word…")
        self.latentSearch.setClearButtonEnabled(True)
        self.latentSearch.setAccessibleName("Search the map")
        self.cancelButton = QPushButton("Cancel", self)
        self.cancelButton.setObjectName("cancelProjectionButton")
        self.cancelButton.setToolTip("Stop computing the t-SNE map (the current map stays)")
        self.cancelButton.setEnabled(False)
        proj = QHBoxLayout()
        proj.addWidget(self.projectionCombo, 1)
        proj.addWidget(self.cancelButton)
        form.addRow("Projection", proj)
        form.addRow("Axes", self.axesRow)
        form.addRow("Colour by", self.colourByCombo)
        form.addRow("", self.legend)
        form.addRow("Search", self.latentSearch)
        self.form = form
        self.set_axes_visible(False)

    def set_axes_visible(self, on: bool) -> None:
        self.form.setRowVisible(self.axesRow, on)

    def set_legend(self, names: list[str], counts: list[int], more: int = 0,
                   more_label: str = "") -> None:
        cells = [f"<td><span style='color:{class_colour(i).name()}'>●</span>&nbsp;{n} "
                 f"<span style='color:gray'>({c:,})</span></td>"
                 for i, (n, c) in enumerate(zip(names, counts))]
        if more:
            text = more_label or f"{more} more"
            cells.append(f"<td><span style='color:#9a9a9a'>●</span>&nbsp;{text}</td>")
        rows = ["<tr>" + "".join(cells[k:k + 2]) + "</tr>" for k in range(0, len(cells), 2)]
        self.legend.setText(f"<table cellspacing='0' cellpadding='1'>{''.join(rows)}</table>"
                            if cells else "")


class NeighboursBox(QWidget):
    """The nearest neighbours of the selected item, with distances and the metric choice."""

    metricChanged = Signal(str)
    neighbourActivated = Signal(int)

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        row = QHBoxLayout()
        self.title = QLabel("Nearest neighbours", self)
        self.title.setObjectName("neighboursTitle")
        self.metricCombo = QComboBox(self)
        self.metricCombo.setObjectName("metricCombo")
        self.metricCombo.addItems(["cosine", "euclidean"])
        self.metricCombo.setAccessibleName("Distance")
        row.addWidget(self.title, 1)
        row.addWidget(self.metricCombo)
        self.neighboursList = QListWidget(self)
        self.neighboursList.setObjectName("neighboursList")
        self.neighboursList.setAccessibleName("Nearest neighbours")
        self.neighboursList.setIconSize(QSize(28, 28))
        layout.addLayout(row)
        layout.addWidget(self.neighboursList, 1)
        self.metricCombo.currentTextChanged.connect(self.metricChanged)
        self.neighboursList.itemActivated.connect(
            lambda item: self.neighbourActivated.emit(int(item.data(Qt.ItemDataRole.UserRole))))
        self.neighboursList.itemClicked.connect(
            lambda item: self.neighbourActivated.emit(int(item.data(Qt.ItemDataRole.UserRole))))

    def metric(self) -> str:
        return self.metricCombo.currentText()

    def show_neighbours(self, of: str, rows: list[tuple[int, str, float]],
                        icons: list | None = None) -> None:
        self.title.setText(f"Nearest to “{of}”" if of else "Nearest neighbours")
        self.neighboursList.clear()
        for k, (index, name, dist) in enumerate(rows):
            item = QListWidgetItem(f"{name}    {dist:.3f}")
            if icons is not None:
                item.setIcon(icons[k])
            item.setData(Qt.ItemDataRole.UserRole, int(index))
            self.neighboursList.addItem(item)


class Bookmarks(QWidget):
    """Saved views (map ranges) and points, per model, in ``explore/bookmarks.json``."""

    bookmarkActivated = Signal(dict)
    addPointRequested = Signal()
    addViewRequested = Signal()

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        row = QHBoxLayout()
        self.addPointButton = QPushButton("Bookmark point", self)
        self.addViewButton = QPushButton("Bookmark view", self)
        self.removeButton = QPushButton("Remove", self)
        for b in (self.addPointButton, self.addViewButton, self.removeButton):
            row.addWidget(b)
        self.bookmarkList = QListWidget(self)
        self.bookmarkList.setObjectName("bookmarkList")
        self.bookmarkList.setAccessibleName("Bookmarks")
        layout.addLayout(row)
        layout.addWidget(self.bookmarkList, 1)
        self.addPointButton.clicked.connect(self.addPointRequested)
        self.addViewButton.clicked.connect(self.addViewRequested)
        self.removeButton.clicked.connect(self._on_remove_clicked)
        self.bookmarkList.itemActivated.connect(self._on_item_activated)
        self.bookmarkList.itemClicked.connect(self._on_item_activated)
        self._all: list[dict] = self._read()
        self._model_key = ""

    @staticmethod
    def path():
        return paths.user_data_dir() / "explore" / "bookmarks.json"

    def _read(self) -> list[dict]:
        try:
            data = read_json(self.path())  # bounded (size, depth): damage gives no bookmarks
            return [b for b in data.get("bookmarks", []) if isinstance(b, dict)]
        except (DataError, AttributeError, TypeError):
            return []

    def _write(self) -> None:
        try:
            atomic_write_json(self.path(), {"bookmarks": self._all})
        except ReverieError as exc:
            log.warning("%s", exc)

    def set_model(self, key: str) -> None:
        self._model_key = key
        self.bookmarkList.clear()
        for b in self._all:
            if b.get("model") == key:
                item = QListWidgetItem(b.get("title", "bookmark"))
                item.setData(Qt.ItemDataRole.UserRole, b)
                self.bookmarkList.addItem(item)

    def add(self, bookmark: dict) -> None:
        bookmark = {**bookmark, "model": self._model_key}
        self._all.append(bookmark)
        self._write()
        self.set_model(self._model_key)

    def _on_remove_clicked(self) -> None:
        item = self.bookmarkList.currentItem()
        if item is None:
            return
        b = item.data(Qt.ItemDataRole.UserRole)
        self._all = [x for x in self._all if x != b]
        self._write()
        self.set_model(self._model_key)

    def _on_item_activated(self, item) -> None:
        self.bookmarkActivated.emit(dict(item.data(Qt.ItemDataRole.UserRole)))
