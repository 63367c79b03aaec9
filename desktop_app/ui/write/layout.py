"""Builds the Write room's widgets and lays them out (GUI thread only; no behaviour here).

    [model picker ............................ | max tokens | variants | instruction]
    [restore banner (after a crash)]
    [instruction line (instruction mode)]
    [example openings (empty document)]
    [ editor              | side tabs: Inspector · Token · Advanced · History ]
    [ find / replace bar  |                                                   ]
    [ variants (when N>1) |                                                   ]
    [doc name · words · tokens/s · context gauge ·  Accept  Regenerate  Stop  Generate]
"""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (QBoxLayout, QCheckBox, QFrame, QHBoxLayout, QLabel, QLineEdit,
                               QListWidget, QPushButton, QScrollArea, QSizePolicy, QSpinBox,
                               QSplitter, QTabWidget, QVBoxLayout, QWidget)

from desktop_app.core import paths
from desktop_app.ui.widgets.error_label import error_label
from desktop_app.ui.write.advanced import AdvancedSampling
from desktop_app.ui.write.context_gauge import ContextGauge
from desktop_app.ui.write.editor import DocumentEditor
from desktop_app.ui.write.find_replace import FindReplaceBar
from desktop_app.ui.write.fitting_label import FittingLabel, FittingRow
from desktop_app.ui.write.inspector import DistributionInspector
from desktop_app.ui.write.model_picker import ModelPicker
from desktop_app.ui.write.token_view import TokenView
from desktop_app.ui.write.variants import MAX_VARIANTS, VariantsView


def read_openings() -> list[str]:
    """Example openings from resources/prompts/openings.txt (one per line; may be missing)."""
    try:
        text = (paths.resources_dir() / "prompts" / "openings.txt").read_text(encoding="utf-8")
    except OSError:
        return []
    return [line.strip() for line in text.splitlines() if line.strip()
            and not line.startswith("#")][:12]


def fit_openings(openings: QListWidget) -> None:
    """Make the openings list exactly as tall as its rows (call again after a font change)."""
    rows = sum(openings.sizeHintForRow(i) + 2 * openings.spacing()
               for i in range(openings.count()))
    openings.setFixedHeight(rows + 2 * openings.frameWidth() + 2)


#: The Write room's default context: 2,048 tokens keeps the inspector and streaming responsive
#: (SmolLM2-135M at fp32 read ~77 tokens/s with 2,048-token windows on the loaded 2-core test
#: machine; 8,192 costs at least 4x per pass), while the spin box allows the model's whole one.
DEFAULT_CONTEXT = 2048
#: Instruction mode's system prompt (SmolLM2's template would otherwise introduce "a helpful AI
#: assistant named SmolLM", which answers like a chatbot rather than a writer).
DEFAULT_SYSTEM_PROMPT = ("You are a fiction writer. Write exactly what is asked, as vivid, "
                         "concrete prose or verse, with no preamble and no explanations.")


def _spin(panel, name: str, tip: str, lo: int, hi: int, value: int) -> QSpinBox:
    spin = QSpinBox(panel)
    spin.setObjectName(name)
    spin.setRange(lo, hi)
    spin.setValue(value)
    spin.setToolTip(tip)
    spin.setAccessibleName(tip.split(":")[0])
    return spin


def _top_row(p) -> QHBoxLayout:
    p.picker = ModelPicker(p)
    p.maxTokensSpin = _spin(p, "maxTokensSpin", "Max tokens: the most tokens one generation "
                            "adds", 1, 8192, 200)
    p.variantsSpin = _spin(p, "variantsSpin", "Variants: how many continuations to make side "
                           "by side (1 writes into the document)", 1, MAX_VARIANTS, 1)
    p.contextSpin = _spin(p, "contextSpin", "Context: the most tokens of your text the model "
                          "reads (longer is slower; the model's own limit is the maximum)",
                          64, 8192, DEFAULT_CONTEXT)
    p.contextSpin.setSingleStep(256)
    p.instructionCheck = QCheckBox("Instruction", p)
    p.instructionCheck.setObjectName("instructionCheck")
    p.instructionCheck.setEnabled(False)
    p.instructionCheck.setToolTip("Needs a model with a chat template")
    row = QHBoxLayout()
    row.addWidget(p.picker, 1)
    for label, widget in (("Max tokens", p.maxTokensSpin), ("Variants", p.variantsSpin),
                          ("Context", p.contextSpin)):
        row.addWidget(QLabel(label, p))
        row.addWidget(widget)
    row.addWidget(p.instructionCheck)
    row.setAlignment(p.picker, Qt.AlignmentFlag.AlignTop)
    return row


