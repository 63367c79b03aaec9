"""The words of a web page or an e-book chapter: HTML's block elements as paragraphs.

Two kinds of file carry a writer's prose as HTML: an EPUB's XHTML chapters (parsed with
expat by :mod:`desktop_app.core.epub_text`) and a saved web page or blog export — ``.html``
written by WordPress, Substack, Google Docs' "Web page" download or Word's "Save as Web
Page", often not well-formed XML (``<p>`` never closed, ``<br>`` bare), read here with the
standard library's forgiving :class:`html.parser.HTMLParser`. Both feed the same
:class:`Paragraphs`, so a chapter and a page become text alike: the text of block elements
(``p``, headings, list items, table cells, ``div``...) becomes paragraphs, ``br`` a line
break, whitespace is collapsed as a browser would, and the head, scripts, styles,
navigation, asides, footnote references and page-break markers are left out.

Bounded: at most :data:`MAX_OPEN_BLOCKS` blocks are open at once (deeper ones read as part
of the block around them), so a file of ten million nested ``<div>`` costs no more memory
than its words; the caller bounds the bytes.
"""

from __future__ import annotations

import codecs
import re
from html.parser import HTMLParser

#: Blocks open at once; deeper nesting reads as part of the innermost block kept (a real
#: page nests a few dozen deep).
MAX_OPEN_BLOCKS = 256
BLOCKS = {"p", "h1", "h2", "h3", "h4", "h5", "h6", "li", "dt", "dd", "blockquote", "pre",
          "td", "th", "caption", "figcaption", "div", "address", "section", "article",
          "body", "header", "main", "hr"}
#: Elements left out with everything inside them (``footer``: a blog's footer is not prose,
#: but an EPUB puts none in a chapter, and a page's is in the page's own footer).
LEFT_OUT = {"head", "script", "style", "nav", "aside", "title", "svg", "math", "noscript",
            "template", "iframe", "object", "form", "button", "select", "textarea", "footer"}
#: ``epub:type`` (EPUB) or ``role`` (HTML's ``doc-*`` roles) values left out.
LEFT_OUT_TYPES = {"noteref", "footnote", "endnote", "rearnote", "pagebreak", "toc",
                  "doc-noteref", "doc-footnote", "doc-endnotes", "doc-endnote",
                  "doc-pagebreak", "doc-toc"}
_WHITESPACE = re.compile(r"[ \t\n\r\f]+")        # HTML's whitespace: a no-break space stays
_VOID = {"br", "hr", "img", "input", "meta", "link", "area", "base", "col", "embed",
         "source", "track", "wbr", "param"}      # elements that have no end tag
#: How word processors mark what is not the text in the pages they save: LibreOffice's
#: footnote anchors and bodies and its header/footer blocks, Word's ``mso-`` footnote,
#: comment, header and footer lists, Google Docs' footnote and comment references.
_NOTE_CLASSES = {"sdfootnoteanc", "sdendnoteanc", "sdfootnotesym", "sdendnotesym",
                 "msofootnotereference", "msoendnotereference", "msocommentreference"}
_NOTE_ID = re.compile(r"(sd(foot|end)note\d+(anc)?|_?(ftn|edn|cmnt)(t?_?ref)?\d+|"
                      r"_com_\d+|_msoanchor_\d+)", re.IGNORECASE)
_NOTE_STYLE = re.compile(r"mso-(element\s*:|footnote-id|endnote-id|comment-reference)",
                         re.IGNORECASE)
#: Google Docs puts a footnote's or comment's back-link first in the paragraph that *is* the
#: note: that whole paragraph is left out.
_NOTE_BODY_ID = re.compile(r"(ftnt|cmnt)\d+", re.IGNORECASE)
_CHARSET = re.compile(rb"""<meta[^>]+charset\s*=\s*["']?\s*([A-Za-z0-9_.:-]{1,40})""",
                      re.IGNORECASE)


def is_note(attrs: dict[str, str]) -> bool:
    """Whether an element with these attributes is a note, a note's reference, a page break,
    a table of contents, a header or a footer (EPUB types, HTML roles, word processors'
    conventions): left out with what is inside it."""
    kinds = set(attrs.get("epub:type", "").split()) | set(attrs.get("role", "").split())
    return bool(kinds & LEFT_OUT_TYPES
                or {c.lower() for c in attrs.get("class", "").split()} & _NOTE_CLASSES
                or _NOTE_ID.fullmatch(attrs.get("id", "") or attrs.get("name", ""))
                or _NOTE_STYLE.search(attrs.get("style", ""))
                or attrs.get("title", "").lower() in ("header", "footer"))


