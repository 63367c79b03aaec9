"""Variants view: 1–6 continuations of the same text side by side; click one to insert it.

GUI thread only. Each column is a read-only text box that fills as its variant streams, with
its seed above it and an "Insert" button below it.
"""

from __future__ import annotations

from PySide6.QtCore import Signal
from PySide6.QtGui import QTextCursor
from PySide6.QtWidgets import (QHBoxLayout, QLabel, QPlainTextEdit, QPushButton, QVBoxLayout,
                               QWidget)

MAX_VARIANTS = 6


class _VariantColumn(QWidget):
    def __init__(self, index: int, parent=None) -> None:
        super().__init__(parent)
        self.setObjectName(f"variant{index}")
        self.index = index
        self.title = QLabel(f"Variant {index + 1}", self)
        self.text = QPlainTextEdit(self)
        self.text.setReadOnly(True)
        self.text.setObjectName(f"variantText{index}")
        self.text.setAccessibleName(f"Variant {index + 1} text")
        self.text.viewport().setCursor(self.cursor())
        self.insert_button = QPushButton("Insert", self)
        self.insert_button.setObjectName(f"insertVariant{index}Button")
        self.insert_button.setToolTip("Insert this continuation at the cursor in the document")
        self.insert_button.setEnabled(False)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(2, 2, 2, 2)
        layout.addWidget(self.title)
        layout.addWidget(self.text, 1)
        layout.addWidget(self.insert_button)
        self.tokens: list = []
        self.seed: int | None = None

    def append(self, text: str, tokens) -> None:
        cursor = self.text.textCursor()
        cursor.movePosition(QTextCursor.MoveOperation.End)
        cursor.insertText(text)
        self.tokens.extend(tokens)

    def plain(self) -> str:
        return self.text.toPlainText()


class VariantsView(QWidget):
    """The variants strip (objectName ``variantsView``)."""

    #: index of the variant, its text, its token details
    insert_requested = Signal(int, str, object)

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self.setObjectName("variantsView")
        self.setAccessibleName("Variants")
        self.columns: list[_VariantColumn] = []
        self.header = QLabel("Variants: generate several continuations to compare them here.")
        self.header.setWordWrap(True)
        self._row = QHBoxLayout()
        self._row.setSpacing(6)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 4, 0, 0)
        layout.addWidget(self.header)
        layout.addLayout(self._row, 1)

    def start(self, seeds: list[int]) -> None:
        """Clear and make one column per seed (1–6)."""
        for column in self.columns:
            column.setParent(None)
            column.deleteLater()
        self.columns = []
        for i, seed in enumerate(seeds[:MAX_VARIANTS]):
            column = _VariantColumn(i, self)
            column.seed = seed
            column.title.setText(f"Variant {i + 1} · seed {seed}")
            column.insert_button.clicked.connect(lambda _=False, c=column: self._insert(c))
            self._row.addWidget(column, 1)
            self.columns.append(column)
        self.header.setText(f"{len(self.columns)} variants of the same text, each with its own "
                            "seed. Click Insert under the one you want.")

    def append(self, variant: int, text: str, tokens=()) -> None:
        if 0 <= variant < len(self.columns):
            self.columns[variant].append(text, tokens)

    def finish(self) -> None:
        for column in self.columns:
            column.insert_button.setEnabled(bool(column.plain()))

    def texts(self) -> list[str]:
        return [c.plain() for c in self.columns]

    def _insert(self, column: _VariantColumn) -> None:
        self.insert_requested.emit(column.index, column.plain(), list(column.tokens))
