"""Builds the Imagine room's widgets onto the panel (GUI thread only; no behaviour here).

Left: model picker, the 3×3 variation grid with its caption (category, seeds), the category
picker beside Generate / Stop (noise and guidance are in the window's Randomness panel). Centre: the
large image view with its tool row (scaling, undo / redo, save, copy, export upscaled).
Right: tabs for the latent sliders, the morph and "your picture".
"""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (QCheckBox, QComboBox, QFrame, QHBoxLayout, QLabel, QPushButton,
                               QScrollArea, QSplitter, QTabWidget, QToolButton,
                               QVBoxLayout, QWidget)

from desktop_app.ui.imagine.image_view import ImageView
from desktop_app.ui.imagine.latent_sliders import LatentSliders
from desktop_app.ui.imagine.morph_panel import MorphPanel
from desktop_app.ui.imagine.own_picture import OwnPicture
from desktop_app.ui.imagine.variation_grid import VariationGrid
from desktop_app.ui.widgets.elided_label import ElidedLabel
from desktop_app.core.imaging import CATEGORIES


def _tool(panel, name: str, text: str, tip: str) -> QToolButton:
    button = QToolButton(panel)
    button.setObjectName(name)
    button.setText(text)
    button.setToolTip(tip)
    button.setAccessibleName(text)
    button.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextOnly)
    return button


def _left_column(p) -> QWidget:
    left = QWidget(p)
    col = QVBoxLayout(left)
    col.setContentsMargins(0, 0, 0, 0)
    col.setSpacing(8)
    title = QLabel("Imagine", left)
    title.setObjectName("roomTitle")
    p.modelPicker = QComboBox(left)
    p.modelPicker.setObjectName("modelPicker")
    p.modelPicker.setAccessibleName("Image model")
    p.modelPicker.setToolTip("The image model: built-in ones and any the Train room made")
    p.modelDetails = QLabel("", left)
    p.modelDetails.setObjectName("modelDetails")
    p.modelDetails.setWordWrap(True)
    p.gridCaption = ElidedLabel("", left)
    p.gridCaption.setObjectName("gridCaption")
    p.grid = VariationGrid(left)
    hint = QLabel("Nine variations: seeds s … s+8. Click one to edit it; right-click to morph.",
                  left)
    hint.setWordWrap(True)
    hint.setObjectName("gridHint")
    col.addWidget(title)
    col.addWidget(p.modelPicker)
    col.addWidget(p.modelDetails)
    col.addWidget(p.gridCaption)
    col.addWidget(p.grid)
    col.addWidget(hint)
    col.addStretch(1)
    # the category picker sits beside Generate: what to draw, then draw it
    p.categoryCombo = QComboBox(left)
    p.categoryCombo.setObjectName("categoryCombo")
    p.categoryCombo.setAccessibleName("Category")
    p.categoryCombo.setToolTip("What to draw (models with a learned prior): Any, or one "
                               "Unicode emoji group")
    p.categoryCombo.addItem("Any", None)
    for key, label, group in CATEGORIES:
        p.categoryCombo.addItem(label, key)
        p.categoryCombo.setItemData(p.categoryCombo.count() - 1, group,
                                    Qt.ItemDataRole.ToolTipRole)
    buttons = p.make_generate_buttons()
    buttons.insertWidget(0, p.categoryCombo)
    col.addLayout(buttons)
    return left


