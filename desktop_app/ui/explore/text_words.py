"""The analogy box for word maps: ``a − b + c`` → the nearest words (GUI thread).

Works on the map's word vectors (the model's token embeddings) in numpy; with a small model
the answers are often odd — the box shows what is there, with cosine similarities.
"""

from __future__ import annotations

from PySide6.QtCore import Signal
from PySide6.QtWidgets import QHBoxLayout, QLabel, QLineEdit, QListWidget, QVBoxLayout, QWidget

from desktop_app.core.errors import DataError
from desktop_app.core.projection import word_analogy


class AnalogyBox(QWidget):
    """Three word boxes and the answers (objectName ``analogyBox``)."""

    answered = Signal(list)

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self.setObjectName("analogyBox")
        self.vectors = None
        self.words: tuple[str, ...] = ()
        self.a, self.b, self.c = (QLineEdit(self) for _ in range(3))
        for box, hint, name in ((self.a, "king", "analogyA"), (self.b, "man", "analogyB"),
                                (self.c, "woman", "analogyC")):
            box.setPlaceholderText(hint)
            box.setObjectName(name)
            box.returnPressed.connect(self.solve)
        row = QHBoxLayout()
        row.addWidget(self.a)
        row.addWidget(QLabel("−", self))
        row.addWidget(self.b)
        row.addWidget(QLabel("+", self))
        row.addWidget(self.c)
        self.answers = QListWidget(self)
        self.answers.setObjectName("analogyAnswers")
        self.answers.setMaximumHeight(110)
        self.message = QLabel("Word analogy: a − b + c (press Enter)", self)
        self.message.setWordWrap(True)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.message)
        layout.addLayout(row)
        layout.addWidget(self.answers)

    def set_words(self, vectors, words) -> None:
        self.vectors, self.words = vectors, tuple(words)

    def solve(self) -> list[tuple[str, float]]:
        self.answers.clear()
        texts = [box.text().strip() for box in (self.a, self.b, self.c)]
        if self.vectors is None or not all(texts):
            self.message.setText("Type three words: a − b + c")
            return []
        try:
            found = word_analogy(self.vectors, self.words, *texts, k=8)
        except DataError as exc:
            self.message.setText(str(exc))
            return []
        self.message.setText(f"{texts[0]} − {texts[1]} + {texts[2]} ≈ (cosine similarity)")
        for word, sim in found:
            self.answers.addItem(f"{word}    {sim:.3f}")
        self.answered.emit(found)
        return found
