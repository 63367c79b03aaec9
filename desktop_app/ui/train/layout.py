"""The Train room's widgets and their arrangement (no behaviour: see panel.py).

GUI thread. Left: what to train, from what, how long, on which folder, the data check, the
controls and the command line. Right: progress, the live charts, samples and the log.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (QComboBox, QFormLayout, QFrame, QHBoxLayout, QLabel, QLineEdit,
                               QPlainTextEdit, QProgressBar, QPushButton, QScrollArea,
                               QSizePolicy, QSpinBox, QSplitter, QTabWidget, QVBoxLayout,
                               QWidget)

from desktop_app.ui.train.plots import TrainCharts
from desktop_app.ui.train.presets import KIND_LABELS
from desktop_app.ui.train.samples import SamplesView

if TYPE_CHECKING:   # only the annotations of TrainWidgets need these
    from pyqtgraph import PlotWidget
    from PySide6.QtWidgets import QTextBrowser


def _label(parent: QWidget, name: str, text: str = "", *, wrap: bool = True) -> QLabel:
    label = QLabel(text, parent)
    label.setObjectName(name)
    label.setWordWrap(wrap)
    label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
    return label


def _button(parent: QWidget, name: str, text: str, tip: str) -> QPushButton:
    button = QPushButton(text, parent)
    button.setObjectName(name)
    button.setToolTip(tip)
    button.setAccessibleName(text)
    return button


def _build_left(p) -> QWidget:
    box = QWidget(p)
    form = QFormLayout()
    form.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.AllNonFixedFieldsGrow)
    p.trainKindCombo = QComboBox(box)
    p.trainKindCombo.setObjectName("trainKindCombo")
    p.trainKindCombo.setAccessibleName("What to train")
    for kind, label in KIND_LABELS.items():
        p.trainKindCombo.addItem(label, kind)
    p.startFromCombo = QComboBox(box)
    p.startFromCombo.setObjectName("startFromCombo")
    p.startFromCombo.setAccessibleName("Start from")
    p.startFromCombo.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
    p.startFromCombo.setMinimumContentsLength(20)
    p.stepsSpin = QSpinBox(box)
    p.stepsSpin.setObjectName("stepsSpin")
    p.stepsSpin.setRange(1, 10_000_000)
    p.stepsSpin.setSingleStep(100)
    p.stepsSpin.setValue(1000)
    p.stepsSpin.setGroupSeparatorShown(True)
    p.stepsSpin.setAccessibleName("Steps")
    # a time budget beside the steps (--max-minutes): the run ends with a checkpoint, and a
    # fine-tune keeps its best adapter so far
    p.timeLimitSpin = QSpinBox(box)
    p.timeLimitSpin.setObjectName("timeLimitSpin")
    p.timeLimitSpin.setAccessibleName("Time limit in minutes")
    p.timeLimitSpin.setRange(0, 7 * 24 * 60)
    p.timeLimitSpin.setSingleStep(5)
    p.timeLimitSpin.setSuffix(" min")
    p.timeLimitSpin.setSpecialValueText("no limit")
    p.timeLimitSpin.setToolTip("Stop after this many minutes of training, with a checkpoint; "
                               "a fine-tune keeps the adapter that scored best so far")
    p.timeLimitLabel = QLabel("at most", box)
    p.timeLimitLabel.setBuddy(p.timeLimitSpin)
    steps_row = QHBoxLayout()
    steps_row.addWidget(p.stepsSpin, 1)
    steps_row.addWidget(p.timeLimitLabel)
    steps_row.addWidget(p.timeLimitSpin, 1)
    p.modelNameEdit = QLineEdit(box)
    p.modelNameEdit.setObjectName("modelNameEdit")
    p.modelNameEdit.setAccessibleName("Model name")
    p.dataFolderEdit = QLineEdit(box)
    p.dataFolderEdit.setObjectName("dataFolderEdit")
    p.dataFolderEdit.setAccessibleName("Data folder")
    p.dataFolderEdit.setPlaceholderText("a folder of .txt / .md, images or .mid files")
    p.browseButton = _button(box, "browseButton", "Browse…", "Choose the folder of your files (for text, or one file)")
    folder_row = QHBoxLayout()
    folder_row.addWidget(p.dataFolderEdit, 1)
    folder_row.addWidget(p.browseButton)
    form.addRow("Train", p.trainKindCombo)
    form.addRow("Start from", p.startFromCombo)
    form.addRow("Steps", steps_row)
    form.addRow("Model name", p.modelNameEdit)
    form.addRow("Your files", folder_row)

    p.estimateLabel = _label(box, "estimateLabel")
    p.estimateLabel.setStyleSheet("color: palette(placeholder-text);")
    p.dataCheckLabel = _label(box, "dataCheckLabel")
    p.dataCheckLabel.setAccessibleName("Data check")

    p.resumeBox = QFrame(box)
    p.resumeBox.setObjectName("resumeBox")
    p.resumeBox.setFrameShape(QFrame.Shape.StyledPanel)
    p.resumeLabel = _label(p.resumeBox, "resumeLabel")
    p.resumeButton = _button(p.resumeBox, "resumeButton", "Resume", "Continue from the checkpoint")
    p.discardButton = _button(p.resumeBox, "discardButton", "Discard",
                              "Delete this run's checkpoints")
    rl = QVBoxLayout(p.resumeBox)
    rl.addWidget(p.resumeLabel)
    rrow = QHBoxLayout()
    rrow.addStretch(1)
    rrow.addWidget(p.discardButton)
    rrow.addWidget(p.resumeButton)
    rl.addLayout(rrow)
    p.resumeBox.hide()

    p.startButton = _button(box, "startButton", "Start", "Check the data and start training")
    p.pauseButton = _button(box, "pauseButton", "Pause",
                            "Save a checkpoint and stop; Resume continues from it")
    p.cancelButton = _button(box, "cancelButton", "Cancel",
                             "Stop now; the last checkpoint is kept")
    p.startButton.setDefault(True)
    buttons = QHBoxLayout()
    buttons.addWidget(p.cancelButton)
    buttons.addWidget(p.pauseButton)
    buttons.addStretch(1)
    buttons.addWidget(p.startButton)

    p.commandLabel = _label(box, "commandLabel")
    p.commandLabel.setStyleSheet("font-family: monospace; font-size: 9pt;")
    p.copyCommandButton = _button(box, "copyCommandButton", "Copy command",
                                  "Copy the command line to run this training elsewhere")
    crow = QHBoxLayout()
    crow.addWidget(QLabel("Command line", box), 1)
    crow.addWidget(p.copyCommandButton)
    p.messageLabel = _label(box, "trainMessage")
    p.messageLabel.hide()
    # after a run: open the new model in the room that uses it (its text says which)
    p.useModelButton = _button(box, "useModelButton", "Use it", "Open the new model in its room")
    p.useModelButton.hide()
    use_row = QHBoxLayout()
    use_row.addStretch(1)
    use_row.addWidget(p.useModelButton)

    layout = QVBoxLayout(box)
    layout.setContentsMargins(0, 0, 8, 0)
    layout.addLayout(form)
    layout.addWidget(p.estimateLabel)
    layout.addWidget(p.dataCheckLabel)
    layout.addWidget(p.resumeBox)
    layout.addLayout(buttons)
    layout.addWidget(p.messageLabel)
    layout.addLayout(use_row)
    layout.addSpacing(6)
    layout.addLayout(crow)
    layout.addWidget(p.commandLabel)
    layout.addStretch(1)
    return box


def _build_right(p) -> QWidget:
    box = QWidget(p)
    p.progressBar = QProgressBar(box)
    p.progressBar.setObjectName("trainProgress")
    p.progressBar.setRange(0, 1)
    p.progressBar.setValue(0)
    p.etaLabel = _label(box, "etaLabel", wrap=False)
    p.statusLabel = _label(box, "trainStatus")
    top = QHBoxLayout()
    top.addWidget(p.progressBar, 1)
    top.addWidget(p.etaLabel)
    p.charts = TrainCharts(box)
    p.lossPlot = p.charts.lossPlot
    p.samples = SamplesView(box)
    p.samplesView = p.samples.view
    p.logView = QPlainTextEdit(box)
    p.logView.setObjectName("trainLog")
    p.logView.setReadOnly(True)
    p.logView.setMaximumBlockCount(3000)
    p.tabs = QTabWidget(box)
    p.tabs.addTab(p.samples, "Samples")
    p.tabs.addTab(p.logView, "Log")
    split = QSplitter(Qt.Orientation.Vertical, box)
    split.addWidget(p.charts)
    split.addWidget(p.tabs)
    split.setStretchFactor(0, 3)
    split.setStretchFactor(1, 2)
    layout = QVBoxLayout(box)
    layout.setContentsMargins(8, 0, 0, 0)
    layout.addLayout(top)
    layout.addWidget(p.statusLabel)
    layout.addWidget(split, 1)
    return box


class TrainWidgets:
    """The widgets :func:`build_layout` creates on the Train panel: the contract its mixins
    and the panel rely on (``tests/ui/test_room_contracts.py`` checks both ways)."""

    browseButton: QPushButton
    cancelButton: QPushButton
    charts: TrainCharts
    commandLabel: QLabel
    copyCommandButton: QPushButton
    dataCheckLabel: QLabel
    dataFolderEdit: QLineEdit
    discardButton: QPushButton
    estimateLabel: QLabel
    etaLabel: QLabel
    logView: QPlainTextEdit
    lossPlot: PlotWidget
    messageLabel: QLabel
    modelNameEdit: QLineEdit
    pauseButton: QPushButton
    progressBar: QProgressBar
    resumeBox: QFrame
    resumeButton: QPushButton
    resumeLabel: QLabel
    samples: SamplesView
    samplesView: QTextBrowser
    startButton: QPushButton
    startFromCombo: QComboBox
    statusLabel: QLabel
    stepsSpin: QSpinBox
    timeLimitLabel: QLabel
    timeLimitSpin: QSpinBox
    tabs: QTabWidget
    trainKindCombo: QComboBox
    useModelButton: QPushButton


def build_layout(p) -> None:
    """Create the room's widgets as attributes of panel ``p`` and lay them out.

    Everything sits in a scroll area, so the room never forces a minimum window size on the
    other rooms (a narrow window scrolls instead)."""
    content = QWidget(p)
    content.setObjectName("trainContent")
    title = QLabel(p.title, content)
    title.setObjectName("roomTitle")
    tagline = QLabel(p.tagline, content)
    tagline.setObjectName("roomTagline")
    left = _build_left(p)
    left.setParent(content)
    left_scroll = QScrollArea(content)
    left_scroll.setWidget(left)
    left_scroll.setWidgetResizable(True)
    left_scroll.setFrameShape(QFrame.Shape.NoFrame)
    left_scroll.setMinimumWidth(300)
    left_scroll.setMaximumWidth(460)
    left_scroll.setSizePolicy(QSizePolicy.Policy.Preferred, QSizePolicy.Policy.Expanding)
    body = QHBoxLayout()
    body.addWidget(left_scroll, 2)
    body.addWidget(_build_right(p), 3)
    inner = QVBoxLayout(content)
    inner.setContentsMargins(20, 16, 20, 12)
    inner.addWidget(title)
    inner.addWidget(tagline)
    inner.addWidget(p.modelMessage)
    inner.addLayout(body, 1)
    outer = QScrollArea(p)
    outer.setObjectName("trainScroll")
    outer.setWidget(content)
    outer.setWidgetResizable(True)
    outer.setFrameShape(QFrame.Shape.NoFrame)
    layout = QVBoxLayout(p)
    layout.setContentsMargins(0, 0, 0, 0)
    layout.addWidget(outer)
    p._set_state("idle")