def _centre(p) -> QWidget:
    centre = QWidget(p)
    col = QVBoxLayout(centre)
    col.setContentsMargins(0, 0, 0, 0)
    col.setSpacing(6)
    p.imageView = ImageView(centre, placeholder="Press Generate (Ctrl+Enter) to sample images, "
                            "or drop a picture here to edit it.")
    p.caption = QLabel("", centre)
    p.caption.setObjectName("imageCaption")
    p.caption.setAlignment(Qt.AlignmentFlag.AlignCenter)
    p.caption.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
    p.smoothCheck = QCheckBox("Smooth", centre)
    p.smoothCheck.setObjectName("smoothCheck")
    p.smoothCheck.setToolTip("Smooth scaling (off: pixel-exact, every model pixel a crisp square)")
    p.undoButton = _tool(centre, "undoButton", "Undo", "Undo the last latent change (Ctrl+Z)")
    p.redoButton = _tool(centre, "redoButton", "Redo", "Redo (Ctrl+Shift+Z)")
    p.savePngButton = _tool(centre, "savePngButton", "Save PNG…",
                            "Save the image as PNG; it remembers its latent (Ctrl+S)")
    p.copyButton = _tool(centre, "copyButton", "Copy", "Copy the image (at the export size)")
    p.scaleCombo = QComboBox(centre)
    p.scaleCombo.setObjectName("exportScaleCombo")
    p.scaleCombo.setAccessibleName("Export size")
    for factor in (1, 2, 4, 8):
        p.scaleCombo.addItem(f"{factor}×", factor)
    p.scaleCombo.setCurrentIndex(2)
    p.exportSmoothCheck = QCheckBox("smooth", centre)
    p.exportSmoothCheck.setObjectName("exportSmoothCheck")
    p.exportSmoothCheck.setToolTip("Export upscaled with smooth (bicubic) filtering instead of "
                                   "pixel-exact squares")
    p.exportButton = _tool(centre, "exportImageButton", "Export…",
                           "Export the image upscaled (2×, 4×, 8×)")
    tools = QHBoxLayout()      # view and history on the left, files on the right
    tools.setSpacing(4)
    for w in (p.undoButton, p.redoButton, p.smoothCheck):
        tools.addWidget(w)
    tools.addStretch(1)
    tools.addWidget(p.savePngButton)
    export = QHBoxLayout()
    export.setSpacing(4)
    export.addStretch(1)
    for w in (p.copyButton, p.scaleCombo, p.exportSmoothCheck, p.exportButton):
        export.addWidget(w)
    p.messageLabel = QLabel("", centre)
    p.messageLabel.setObjectName("imagineMessage")
    p.messageLabel.setWordWrap(True)
    p.messageLabel.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
    p.messageLabel.hide()
    col.addWidget(p.autosave.banner)
    col.addWidget(p.modelMessage)
    col.addWidget(p.imageView, 1)
    col.addWidget(p.caption)
    col.addLayout(tools)
    col.addLayout(export)
    col.addWidget(p.messageLabel)
    return centre


class ImagineWidgets:
    """The widgets :func:`build_layout` creates on the Imagine panel: the contract its mixins
    and the panel rely on (``tests/ui/test_room_contracts.py`` checks both ways)."""

    caption: QLabel
    categoryCombo: QComboBox
    copyButton: QToolButton
    exportButton: QToolButton
    exportSmoothCheck: QCheckBox
    grid: VariationGrid
    gridCaption: ElidedLabel
    imageView: ImageView
    messageLabel: QLabel
    modelDetails: QLabel
    modelPicker: QComboBox
    morph: MorphPanel
    own: OwnPicture
    redoButton: QToolButton
    savePngButton: QToolButton
    scaleCombo: QComboBox
    sliders: LatentSliders
    smoothCheck: QCheckBox
    tabs: QTabWidget
    undoButton: QToolButton


def build_layout(p) -> None:
    p.sliders = LatentSliders(p)
    p.morph = MorphPanel(p)
    p.own = OwnPicture(p)
    p.tabs = QTabWidget(p)
    p.tabs.setObjectName("imagineTabs")
    p.tabs.addTab(p.sliders, "Sliders")
    p.tabs.addTab(p.morph, "Morph")
    p.tabs.addTab(p.own, "Your picture")
    # The room scrolls as a whole when the window is smaller than its controls (the window
    # itself must stay resizable down to a small screen).
    scroll = QScrollArea(p)
    scroll.setObjectName("imagineScroll")
    scroll.setWidgetResizable(True)
    scroll.setFrameShape(QFrame.Shape.NoFrame)
    content = QWidget(scroll)
    splitter = QSplitter(Qt.Orientation.Horizontal, content)
    splitter.setChildrenCollapsible(False)
    splitter.addWidget(_left_column(p))
    splitter.addWidget(_centre(p))
    splitter.addWidget(p.tabs)
    splitter.setStretchFactor(0, 0)
    splitter.setStretchFactor(1, 1)
    splitter.setStretchFactor(2, 0)
    splitter.setSizes([270, 460, 330])
    inner = QVBoxLayout(content)
    inner.setContentsMargins(8, 10, 8, 8)   # 12 px sides overflowed a 1256-pixel window
    inner.addWidget(splitter)
    scroll.setWidget(content)
    layout = QVBoxLayout(p)
    layout.setContentsMargins(0, 0, 0, 0)
    layout.addWidget(scroll)
