"""Samples while the model learns: text continuations, image grids, melodies (with Play).

GUI thread. The trainer prints a sample every N steps as text. Text samples are shown as they
are; an image trainer's sample names a PNG grid it saved (held-out pictures, their
reconstructions, random decodes), which is shown inline; a melody trainer's sample is its token
names (``+0 d1/4 -3 d1/2 | ...``: pitch relative to the tonic, then a duration), decoded here
into a Melody in C major that the Compose room's synth can play.
"""

from __future__ import annotations

import html
import re
from fractions import Fraction
from pathlib import Path

from PySide6.QtCore import QUrl
from PySide6.QtWidgets import (QHBoxLayout, QLabel, QPushButton, QTextBrowser, QVBoxLayout,
                               QWidget)

from desktop_app.core.melody import Key, Melody, Meter, Note

_PNG = re.compile(r"(/\S+\.png|[A-Za-z]:\\\S+\.png)")
MAX_SAMPLES = 30


def melody_from_tokens(text: str, tempo: float = 120.0) -> Melody | None:
    """Decode a melody sample's token names into a Melody (None when it holds no notes)."""
    now, notes, pending = Fraction(0), [], None
    for tok in text.split():
        if tok == "r" or re.fullmatch(r"[+-]\d+", tok):
            pending = "rest" if tok == "r" else int(tok)
        elif tok.startswith("d") and pending is not None:
            try:
                dur = Fraction(tok[1:])
            except (ValueError, ZeroDivisionError):
                pending = None
                continue
            if dur > 0:
                if pending != "rest" and 0 <= 60 + pending <= 127:
                    notes.append(Note(start=float(now), pitch=60 + pending,
                                      duration=float(dur)))
                now += dur
            pending = None
    if not notes:
        return None
    return Melody(notes=tuple(notes), key=Key(), meter=Meter(), tempo=tempo,
                  title="training sample")


class SamplesView(QWidget):
    """The samples list (``samplesView``, newest first) and a Play button for melodies."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.view = QTextBrowser(self)
        self.view.setObjectName("samplesView")
        self.view.setAccessibleName("Samples while training")
        self.view.setOpenLinks(False)
        # two lines: a text view's placeholder is not wrapped, and one line was cut off
        self.view.setPlaceholderText("Samples appear here every few steps while the model "
                                     "trains,\nso you can watch what it learns.")
        self.playButton = QPushButton("Play latest melody", self)
        self.playButton.setObjectName("playSampleButton")
        self.playButton.clicked.connect(self._on_play_clicked)
        self.playButton.hide()
        self.statusLabel = QLabel(self)
        self.statusLabel.setWordWrap(True)
        self.statusLabel.hide()
        row = QHBoxLayout()
        row.addWidget(self.playButton)
        row.addWidget(self.statusLabel, 1)
        row.addStretch(0)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.view, 1)
        layout.addLayout(row)
        self.kind = "text"
        self.entries: list[tuple[int, str, str]] = []   # (step, sample, label), newest first
        self.images: list[Path] = []
        self.melody: Melody | None = None
        self._player = None

    def clear(self, kind: str) -> None:
        self.kind = kind
        self.entries, self.images, self.melody = [], [], None
        self.playButton.setVisible(kind == "music")
        self.playButton.setEnabled(False)
        self._say("")
        self.view.clear()

    def add(self, step: int, sample: str) -> None:
        if self.entries and self.entries[0][:2] == (step, sample):
            return   # a fine-tune's "after" sample when the kept adapter is the last step's
        self.entries.insert(0, (step, sample, ""))
        del self.entries[MAX_SAMPLES:]
        match = _PNG.search(sample)
        if match and Path(match.group(1)).is_file():
            self.images.insert(0, Path(match.group(1)))
        if self.kind == "music":
            self.melody = melody_from_tokens(sample) or self.melody
            self.playButton.setEnabled(self.melody is not None)
        self._render()

    def label_latest(self, label: str) -> None:
        """Name the newest sample (e.g. a fine-tune's last one, of the adapter it keeps)."""
        if self.entries:
            step, sample, _ = self.entries[0]
            self.entries[0] = (step, sample, label)
            self._render()

    def _render(self) -> None:
        parts = []
        for step, sample, label in self.entries:
            match = _PNG.search(sample)
            body = html.escape(sample)
            if match and Path(match.group(1)).is_file():
                url = QUrl.fromLocalFile(match.group(1)).toString()
                body = (html.escape(sample[:match.start()].rstrip(" ;:,"))
                        + f"<br><img src='{url}' width='360'>")
            title = f"Step {step:,}" + (f" · {html.escape(label)}" if label else "")
            parts.append(f"<p><b>{title}</b><br>{body}</p>")
        self.view.setHtml("".join(parts))

    def _say(self, text: str) -> None:
        self.statusLabel.setText(text)
        self.statusLabel.setVisible(bool(text))

    def _on_play_clicked(self) -> None:
        if self.melody is None:
            return
        try:
            from desktop_app.ui.widgets.audio_player import AudioPlayer
        except ImportError:
            self._say("Audio preview is not available in this installation.")
            return
        if self._player is None:
            self._player = AudioPlayer(self)
            self._player.error.connect(self._say)
        if not self._player.output_available():
            from desktop_app.ui.widgets.audio_player import NO_OUTPUT
            self._say(NO_OUTPUT)
            return
        self._player.play(self.melody)
