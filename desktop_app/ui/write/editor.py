"""The Write room's document editor: plain text a model can continue at the cursor.

Lives on the GUI thread. Built on ``QPlainTextEdit`` (fast on megabyte documents). Generated
text is part of the document from its first token; until the writer accepts it, it is shown
in a distinct style drawn with *extra selections*, which are not part of the document and so
never pollute the undo stack or the saved file. Each generation is one undo step: the first
chunk opens an edit block and every later chunk joins it (``joinPreviousEditBlock``).

A :class:`GeneratedSpan` follows its text through edits with two ``QTextCursor`` objects (a
start that keeps its place when text is inserted there, and an end that moves with the
insertion), and remembers the per-token details so hovering a token can show its
probability and alternatives while the span's text is unchanged.
"""

from __future__ import annotations

import bisect
from dataclasses import dataclass, field
from typing import Any

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QColor, QFont, QTextCharFormat, QTextCursor, QTextFormat
from PySide6.QtWidgets import QPlainTextEdit, QTextEdit

#: Colour of pending (not yet accepted) generated text's background.
PENDING_BG = QColor(120, 160, 255, 60)


@dataclass
class GeneratedSpan:
    """One generation's text in the document, with per-token details (GUI thread)."""

    start: QTextCursor
    end: QTextCursor
    tokens: list[Any] = field(default_factory=list)  # TokenInfo-like objects, in order
    offsets: list[int] = field(default_factory=list)  # start offset of each token in ``text``
    text: str = ""  # the text inserted into the document so far
    token_chars: int = 0  # characters covered by ``tokens`` (text may lag behind while held)
    accepted: bool = False
    variant: int = 0

    def bounds(self) -> tuple[int, int]:
        return self.start.position(), self.end.position()

    def intact(self, document_text_of) -> bool:
        """True while the document still holds exactly this span's text."""
        a, b = self.bounds()
        return b - a == len(self.text) and document_text_of(a, b) == self.text

    def token_at(self, position: int) -> int | None:
        a, b = self.bounds()
        if not self.tokens or not a <= position < b:
            return None
        index = bisect.bisect_right(self.offsets, position - a) - 1
        if not 0 <= index < len(self.tokens) or not token_text(self.tokens[index]):
            return None
        return index

    def truncate(self, index: int) -> None:
        """Forget tokens from ``index`` on (their text was removed from the document)."""
        if index < len(self.tokens):
            cut = self.offsets[index]
            self.text = self.text[:cut]
            self.token_chars = cut
            del self.tokens[index:], self.offsets[index:]


def token_text(token: Any) -> str:
    """The text piece of a TokenInfo-like object (``text`` or ``piece``)."""
    for name in ("text", "piece"):
        value = getattr(token, name, None)
        if isinstance(value, str):
            return value
    return ""


def token_probability(token: Any) -> float | None:
    # a serving engine may report only the raw probability: colour by that then
    for name in ("probability", "prob", "p", "raw_probability"):
        value = getattr(token, name, None)
        if isinstance(value, (int, float)):
            return float(value)
    return None


def probability_colour(p: float) -> QColor:
    """Red (unlikely) → amber → green (likely), translucent, for colour-by-probability."""
    p = min(max(p, 0.0), 1.0)
    if p < 0.5:
        r, g = 230, int(80 + 300 * p)
    else:
        r, g = int(230 - 340 * (p - 0.5)), 200
    return QColor(r, g, 70, 90)


