"""Widgets and layout of the Compose room (GUI thread); the panel wires them up.

Left: the musical settings, Generate / Stop / Continue, Interpolate A → B and the file
buttons. Right: the transport bar, messages, the piano roll (with undo, redo and transpose
under it), and the variations below it. All of it scrolls when the window is small.
"""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (QCheckBox, QComboBox, QFrame, QGridLayout, QGroupBox, QHBoxLayout, QLabel,
                               QListView, QPushButton, QScrollArea, QSplitter, QToolButton,
                               QVBoxLayout, QWidget)

from desktop_app.ui.compose.controls import ComposeControls
from desktop_app.ui.compose.drag_out import DragOutHandle
from desktop_app.ui.compose.piano_roll import PianoRoll
from desktop_app.ui.compose.variations import VariationsList
from desktop_app.ui.widgets.elided_label import ElidedLabel


def _button(panel, cls, text: str, name: str, tip: str, accessible: str = ""):
    b = cls(panel)
    b.setText(text)
    b.setObjectName(name)
    b.setToolTip(tip)
    b.setAccessibleName(accessible or text)
    return b


def _left_column(p) -> QWidget:
    col = QWidget(p)
    col.setFixedWidth(262)
    v = QVBoxLayout(col)
    v.setContentsMargins(0, 0, 0, 0)
    v.setSpacing(10)
    title = QLabel("Compose", col)
    title.setObjectName("roomTitle")
    v.addWidget(title)
    p.modelPicker = QComboBox(col)
    p.modelPicker.setObjectName("composeModelPicker")
    p.modelPicker.setAccessibleName("Melody model")
    p.modelPicker.setToolTip("The melody model Generate and Continue use: the built-in one "
                             "and any the Train room made")
    v.addWidget(p.modelPicker)
    p.controls = ComposeControls(col)
    v.addWidget(p.controls)
    v.addLayout(p.make_generate_buttons())
    p.continueButton = _button(p, QPushButton, "Continue", "continueButton",
                               "Extend the melody in the piano roll (or an imported .mid) by "
                               "the number of bars above", "Continue the melody")
    row = QHBoxLayout()
    row.addStretch(1)
    row.addWidget(p.continueButton)
    v.addLayout(row)

    box = QGroupBox("Interpolate A → B", col)
    g = QGridLayout(box)
    g.setVerticalSpacing(4)
    p.setAButton = _button(p, QPushButton, "Set A", "setAButton",
                           "Use the melody in the piano roll as A", "Set melody A")
    p.setBButton = _button(p, QPushButton, "Set B", "setBButton",
                           "Use the melody in the piano roll as B", "Set melody B")
    p.aLabel = QLabel("A: the piano roll", box)
    p.bLabel = QLabel("B: not set", box)
    for label in (p.aLabel, p.bLabel):
        label.setWordWrap(True)
        label.setObjectName("endpointLabel")
    p.interpolateButton = _button(p, QPushButton, "Interpolate", "interpolateButton",
                                  "Morph A into B through the phrase model; the steps appear "
                                  "in the variations list", "Interpolate from A to B")
    g.addWidget(p.setAButton, 0, 0)
    g.addWidget(p.aLabel, 0, 1)
    g.addWidget(p.setBButton, 1, 0)
    g.addWidget(p.bLabel, 1, 1)
    g.addWidget(QLabel("Steps", box), 2, 0)
    g.addWidget(p.controls.stepsSpin, 2, 1)
    g.addWidget(p.interpolateButton, 3, 0, 1, 2)
    g.setColumnStretch(1, 1)
    v.addWidget(box)
    files = QGroupBox("Files", col)
    fg = QGridLayout(files)
    fg.setVerticalSpacing(4)
    fg.addWidget(p.importButton, 0, 0)
    fg.addWidget(p.exportMidiButton, 0, 1)
    fg.addWidget(p.dragOutHandle, 1, 0)
    fg.addWidget(p.exportWavButton, 1, 1)
    v.addWidget(files)
    v.addWidget(p.modelMessage)
    v.addStretch(1)
    return col


def _toolbar(p) -> QHBoxLayout:
    bar = QHBoxLayout()
    bar.setSpacing(6)
    p.playButton = _button(p, QPushButton, "▶  Play", "playButton",
                           "Play / Stop the preview", "Play the preview")
    p.playButton.setMinimumWidth(86)
    p.loopCheck = QCheckBox("Loop", p)
    p.loopCheck.setObjectName("loopCheck")
    p.metronomeCheck = QCheckBox("Click", p)
    p.metronomeCheck.setObjectName("metronomeCheck")
    p.metronomeCheck.setToolTip("Metronome click on every beat (preview and .wav)")
    p.metronomeCheck.setAccessibleName("Metronome")
    p.undoButton = _button(p, QToolButton, "↶", "undoButton", "Undo the last edit (Ctrl+Z)",
                           "Undo")
    p.redoButton = _button(p, QToolButton, "↷", "redoButton", "Redo (Ctrl+Shift+Z)", "Redo")
    p.undoButton.setEnabled(False)
    p.redoButton.setEnabled(False)
    p.transposeButton = _button(p, QToolButton, "Transpose", "transposeButton",
                                "Move every note by the semitones on the left", "Transpose")
    p.outputCombo = QComboBox(p)
    p.outputCombo.setObjectName("outputCombo")
    p.outputCombo.setAccessibleName("Play through")
    p.outputCombo.setToolTip("Play through the built-in synth, or send the melody to a MIDI "
                             "output (shown when python-rtmidi finds ports)")
    p.outputCombo.addItem("Built-in synth")
    p.outputCombo.hide()  # MIDI ports are listed when the room is first shown
    for w in (p.playButton, p.outputCombo, p.loopCheck, p.metronomeCheck):
        bar.addWidget(w)
    bar.addStretch(1)
    return bar