class Paragraphs:
    """Collects the paragraphs of one HTML document from start/end/text events.

    An end tag closes the innermost open element of its name and everything opened inside
    it, as a browser does, so a forgotten ``</li>`` inside a left-out ``<nav>`` does not
    leave the rest of the page out. With ``implied_ends`` (HTML, not XHTML) a block closes
    an open ``<p>``, and a list item, term, definition or cell its open sibling, as HTML
    says they do: a page of ten thousand unclosed ``<p>`` is ten thousand paragraphs, not one
    ten thousand deep.
    """

    _SIBLINGS = {"li": {"li"}, "dt": {"dt", "dd"}, "dd": {"dt", "dd"}, "td": {"td", "th"},
                 "th": {"td", "th"}}

    def __init__(self, *, implied_ends: bool = False) -> None:
        self.paragraphs: list[str] = []
        self._open: list[_Block] = []
        self._left_out: list[str] = []          # the left-out element and those inside it
        self._implied_ends = implied_ends
        self._pre = 0

    def start(self, tag: str, attrs: dict[str, str] | None = None) -> None:
        """Element ``tag`` (lower-case local name) opens, with its attributes (``epub:type``
        under that name)."""
        attrs = attrs or {}
        if tag == "a" and self._open and not self._left_out \
                and _NOTE_BODY_ID.fullmatch(attrs.get("id", "")):
            self._open[-1].is_note = True         # the block this back-link starts is a note
        if self._left_out or tag in LEFT_OUT or is_note(attrs):
            if len(self._left_out) < MAX_OPEN_BLOCKS:
                self._left_out.append(tag)
        elif tag in BLOCKS:
            if self._implied_ends and self._open and (
                    self._open[-1].tag == "p" or self._open[-1].tag in self._SIBLINGS.get(tag, ())):
                self._close_top()
            if len(self._open) >= MAX_OPEN_BLOCKS:
                return                           # read as part of the block around it
            if self._open and any(t.strip() for t, _ in self._open[-1].pieces):
                self._flush(self._open[-1])      # text before a nested block comes first
                self._open[-1].pieces.clear()
            self._open.append(_Block(tag))
            self._pre += tag == "pre"
        elif tag == "br" and self._open:
            self._open[-1].pieces.append(("\n", True))

    def end(self, tag: str) -> None:
        if self._left_out:
            if tag in self._left_out:            # close it and what was left open inside
                del self._left_out[len(self._left_out) - self._left_out[::-1].index(tag) - 1:]
        elif tag in BLOCKS and any(block.tag == tag for block in self._open):
            while self._open[-1].tag != tag:
                self._close_top()
            self._close_top()

    def text(self, data: str) -> None:
        if self._open and not self._left_out:
            self._open[-1].pieces.append((data, self._pre > 0))

    def close(self) -> list[str]:
        """The paragraphs, with blocks the file never closed (HTML allows it) flushed."""
        while self._open:
            self._close_top()
        return self.paragraphs

    def _close_top(self) -> None:
        block = self._open.pop()
        self._pre -= block.tag == "pre"
        self._flush(block)

    def _flush(self, block: _Block) -> None:
        if block.is_note:
            return
        text = "".join(t if kept else _WHITESPACE.sub(" ", t) for t, kept in block.pieces)
        text = "\n".join(line.strip() for line in text.split("\n")).strip("\n")
        if text:                                  # a block of only spacing is no paragraph
            self.paragraphs.append(text)


class _Block:
    """An open block: its tag, its text so far as (text, kept as it is?) pieces, and whether
    it turned out to be a note."""

    __slots__ = ("tag", "pieces", "is_note")

    def __init__(self, tag: str) -> None:
        self.tag = tag
        self.pieces: list[tuple[str, bool]] = []
        self.is_note = False


def html_paragraphs(data: bytes) -> list[str]:
    """The paragraphs of a saved web page; ``ValueError`` with a one-line reason when its
    bytes are not text in the encoding it declares (UTF-8 when it declares none)."""
    text = _decoded(data)
    parser = _Page()
    parser.feed(text)
    parser.close()
    return parser.paragraphs.close()


def _decoded(data: bytes) -> str:
    """The page's text: a byte-order mark first, then its ``<meta charset>``, else UTF-8."""
    if data.startswith(codecs.BOM_UTF8):
        return data[3:].decode("utf-8", errors="replace")
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return data.decode("utf-16", errors="replace")
    if b"\x00" in data[:4096]:
        raise ValueError("binary file")
    declared = _CHARSET.search(data[:8192])
    name = declared.group(1).decode("ascii") if declared else "utf-8"
    try:
        codec = codecs.lookup(name).name
    except LookupError:
        raise ValueError(f"a web page in an unknown encoding ({name})") from None
    try:
        return data.decode(codec)
    except UnicodeDecodeError:
        if codec != "utf-8":
            return data.decode(codec, errors="replace")
        raise ValueError("not UTF-8 text (and the page declares no other encoding)") from None


class _Page(HTMLParser):
    """HTMLParser feeding :class:`Paragraphs` (tags lower-case, entities already decoded)."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.paragraphs = Paragraphs(implied_ends=True)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.paragraphs.start(tag, {name: value or "" for name, value in attrs[:64]})
        if tag in _VOID:        # no end tag comes: what start opened (a left-out count)
            self.paragraphs.end(tag)

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.handle_starttag(tag, attrs)
        if tag not in _VOID:    # <div/>: opened and closed at once
            self.paragraphs.end(tag)

    def handle_endtag(self, tag: str) -> None:
        if tag not in _VOID:
            self.paragraphs.end(tag)

    def handle_data(self, data: str) -> None:
        self.paragraphs.text(data)
