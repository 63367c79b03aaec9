"""Latent sliders (objectName ``latentSliders``): one QSlider per direction, each ±3σ.

GUI thread only. Named directions come first ("Smile", "Skin tone", …), then the principal
ones ("Direction 1…8"). Each slider is named ``slider_<label in lower case, spaces as
underscores>`` (``slider_skin_tone``, ``slider_direction_1``) and moves in steps of 0.01σ.
``amounts_changed`` fires on every value change (the panel throttles the decodes);
``gesture_finished`` when a drag ends, so one drag becomes one undo step. Double-clicking a
slider resets it; "Reset all" resets every one.
"""

from __future__ import annotations

from PySide6.QtCore import QSignalBlocker, Qt, Signal
from PySide6.QtWidgets import (QGridLayout, QHBoxLayout, QLabel, QPushButton, QScrollArea,
                               QSlider, QVBoxLayout, QWidget)

from desktop_app.core.imaging import ImageDirection, direction_label, slider_object_name

STEPS_PER_SIGMA = 100
MAX_SIGMA = 3


class ResettableSlider(QSlider):
    """A horizontal slider that returns to 0 on double-click."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(Qt.Orientation.Horizontal, parent)
        self.setRange(-MAX_SIGMA * STEPS_PER_SIGMA, MAX_SIGMA * STEPS_PER_SIGMA)
        self.setSingleStep(5)
        self.setPageStep(50)
        self.setTickPosition(QSlider.TickPosition.TicksBelow)
        self.setTickInterval(STEPS_PER_SIGMA)

    def mouseDoubleClickEvent(self, event) -> None:  # noqa: N802 - Qt API
        self.setValue(0)
        event.accept()


class LatentSliders(QWidget):
    """The sliders for the current model's directions."""

    amounts_changed = Signal(dict)    # direction name -> std devs (non-zero ones)
    gesture_finished = Signal(str)    # name of the slider whose drag ended

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("latentSliders")
        self.setAccessibleName("Latent sliders")
        self.sliders: dict[str, ResettableSlider] = {}
        self._values: dict[str, QLabel] = {}
        self._rows = QWidget(self)
        self._grid = QGridLayout(self._rows)
        self._grid.setContentsMargins(0, 0, 6, 0)
        self._grid.setHorizontalSpacing(8)
        self._grid.setVerticalSpacing(2)
        scroll = QScrollArea(self)
        scroll.setWidgetResizable(True)
        scroll.setFrameShape(QScrollArea.Shape.NoFrame)
        scroll.setWidget(self._rows)
        self.emptyLabel = QLabel("This model has no directions.", self)
        self.emptyLabel.setWordWrap(True)
        self.resetAllButton = QPushButton("Reset all", self)
        self.resetAllButton.setObjectName("resetSlidersButton")
        self.resetAllButton.setToolTip("Put every slider back to 0 (double-click resets one)")
        self.resetAllButton.clicked.connect(self.reset_all)
        bottom = QHBoxLayout()
        hint = QLabel("Double-click a slider to reset it.", self)
        hint.setWordWrap(True)   # one line would widen the room past a 1256-pixel window
        bottom.addWidget(hint, 1)
        bottom.addWidget(self.resetAllButton)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.emptyLabel)
        layout.addWidget(scroll, 1)
        layout.addLayout(bottom)

    # -- building ----------------------------------------------------------------------------
    def set_directions(self, directions: tuple[ImageDirection, ...] | list) -> None:
        """Rebuild the rows: named directions first, then the PCA ones."""
        while self._grid.count():
            item = self._grid.takeAt(0)
            if item.widget() is not None:
                item.widget().deleteLater()
        self.sliders.clear()
        self._values.clear()
        ordered = ([d for d in directions if d.kind != "pca"]
                   + [d for d in directions if d.kind == "pca"])
        for row, d in enumerate(ordered):
            label = QLabel(direction_label(d.name), self._rows)
            slider = ResettableSlider(self._rows)
            slider.setObjectName(slider_object_name(d.name))
            slider.setAccessibleName(direction_label(d.name))
            slider.setToolTip(f"{d.description or direction_label(d.name)} "
                              f"(±{MAX_SIGMA} standard deviations; double-click resets)")
            value = QLabel("0.00σ", self._rows)
            value.setMinimumWidth(48)
            value.setAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
            slider.valueChanged.connect(lambda v, n=d.name: self._on_slider_value_changed(n, v))
            slider.sliderReleased.connect(lambda n=d.name: self.gesture_finished.emit(n))
            self._grid.addWidget(label, row, 0)
            self._grid.addWidget(slider, row, 1)
            self._grid.addWidget(value, row, 2)
            self.sliders[d.name] = slider
            self._values[d.name] = value
        self._grid.setRowStretch(len(ordered), 1)
        self.emptyLabel.setVisible(not ordered)
        self.resetAllButton.setEnabled(bool(ordered))

    # -- values ------------------------------------------------------------------------------
    def amounts(self) -> dict[str, float]:
        return {n: s.value() / STEPS_PER_SIGMA for n, s in self.sliders.items() if s.value()}

    def set_amounts(self, amounts: dict[str, float]) -> None:
        """Show ``amounts`` without emitting ``amounts_changed`` (unknown names are ignored)."""
        for name, slider in self.sliders.items():
            v = int(round(float(amounts.get(name, 0.0)) * STEPS_PER_SIGMA))
            with QSignalBlocker(slider):
                slider.setValue(v)
            self._show_value(name, slider.value())

    def slider(self, name: str) -> ResettableSlider:
        return self.sliders[name]

    def is_dragging(self) -> bool:
        return any(s.isSliderDown() for s in self.sliders.values())

    def reset_all(self) -> None:
        if not self.amounts():
            return
        self.set_amounts({})
        self.amounts_changed.emit({})
        self.gesture_finished.emit("")

    def _show_value(self, name: str, value: int) -> None:
        self._values[name].setText(f"{value / STEPS_PER_SIGMA:+.2f}σ" if value else "0.00σ")

    def _on_slider_value_changed(self, name: str, value: int) -> None:
        self._show_value(name, value)
        self.amounts_changed.emit(self.amounts())
