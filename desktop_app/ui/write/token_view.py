"""Token view: the probability behind each generated token, and its alternatives.

GUI thread only. Hovering a generated token in the editor shows a tooltip with its probability
(after the samplers and raw) and its top alternatives. Clicking the token (or right-clicking
it) pins it here, where each alternative is a button: choosing one replaces that token and
regenerates from there. A toggle colours generated text by probability.
"""

from __future__ import annotations

import html

from PySide6.QtCore import Signal
from PySide6.QtWidgets import (QCheckBox, QGridLayout, QLabel, QPushButton, QVBoxLayout, QWidget)

from desktop_app.ui.write.inspector import show_token


def _pct(p: float | None) -> str:
    if p is None:  # a serving engine that cannot report this number
        return "n/a"
    return f"{p * 100:.1f}%" if p >= 0.001 else f"{p * 100:.2g}%"


def tooltip_html(token) -> str:
    """Rich-text tooltip for a TokenInfo: its probability and its alternatives."""
    rows = "".join(
        f"<tr><td><code>{html.escape(show_token(a.text))}</code></td>"
        f"<td align='right'>{_pct(a.probability)}</td>"
        f"<td align='right' style='color:gray'>{_pct(a.raw_probability)}</td></tr>"
        for a in getattr(token, "alternatives", ()))
    return (f"<b><code>{html.escape(show_token(token.text))}</code></b> — "
            f"{_pct(token.probability)} after sampling, {_pct(token.raw_probability)} raw"
            + (" <i>(n/a: the server cannot report it)</i>" if None in (
                token.probability, token.raw_probability) else "") +
            f"<table cellspacing='4'><tr><th align='left'>alternative</th><th>sampled</th>"
            f"<th>raw</th></tr>{rows}</table><i>Click the token to pick an alternative.</i>")


class TokenView(QWidget):
    """The pinned token's details with clickable alternatives (objectName ``tokenView``)."""

    #: span, token index, chosen TokenAlternative
    alternative_chosen = Signal(object, int, object)
    colour_toggled = Signal(bool)

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self.setObjectName("tokenView")
        self.setAccessibleName("Token details")
        self.colour_check = QCheckBox("Colour generated text by probability", self)
        self.colour_check.setObjectName("colourByProbabilityCheck")
        self.colour_check.setToolTip("Tint each generated token: green likely, red unlikely.")
        self.colour_check.toggled.connect(self.colour_toggled)
        self.title = QLabel("Hover a generated token to see its probability; click it to see "
                            "and choose its alternatives.", self)
        self.title.setWordWrap(True)
        self.title.setObjectName("tokenTitle")
        self.grid = QGridLayout()
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.colour_check)
        layout.addWidget(self.title)
        layout.addLayout(self.grid)
        layout.addStretch(1)
        self.buttons: list[QPushButton] = []
        self.span = None
        self.index = -1

    def show_token(self, span, index: int) -> None:
        """Pin ``span.tokens[index]`` and list its alternatives as buttons."""
        self.span, self.index = span, index
        token = span.tokens[index]
        self.title.setText(f"Token {index + 1} of {len(span.tokens)}: "
                           f"<b>{html.escape(show_token(token.text))}</b> — "
                           f"{_pct(token.probability)} after sampling, "
                           f"{_pct(token.raw_probability)} raw"
                           + (" (n/a: the server did not report it)" if None in (
                               token.probability, token.raw_probability) else "")
                           + ". Choose another to replace it and regenerate from there:")
        for button in self.buttons:
            button.setParent(None)
            button.deleteLater()
        self.buttons = []
        for row, alt in enumerate(token.alternatives):
            label = f"{show_token(alt.text)}   {_pct(alt.probability)}  (raw {_pct(alt.raw_probability)})"
            button = QPushButton(label, self)
            button.setObjectName(f"alternative{row}Button")
            button.setToolTip("Replace the token with this one and regenerate what follows")
            same = (alt.id == token.id) if alt.id >= 0 else (alt.text == token.text)
            button.setEnabled(not same)
            button.clicked.connect(lambda _=False, a=alt: self.alternative_chosen.emit(
                self.span, self.index, a))
            self.grid.addWidget(button, row, 0)
            self.buttons.append(button)

    def clear(self) -> None:
        self.span, self.index = None, -1
        for button in self.buttons:
            button.setParent(None)
            button.deleteLater()
        self.buttons = []
        self.title.setText("Hover a generated token to see its probability; click it to see "
                           "and choose its alternatives.")
