"""The red of an error message, in one place: a label that shows what went wrong.

Every room and dialog that says why something failed uses this colour, so one change here
restyles them all. :func:`error_label` makes the usual word-wrapped, hidden-until-needed label;
:func:`mark_error` turns the colour on or off on a label that also shows ordinary text;
:func:`error_html` colours a message inside rich text.
"""

from __future__ import annotations

from html import escape

from PySide6.QtWidgets import QLabel, QWidget

ERROR_COLOUR = "#c0392b"


def mark_error(label: QLabel, error: bool = True) -> None:
    """Show ``label``'s text in the error colour (or, with ``error=False``, the normal one)."""
    label.setStyleSheet(f"color: {ERROR_COLOUR};" if error else "")


def error_label(parent: QWidget, name: str) -> QLabel:
    """An empty, word-wrapped, hidden label in the error colour, named ``name``."""
    label = QLabel("", parent)
    label.setObjectName(name)
    label.setWordWrap(True)
    mark_error(label)
    label.hide()
    return label


def error_html(message: str) -> str:
    """Plain-text ``message`` as rich text in the error colour (``<`` and ``&`` kept as text)."""
    return f"<span style='color:{ERROR_COLOUR}'>{escape(message, quote=False)}</span>"