def _file_buttons(p) -> None:
    p.importButton = _button(p, QPushButton, "Import…", "importButton",
                             "Import a .mid file as the melody / primer (or drop one here)",
                             "Import MIDI")
    p.exportMidiButton = _button(p, QPushButton, "Export .mid", "exportMidiButton",
                                 "Export the melody as a MIDI file (Ctrl+E)", "Export MIDI")
    p.exportWavButton = _button(p, QPushButton, "Export .wav", "exportWavButton",
                                "Export the preview audio as a WAV file", "Export WAV")
    p.dragOutHandle = DragOutHandle(lambda: (p.pianoRoll.melody(), p.controls.program()), p)


class _Content(QWidget):
    """The scrolled content. Its wrapped labels make the scroll area ask for a height for the
    width, which a layout answers with its *preferred* height, so it would scroll even when it
    fits; answering with the minimum height lets it fill the view and scroll only when needed."""

    def heightForWidth(self, width: int) -> int:  # noqa: N802 - Qt override
        return self.minimumSizeHint().height()


class ComposeWidgets:
    """The widgets :func:`build_layout` creates on the Compose panel: the contract its mixins
    and the panel rely on (``tests/ui/test_room_contracts.py`` checks both ways)."""

    aLabel: QLabel
    audioMessage: QLabel
    bLabel: QLabel
    continueButton: QPushButton
    controls: ComposeControls
    dragOutHandle: DragOutHandle
    exportMidiButton: QPushButton
    exportWavButton: QPushButton
    importButton: QPushButton
    interpolateButton: QPushButton
    loopCheck: QCheckBox
    melodyLabel: ElidedLabel
    messageLabel: QLabel
    metronomeCheck: QCheckBox
    modelPicker: QComboBox
    outputCombo: QComboBox
    pianoRoll: PianoRoll
    playButton: QPushButton
    redoButton: QToolButton
    setAButton: QPushButton
    setBButton: QPushButton
    transposeButton: QToolButton
    undoButton: QToolButton
    variationsList: VariationsList


def build_layout(p) -> None:
    """Everything sits in a scroll area, so a small window scrolls instead of growing."""
    p.setAcceptDrops(True)
    frame = QVBoxLayout(p)
    frame.setContentsMargins(0, 0, 0, 0)
    scroll = QScrollArea(p)
    scroll.setObjectName("composeScroll")
    scroll.setWidgetResizable(True)
    scroll.setFrameShape(QFrame.Shape.NoFrame)
    content = _Content(scroll)
    content.setObjectName("composeContent")
    scroll.setWidget(content)
    frame.addWidget(scroll)
    outer = QHBoxLayout(content)
    outer.setContentsMargins(16, 14, 16, 12)
    outer.setSpacing(14)
    _file_buttons(p)
    outer.addWidget(_left_column(p))

    right = QVBoxLayout()
    right.setSpacing(6)
    right.addLayout(_toolbar(p))
    p.audioMessage = QLabel(p)
    p.audioMessage.setObjectName("audioMessage")
    p.audioMessage.setWordWrap(True)
    p.audioMessage.hide()
    p.messageLabel = QLabel(p)
    p.messageLabel.setObjectName("composeMessage")
    p.messageLabel.setWordWrap(True)
    p.messageLabel.setAccessibleName("Compose message")
    p.messageLabel.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
    p.messageLabel.hide()
    right.addWidget(p.audioMessage)
    right.addWidget(p.messageLabel)

    split = QSplitter(Qt.Orientation.Vertical, p)
    roll_box = QWidget(split)
    rv = QVBoxLayout(roll_box)
    rv.setContentsMargins(0, 0, 0, 0)
    rv.setSpacing(2)
    p.pianoRoll = PianoRoll(roll_box)
    p.pianoRoll.setFrameShape(QFrame.Shape.StyledPanel)
    rv.addWidget(p.pianoRoll, 1)
    p.melodyLabel = ElidedLabel(roll_box)
    p.melodyLabel.setObjectName("melodyLabel")
    p.melodyLabel.setMinimumWidth(60)  # long descriptions are cut, not widening the room
    legend = QLabel("<span style='color:#4f8fe6'>■</span> in key &nbsp; "
                    "<span style='color:#e88a3a'>▨</span> outside the key", roll_box)
    legend.setTextFormat(Qt.TextFormat.RichText)
    info = QHBoxLayout()
    for w in (p.undoButton, p.redoButton, p.controls.transposeSpin, p.transposeButton):
        info.addWidget(w)
    info.addSpacing(8)
    info.addWidget(p.melodyLabel, 1)
    info.addWidget(legend)
    rv.addLayout(info)

    var_box = QWidget(split)
    vv = QVBoxLayout(var_box)
    vv.setContentsMargins(0, 4, 0, 0)
    vv.setSpacing(2)
    heading = QLabel("Variations — click one to edit it, ▶ to listen", var_box)
    heading.setObjectName("panelTitle")
    vv.addWidget(heading)
    p.variationsList = VariationsList(var_box)
    p.variationsList.setFlow(QListView.Flow.LeftToRight)
    p.variationsList.setWrapping(True)
    p.variationsList.setResizeMode(QListView.ResizeMode.Adjust)
    vv.addWidget(p.variationsList, 1)
    split.addWidget(roll_box)
    split.addWidget(var_box)
    split.setStretchFactor(0, 3)
    split.setStretchFactor(1, 1)
    split.setSizes([430, 190])
    right.addWidget(split, 1)
    outer.addLayout(right, 1)