def _side_tabs(p) -> QTabWidget:
    p.side_tabs = QTabWidget(p)
    p.side_tabs.setObjectName("writeSideTabs")
    p.inspector = DistributionInspector(p)
    p.inspector_page = p.inspector
    p.token_view = TokenView(p)
    p.token_page = p.token_view
    p.advanced = AdvancedSampling(p.randomness, p)
    scroll = QScrollArea(p)
    scroll.setWidgetResizable(True)
    scroll.setWidget(p.advanced)
    p.history_list = QListWidget(p)
    p.history_list.setObjectName("historyList")
    p.history_list.setToolTip("Every generation in this document, with its model, seed and "
                              "settings (kept in .reverie files)")
    p.side_tabs.addTab(p.inspector, "Inspector")
    p.side_tabs.addTab(p.token_view, "Token")
    p.side_tabs.addTab(scroll, "Advanced")
    p.side_tabs.addTab(p.history_list, "History")
    p.side_tabs.setMinimumWidth(260)
    return p.side_tabs


def _status_row(p) -> FittingRow:
    p.docLabel = FittingLabel(p)
    p.docLabel.setText("Untitled")
    p.docLabel.setObjectName("documentNameLabel")
    p.countLabel = FittingLabel(p)
    p.countLabel.setText("0 words · 0 characters")
    p.countLabel.setObjectName("wordCountLabel")
    p.countLabel.setAccessibleName("Word and character count")
    p.rateLabel = FittingLabel(p)
    p.rateLabel.setObjectName("tokensPerSecondLabel")
    p.rateLabel.setAccessibleName("Tokens per second")
    p.gauge = ContextGauge(p)
    p.errorLabel = error_label(p, "writeErrorLabel")
    p.regenerateButton = QPushButton("Regenerate", p)
    p.regenerateButton.setObjectName("regenerateButton")
    p.regenerateButton.setToolTip("Replace the last generation (Ctrl+R; a new seed unless the seed "
                                  "is locked)")
    p.acceptButton = QPushButton("Accept", p)
    p.acceptButton.setObjectName("acceptButton")
    p.acceptButton.setToolTip("Keep the generated text as your own (typing also accepts it)")
    buttons = p.make_generate_buttons()
    buttons.insertWidget(1, p.acceptButton)
    buttons.insertWidget(2, p.regenerateButton)
    p.footer = FittingRow(p)
    p.footer.setObjectName("writeFooter")
    box = QBoxLayout(QBoxLayout.Direction.LeftToRight, p.footer)
    box.setContentsMargins(0, 0, 0, 0)
    box.setSpacing(10)
    readouts = QWidget(p.footer)
    row = QHBoxLayout(readouts)
    row.setContentsMargins(0, 0, 0, 0)
    row.setSpacing(10)
    # The read-outs take their natural width and switch to shorter wordings together when the
    # row is narrow (FittingRow); when even the shortest do not fit beside the buttons, the
    # buttons go to a line of their own; only then does a read-out end in "…" (whole text in
    # the tooltip) rather than be cut mid-word.
    for w in (p.docLabel, p.countLabel, p.rateLabel, p.gauge):
        w.setSizePolicy(QSizePolicy.Policy.Preferred, QSizePolicy.Policy.Preferred)
        w.setMinimumWidth(30)
        row.addWidget(w)
    row.addStretch(1)
    box.addWidget(readouts, 1)
    box.addLayout(buttons)
    p.footer.wrap_with(box, readouts)
    return p.footer


