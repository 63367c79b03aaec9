"""The words of an EPUB book: its XHTML chapters in reading (spine) order, paragraph by
paragraph.

An author's published books and most public-domain e-books come as EPUB: a zip with a
``META-INF/container.xml`` that names the package file (OPF), whose manifest and spine list
the chapters in reading order. Each chapter is parsed with expat as a stream: the text of
block elements (``p``, headings, list items, table cells, ``div``...) becomes paragraphs,
``br`` a line break, whitespace is collapsed as a browser would, and the head, scripts,
styles, navigation, asides, footnote references and page-break markers are left out.

Bounded like the other documents (:mod:`desktop_app.core.text_files` passes the limits): at
most so many zip entries, the small XML files read to 4 MB, every chapter together to the
caller's byte budget *decompressed*, chapter paths confined to the archive (no ``..``), and a
DTD with an internal subset refused (no entity is declared; HTML's named entities such as
``&nbsp;`` are looked up, never expanded from the file).
"""

from __future__ import annotations

import html.entities
import posixpath
import re
import zipfile
from pathlib import Path
from urllib.parse import unquote
from xml.parsers import expat

_SMALL_XML = 4 << 20                   # container.xml and the package file
_WHITESPACE = re.compile(r"[ \t\n\r\f]+")        # HTML's whitespace: a no-break space stays
_BLOCKS = {"p", "h1", "h2", "h3", "h4", "h5", "h6", "li", "dt", "dd", "blockquote", "pre",
           "td", "th", "caption", "figcaption", "div", "address", "section", "article",
           "body"}
_LEFT_OUT = {"head", "script", "style", "nav", "aside", "title", "svg", "math"}
_LEFT_OUT_TYPES = {"noteref", "footnote", "endnote", "rearnote", "pagebreak", "toc"}
_EPUB_TYPE = "http://www.idpf.org/2007/ops}type"
_CHAPTER_TYPES = {"application/xhtml+xml", "text/html", "application/x-dtbook+xml"}


def epub_paragraphs(path: Path, *, max_bytes: int, max_members: int) -> list[str]:
    """The book's paragraphs in reading order; ``ValueError`` with a one-line reason."""
    try:
        with zipfile.ZipFile(path) as archive:
            if len(archive.filelist) > max_members:
                raise ValueError(f"not an EPUB book ({len(archive.filelist):,} entries)")
            package = _rootfile(_read(archive, "META-INF/container.xml", _SMALL_XML))
            chapters = _spine(_read(archive, package, _SMALL_XML), posixpath.dirname(package))
            paragraphs: list[str] = []
            budget = max_bytes
            for name in chapters:
                data = _read(archive, name, budget, missing_ok=True)
                budget -= len(data)
                if data:
                    paragraphs += _Chapter().parse(data)
            return paragraphs
    except (zipfile.BadZipFile, zipfile.LargeZipFile, NotImplementedError, EOFError,
            RuntimeError) as exc:
        raise ValueError(f"not a readable EPUB book ({exc})"[:200]) from None
    except expat.ExpatError as exc:
        raise ValueError(f"not a readable EPUB book (bad XML: "
                         f"{expat.ErrorString(exc.code)})") from None


def _read(archive: zipfile.ZipFile, name: str, limit: int, *, missing_ok: bool = False
          ) -> bytes:
    """At most ``limit`` decompressed bytes of entry ``name`` (more: ``ValueError``)."""
    try:
        info = archive.getinfo(name)
    except KeyError:
        if missing_ok:
            return b""
        raise ValueError(f"not an EPUB book (no {name[:80]} inside)") from None
    if info.file_size > limit:
        raise ValueError(f"EPUB book too large ({name[:80]} would pass the limit of the "
                         f"text markup read)")
    with archive.open(info) as stream:   # the declared size may lie: read one byte more
        data = stream.read(limit + 1)
    if len(data) > limit:
        raise ValueError("EPUB book too large (its text markup passes the limit)")
    return data


