"""Find (Ctrl+F) and replace (Ctrl+H) bar for the Write room's editor. GUI thread only.

Matches are found with ``QTextDocument.find`` (fast on large documents); up to
:data:`MAX_HIGHLIGHTS` of them are highlighted. "Replace all" is one undo step.
"""

from __future__ import annotations

from PySide6.QtCore import Signal
from PySide6.QtGui import QColor, QTextCharFormat, QTextCursor, QTextDocument
from PySide6.QtWidgets import (QCheckBox, QHBoxLayout, QLabel, QLineEdit, QPushButton, QTextEdit,
                               QToolButton, QVBoxLayout, QWidget)

MAX_HIGHLIGHTS = 2000
MATCH_BG = QColor(255, 210, 60, 120)


class FindReplaceBar(QWidget):
    """A hideable bar under the editor (objectName ``findReplaceBar``)."""

    status = Signal(str)

    def __init__(self, editor, parent=None) -> None:
        super().__init__(parent)
        self.setObjectName("findReplaceBar")
        self.editor = editor
        self.find_edit = QLineEdit(placeholderText="Find")
        self.find_edit.setObjectName("findEdit")
        self.replace_edit = QLineEdit(placeholderText="Replace with")
        self.replace_edit.setObjectName("replaceEdit")
        self.case_box = QCheckBox("Match case")
        self.count_label = QLabel("")
        prev_btn, next_btn = QPushButton("Previous"), QPushButton("Next")
        self.replace_btn = QPushButton("Replace")
        self.replace_all_btn = QPushButton("Replace all")
        self.replace_all_btn.setObjectName("replaceAllButton")
        close_btn = QToolButton(text="✕", toolTip="Close the find bar (Esc)")
        top = QHBoxLayout()
        for w in (QLabel("Find:"), self.find_edit, prev_btn, next_btn, self.case_box,
                  self.count_label, close_btn):
            top.addWidget(w)
        self.replace_row = QWidget()
        bottom = QHBoxLayout(self.replace_row)
        bottom.setContentsMargins(0, 0, 0, 0)
        for w in (QLabel("Replace:"), self.replace_edit, self.replace_btn, self.replace_all_btn):
            bottom.addWidget(w)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 2, 4, 2)
        layout.addLayout(top)
        layout.addWidget(self.replace_row)
        self.find_edit.textChanged.connect(self._highlight)
        self.case_box.toggled.connect(self._highlight)
        self.find_edit.returnPressed.connect(self.find_next)
        next_btn.clicked.connect(self.find_next)
        prev_btn.clicked.connect(self.find_previous)
        self.replace_btn.clicked.connect(self.replace_one)
        self.replace_all_btn.clicked.connect(self.replace_all)
        close_btn.clicked.connect(self.close_bar)
        self.hide()

    def open_find(self, replace: bool = False) -> None:
        self.replace_row.setVisible(replace)
        self.show()
        selected = self.editor.textCursor().selectedText()
        if selected and "\u2029" not in selected:
            self.find_edit.setText(selected)
        self.find_edit.setFocus()
        self.find_edit.selectAll()
        self._highlight()

    def close_bar(self) -> None:
        self.hide()
        self.editor.set_search_selections([])
        self.editor.setFocus()

    def _flags(self, backward: bool = False) -> QTextDocument.FindFlag:
        flags = QTextDocument.FindFlag(0)
        if self.case_box.isChecked():
            flags |= QTextDocument.FindFlag.FindCaseSensitively
        if backward:
            flags |= QTextDocument.FindFlag.FindBackward
        return flags

    def _highlight(self) -> None:
        needle = self.find_edit.text()
        selections = []
        if needle:
            doc = self.editor.document()
            cursor = QTextCursor(doc)
            fmt = QTextCharFormat()
            fmt.setBackground(MATCH_BG)
            while len(selections) <= MAX_HIGHLIGHTS:
                cursor = doc.find(needle, cursor, self._flags())
                if cursor.isNull():
                    break
                sel = QTextEdit.ExtraSelection()
                sel.cursor, sel.format = QTextCursor(cursor), fmt
                selections.append(sel)
        count = len(selections)
        self.count_label.setText("" if not needle else
                                 f"{MAX_HIGHLIGHTS}+ matches" if count > MAX_HIGHLIGHTS
                                 else f"{count} match" + ("" if count == 1 else "es"))
        self.editor.set_search_selections(selections[:MAX_HIGHLIGHTS])

    def find_next(self) -> bool:
        return self._find(backward=False)

    def find_previous(self) -> bool:
        return self._find(backward=True)

    def _find(self, backward: bool) -> bool:
        needle = self.find_edit.text()
        if not needle:
            return False
        doc = self.editor.document()
        found = doc.find(needle, self.editor.textCursor(), self._flags(backward))
        if found.isNull():  # wrap around
            start = QTextCursor(doc)
            if backward:
                start.movePosition(QTextCursor.MoveOperation.End)
            found = doc.find(needle, start, self._flags(backward))
        if found.isNull():
            self.status.emit(f"“{needle}” was not found")
            return False
        self.editor.setTextCursor(found)
        return True

    def _matches_selection(self) -> bool:
        selected = self.editor.textCursor().selectedText()
        needle = self.find_edit.text()
        if self.case_box.isChecked():
            return selected == needle
        return selected.casefold() == needle.casefold()

    def replace_one(self) -> None:
        if self.editor.isReadOnly() or not self.find_edit.text():
            return
        if self._matches_selection():
            self.editor.textCursor().insertText(self.replace_edit.text())
        self.find_next()
        self._highlight()

    def replace_all(self) -> int:
        needle, replacement = self.find_edit.text(), self.replace_edit.text()
        if self.editor.isReadOnly() or not needle:
            return 0
        doc = self.editor.document()
        edit = QTextCursor(doc)
        edit.beginEditBlock()
        count = 0
        cursor = QTextCursor(doc)
        while True:
            cursor = doc.find(needle, cursor, self._flags())
            if cursor.isNull():
                break
            cursor.insertText(replacement)
            count += 1
        edit.endEditBlock()
        self.status.emit(f"Replaced {count} occurrence" + ("" if count == 1 else "s"))
        self._highlight()
        return count