class WriteWidgets:
    """The widgets :func:`build_layout` creates on the Write panel: the contract its mixins
    and the panel rely on (``tests/ui/test_room_contracts.py`` checks both ways)."""

    acceptButton: QPushButton
    advanced: AdvancedSampling
    contextSpin: QSpinBox
    countLabel: FittingLabel
    docLabel: FittingLabel
    editor: DocumentEditor
    editor_split: QSplitter
    errorLabel: QLabel
    find_bar: FindReplaceBar
    footer: FittingRow
    gauge: ContextGauge
    history_list: QListWidget
    inspector: DistributionInspector
    inspector_page: DistributionInspector
    instructionCheck: QCheckBox
    instructionEdit: QLineEdit
    maxTokensSpin: QSpinBox
    openings: QListWidget
    picker: ModelPicker
    rateLabel: FittingLabel
    regenerateButton: QPushButton
    side_tabs: QTabWidget
    systemEdit: QLineEdit
    token_page: TokenView
    token_view: TokenView
    variantsSpin: QSpinBox
    variants_view: VariantsView


def build_layout(p) -> None:
    """Create every widget of the Write panel ``p`` as an attribute and lay them out."""
    p.editor = DocumentEditor(p)
    p.find_bar = FindReplaceBar(p.editor, p)
    p.variants_view = VariantsView(p)
    p.variants_view.hide()
    p.instructionEdit = QLineEdit(p)
    p.instructionEdit.setObjectName("instructionEdit")
    p.instructionEdit.setPlaceholderText("An instruction, e.g. “Write a funny poem about space "
                                         "exploration”; the answer goes in at the cursor")
    p.instructionEdit.hide()
    p.systemEdit = QLineEdit(DEFAULT_SYSTEM_PROMPT, p)
    p.systemEdit.setObjectName("systemPromptEdit")
    p.systemEdit.setToolTip("System prompt: how the model should behave when it answers an "
                            "instruction (sent with every instruction; edit it freely)")
    p.systemEdit.setPlaceholderText("System prompt (empty: the model's own default)")
    p.systemEdit.hide()
    p.openings = QListWidget(p)
    p.openings.setObjectName("openingsList")
    p.openings.setToolTip("Click an opening to start from it")
    p.openings.addItems(read_openings())
    # Every opening shows whole, with room between them: the list is as tall as its rows
    # (a fixed 118 px squeezed ten of them and cut the last one); the document is empty
    # while it shows, so the editor can spare the height.
    p.openings.setSpacing(2)
    p.openings.setVerticalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
    p.openings.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
    fit_openings(p.openings)

    left = QWidget(p)
    lv = QVBoxLayout(left)
    lv.setContentsMargins(0, 0, 0, 0)
    lv.addWidget(p.openings)
    lv.addWidget(p.editor, 1)
    lv.addWidget(p.find_bar)
    editor_split = p.editor_split = QSplitter(Qt.Orientation.Vertical, p)
    editor_split.addWidget(left)
    editor_split.addWidget(p.variants_view)
    editor_split.setStretchFactor(0, 3)
    editor_split.setStretchFactor(1, 2)
    main_split = QSplitter(Qt.Orientation.Horizontal, p)
    main_split.setObjectName("writeSplitter")
    main_split.addWidget(editor_split)
    main_split.addWidget(_side_tabs(p))
    main_split.setStretchFactor(0, 3)
    main_split.setStretchFactor(1, 2)

    # Everything sits in a scroll area, so a small window scrolls the room instead of refusing
    # to shrink (the main window must fit an 800-pixel screen with its side bars).
    content = QWidget(p)
    content.setObjectName("writeContent")
    scroll = QScrollArea(p)
    scroll.setWidgetResizable(True)
    scroll.setFrameShape(QFrame.Shape.NoFrame)
    scroll.setWidget(content)
    outer = QVBoxLayout(p)
    outer.setContentsMargins(0, 0, 0, 0)
    outer.addWidget(scroll)
    layout = QVBoxLayout(content)
    layout.setContentsMargins(10, 8, 10, 6)
    layout.setSpacing(6)
    layout.addLayout(_top_row(p))
    layout.addWidget(p.modelMessage)
    layout.addWidget(p.autosave.banner)
    layout.addWidget(p.systemEdit)
    layout.addWidget(p.instructionEdit)
    layout.addWidget(main_split, 1)
    status = _status_row(p)
    layout.addWidget(p.errorLabel)
    layout.addWidget(status)