def _parser(*, html_entities: bool = False) -> expat.XMLParserType:
    parser = expat.ParserCreate(namespace_separator="}")

    def doctype(_name, _system, _public, has_internal_subset) -> None:
        if has_internal_subset:
            raise ValueError("EPUB file with a DTD subset (refused: entity expansion)")

    def entity_declared(*_args) -> None:
        raise ValueError("EPUB file declaring entities (refused: entity expansion)")

    parser.StartDoctypeDeclHandler = doctype
    parser.EntityDeclHandler = entity_declared
    if html_entities:   # &nbsp; and the like: looked up by name, reported as skipped
        parser.UseForeignDTD(True)
    return parser


def _rootfile(container: bytes) -> str:
    found: list[str] = []
    parser = _parser()
    parser.StartElementHandler = lambda name, attrs: found.append(attrs.get("full-path", "")) \
        if name.endswith("}rootfile") else None
    parser.Parse(container, True)
    path = next((p for p in found if p), "")
    return _inside(path) or _fail("not an EPUB book (container.xml names no package file)")


def _spine(package: bytes, base: str) -> list[str]:
    """The chapter entries of the package, in spine order (duplicates and others dropped)."""
    manifest: dict[str, tuple[str, str]] = {}
    order: list[str] = []

    def start(name: str, attrs: dict) -> None:
        local = name.rsplit("}", 1)[-1]
        if local == "item" and attrs.get("id"):
            manifest[attrs["id"]] = (attrs.get("href", ""), attrs.get("media-type", ""))
        elif local == "itemref" and attrs.get("idref"):
            order.append(attrs["idref"])

    parser = _parser()
    parser.StartElementHandler = start
    parser.Parse(package, True)
    chapters: list[str] = []
    for idref in order:
        href, media_type = manifest.get(idref, ("", ""))
        name = _inside(posixpath.join(base, unquote(href.split("#", 1)[0]))) if href else ""
        if name and media_type in _CHAPTER_TYPES and name not in chapters:
            chapters.append(name)
    return chapters or _fail("not an EPUB book (its spine lists no chapters)")


def _inside(name: str) -> str:
    """``name`` normalised, or "" when it would leave the archive (absolute, ``..``)."""
    name = posixpath.normpath(name.replace("\\", "/")) if name else ""
    return "" if not name or name.startswith(("/", "../")) or name == ".." else name


def _fail(reason: str):
    raise ValueError(reason)


class _Chapter:
    """One XHTML chapter's paragraphs (text of block elements, whitespace collapsed)."""

    def __init__(self) -> None:
        self.paragraphs: list[str] = []
        self._open: list[list[tuple[str, bool]]] = []   # pieces: (text, kept as it is?)
        self._left_out = 0
        self._pre = 0

    def parse(self, data: bytes) -> list[str]:
        parser = _parser(html_entities=True)
        parser.StartElementHandler = self._start
        parser.EndElementHandler = self._end
        parser.CharacterDataHandler = self._text
        parser.SkippedEntityHandler = self._entity
        parser.buffer_text = True
        parser.Parse(data, True)
        return self.paragraphs

    def _start(self, name: str, attrs: dict) -> None:
        local = name.rsplit("}", 1)[-1].lower()
        kinds = set(attrs.get(_EPUB_TYPE, "").split())
        if self._left_out or local in _LEFT_OUT or kinds & _LEFT_OUT_TYPES:
            self._left_out += 1
        elif local in _BLOCKS:
            if self._open and any(t.strip() for t, _ in self._open[-1]):
                self._flush(self._open[-1])    # text before a nested block comes first
                self._open[-1] = []
            self._open.append([])
            self._pre += local == "pre"
        elif local == "br" and self._open:
            self._open[-1].append(("\n", True))

    def _end(self, name: str) -> None:
        local = name.rsplit("}", 1)[-1].lower()
        if self._left_out:
            self._left_out -= 1
        elif local in _BLOCKS and self._open:
            self._flush(self._open.pop())
            self._pre -= local == "pre"

    def _flush(self, pieces: list[tuple[str, bool]]) -> None:
        text = "".join(t if kept else _WHITESPACE.sub(" ", t) for t, kept in pieces)
        self.paragraphs.append("\n".join(line.strip() for line in text.split("\n")))

    def _text(self, data: str) -> None:
        if self._open and not self._left_out:
            self._open[-1].append((data, self._pre > 0))

    def _entity(self, name: str, _is_parameter: bool) -> None:
        code = html.entities.name2codepoint.get(name)
        if code is not None:
            self._text(chr(code))