class DocumentEditor(QPlainTextEdit):
    """The text editor (objectName ``documentEditor``). GUI thread only."""

    generated_changed = Signal()
    token_hovered = Signal(object, int, object)  # span, token index, global QPoint
    token_clicked = Signal(object, int)  # span, token index (a click without a drag)
    alternative_requested = Signal(object, int, object)  # span, token index, TokenAlternative
    file_dropped = Signal(str)  # a local file dropped on the editor: open it, don't paste its URL

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self.setObjectName("documentEditor")
        self.setAccessibleName("Document editor")
        self.setLineWrapMode(QPlainTextEdit.LineWrapMode.WidgetWidth)
        font = QFont(self.font())
        font.setFamilies(["Noto Serif", "DejaVu Serif", "Georgia", "Liberation Serif"])
        font.setStyleHint(QFont.StyleHint.Serif)
        font.setPointSizeF(max(font.pointSizeF(), 12.0))
        self.setFont(font)
        self.document().setDocumentMargin(14)
        self.document().setModified(False)  # the margin change counts as an edit otherwise
        self.setMouseTracking(True)
        self.setTabChangesFocus(False)
        self.spans: list[GeneratedSpan] = []
        self._streaming: GeneratedSpan | None = None
        self._stream_cursor: QTextCursor | None = None
        self._block_open = False
        self.colour_by_probability = False
        self._search_selections: list[QTextEdit.ExtraSelection] = []
        self.document().contentsChanged.connect(self._on_document_changed)

    def _on_document_changed(self) -> None:
        # Undo of a generation collapses its span; drop it and redraw the styles.
        if self.spans and self._streaming is None:
            self._refresh_selections()

    # -- generation ------------------------------------------------------------------------
    def begin_generation(self, position: int | None = None, *, replace: tuple[int, int] | None = None,
                         variant: int = 0) -> GeneratedSpan:
        """Start streaming at ``position`` (default: the cursor); optionally first delete the
        range ``replace`` (regenerate / choose an alternative), in the same undo step."""
        self.accept_generated()
        cursor = QTextCursor(self.document())
        self._block_open = False
        if replace is not None:
            a, b = replace
            cursor.setPosition(a)
            cursor.setPosition(b, QTextCursor.MoveMode.KeepAnchor)
            cursor.beginEditBlock()
            cursor.removeSelectedText()
            cursor.endEditBlock()
            self._block_open = True
            position = a
        elif position is None:
            position = self.textCursor().position()
        cursor.setPosition(position)
        start = QTextCursor(self.document())
        start.setPosition(position)
        start.setKeepPositionOnInsert(True)
        end = QTextCursor(self.document())
        end.setPosition(position)
        span = GeneratedSpan(start=start, end=end, variant=variant)
        self.spans.append(span)
        self._streaming = span
        self._stream_cursor = cursor
        return span

    def append_generated(self, text: str, tokens: tuple | list = ()) -> None:
        """Insert a streamed chunk at the end of the streaming span (joins one undo step)."""
        span, cursor = self._streaming, self._stream_cursor
        if span is None or cursor is None:
            return
        if text:
            cursor.setPosition(span.end.position())
            if self._block_open:
                cursor.joinPreviousEditBlock()
            else:
                cursor.beginEditBlock()
                self._block_open = True
            cursor.insertText(text)
            cursor.endEditBlock()
            # The end cursor sat at the insertion point and moved with it; make sure.
            span.end.setPosition(cursor.position())
            if self.textCursor().position() == span.end.position():
                self.ensureCursorVisible()  # the writer's cursor follows the new text
        span.text += text
        for token in tokens:
            span.offsets.append(span.token_chars)
            span.token_chars += len(token_text(token))
            span.tokens.append(token)
        self._refresh_selections()
        self.generated_changed.emit()

    def end_generation(self) -> GeneratedSpan | None:
        span = self._streaming
        self._streaming = None
        self._stream_cursor = None
        self._block_open = False
        if span is not None:
            # A finished span no longer grows: text typed at either edge stays outside it.
            span.start.setKeepPositionOnInsert(False)
            span.end.setKeepPositionOnInsert(True)
            if span.start.position() == span.end.position():
                self.spans.remove(span)
                span = None
        self._refresh_selections()
        return span

    @property
    def streaming(self) -> bool:
        return self._streaming is not None

    def last_span(self) -> GeneratedSpan | None:
        return self.spans[-1] if self.spans else None

    def accept_generated(self) -> None:
        """Accept all pending generated text: it keeps its tokens but loses the pending style."""
        changed = False
        for span in self.spans:
            if not span.accepted:
                span.accepted = True
                changed = True
        if changed:
            self._refresh_selections()
            self.generated_changed.emit()

    def pending_spans(self) -> list[GeneratedSpan]:
        return [s for s in self.spans if not s.accepted]

    def forget_spans(self) -> None:
        self.spans.clear()
        self._refresh_selections()
        self.generated_changed.emit()

    def text_range(self, a: int, b: int) -> str:
        cursor = QTextCursor(self.document())
        cursor.setPosition(a)
        cursor.setPosition(b, QTextCursor.MoveMode.KeepAnchor)
        # selectedText uses U+2029 for paragraph breaks.
        return cursor.selectedText().replace("\u2029", "\n")

    def text_before(self, position: int) -> str:
        return self.text_range(0, position)

    # -- styling ---------------------------------------------------------------------------
    def set_colour_by_probability(self, on: bool) -> None:
        self.colour_by_probability = on
        self._refresh_selections()

    def set_search_selections(self, selections: list) -> None:
        self._search_selections = list(selections)
        self._refresh_selections()

    def _refresh_selections(self) -> None:
        selections: list[QTextEdit.ExtraSelection] = []
        self.spans = [s for s in self.spans if s is self._streaming
                      or s.start.position() < s.end.position()]
        for span in self.spans:
            a, b = span.bounds()
            if not span.accepted:
                selections.append(self._selection(a, b, background=PENDING_BG, italic=False))
            if self.colour_by_probability and span.tokens and span.intact(self.text_range):
                for offset, token in zip(span.offsets, span.tokens):
                    p = token_probability(token)
                    n = len(token_text(token))
                    if p is None or n == 0:
                        continue
                    selections.append(self._selection(a + offset, a + offset + n,
                                                      background=probability_colour(p)))
        selections.extend(self._search_selections)
        self.setExtraSelections(selections)

    def _selection(self, a: int, b: int, *, background: QColor, italic: bool = False):
        sel = QTextEdit.ExtraSelection()
        fmt = QTextCharFormat()
        fmt.setBackground(background)
        if italic:
            fmt.setFontItalic(True)
        fmt.setProperty(QTextFormat.Property.FullWidthSelection, False)
        cursor = QTextCursor(self.document())
        cursor.setPosition(a)
        cursor.setPosition(b, QTextCursor.MoveMode.KeepAnchor)
        sel.cursor = cursor
        sel.format = fmt
        return sel

    # -- interaction -----------------------------------------------------------------------
    def span_token_at(self, position: int) -> tuple[GeneratedSpan, int] | None:
        for span in reversed(self.spans):
            index = span.token_at(position)
            if index is not None and span.intact(self.text_range):
                return span, index
        return None

    def mouseMoveEvent(self, event) -> None:  # noqa: N802 - Qt override
        super().mouseMoveEvent(event)
        if event.buttons() != Qt.MouseButton.NoButton or self.streaming:
            return
        pos = self.cursorForPosition(event.position().toPoint()).position()
        hit = self.span_token_at(pos)
        if hit is not None:
            self.token_hovered.emit(hit[0], hit[1], event.globalPosition().toPoint())

    def mouseReleaseEvent(self, event) -> None:  # noqa: N802 - Qt override
        super().mouseReleaseEvent(event)
        if (event.button() == Qt.MouseButton.LeftButton and not self.textCursor().hasSelection()
                and not self.streaming):
            hit = self.span_token_at(self.textCursor().position())
            if hit is None:  # the cursor lands after the clicked character's left half
                pos = self.cursorForPosition(event.position().toPoint()).position()
                hit = self.span_token_at(max(pos - 1, 0))
            if hit is not None:
                self.token_clicked.emit(*hit)

    def contextMenuEvent(self, event) -> None:  # noqa: N802 - Qt override
        """The usual menu, plus "Replace with …" for a generated token's alternatives."""
        menu = self.createStandardContextMenu(event.pos())
        hit = None if self.streaming else self.span_token_at(
            self.cursorForPosition(event.pos()).position())
        if hit is not None:
            span, index = hit
            token = span.tokens[index]
            p = token_probability(token)
            shown = token_text(token).replace("\n", "↵")
            sub = menu.addMenu(f"Replace “{shown}”" + (f" ({p:.1%})" if p is not None else "")
                               + " with")
            for alt in getattr(token, "alternatives", ()):
                if alt.id == getattr(token, "id", None):
                    continue
                action = sub.addAction(f"“{alt.text.replace(chr(10), '↵')}”  "
                                       f"{alt.probability:.1%}")
                action.triggered.connect(lambda _=False, a=alt: self.alternative_requested.emit(
                    span, index, a))
            sub.setEnabled(not sub.isEmpty() and not self.isReadOnly())
        menu.exec(event.globalPos())
        menu.deleteLater()

    def canInsertFromMimeData(self, source) -> bool:  # noqa: N802 - Qt override
        return bool(_local_files(source)) or super().canInsertFromMimeData(source)

    def insertFromMimeData(self, source) -> None:  # noqa: N802 - Qt override
        """A dropped (or pasted) file is opened as a document, like File → Open; Qt would
        otherwise type its ``file:///…`` address into the draft. Text is inserted as ever."""
        files = _local_files(source)
        if files:
            self.file_dropped.emit(files[0])
        else:
            super().insertFromMimeData(source)

    def keyPressEvent(self, event) -> None:  # noqa: N802 - Qt override
        # Typing accepts the pending generation (it becomes ordinary text).
        if event.text() and not self.isReadOnly() and self.pending_spans():
            self.accept_generated()
        super().keyPressEvent(event)


def _local_files(mime) -> list[str]:
    """The local files a drag or a paste carries (none for plain text)."""
    if mime is None or not mime.hasUrls():
        return []
    return [url.toLocalFile() for url in mime.urls() if url.isLocalFile() and url.toLocalFile()]
