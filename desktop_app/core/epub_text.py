"""The words of an EPUB book: its XHTML chapters in reading (spine) order, paragraph by
paragraph.

An author's published books and most public-domain e-books come as EPUB: a zip with a
``META-INF/container.xml`` that names the package file (OPF), whose manifest and spine list
the chapters in reading order. Each chapter is parsed with expat and read as
:mod:`desktop_app.core.html_text` reads a web page: the text of block elements becomes
paragraphs, and the head, scripts, styles, navigation, asides, footnote references and
page-break markers are left out.

Bounded like the other documents (:mod:`desktop_app.core.text_files` passes the limits): at
most so many zip entries, the small XML files read to 4 MB, every chapter together to the
caller's byte budget *decompressed*, chapter paths confined to the archive (no ``..``), and a
DTD with an internal subset refused (no entity is declared; HTML's named entities such as
``&nbsp;`` are looked up, never expanded from the file).
"""

from __future__ import annotations

import html.entities
import posixpath
import zipfile
from pathlib import Path
from urllib.parse import unquote
from xml.parsers import expat

from desktop_app.core.bounded_zip import TooLarge, member_chunks
from desktop_app.core.html_text import Paragraphs

_SMALL_XML = 4 << 20                   # container.xml and the package file
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
    try:
        return b"".join(member_chunks(archive, info, limit))
    except TooLarge:
        raise ValueError("EPUB book too large (its text markup passes the limit of what is "
                         "read)") from None


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
    """One XHTML chapter's paragraphs, parsed with expat into :class:`html_text.Paragraphs`."""

    def __init__(self) -> None:
        self._paragraphs = Paragraphs()

    def parse(self, data: bytes) -> list[str]:
        parser = _parser(html_entities=True)
        parser.StartElementHandler = self._start
        parser.EndElementHandler = self._end
        parser.CharacterDataHandler = self._paragraphs.text
        parser.SkippedEntityHandler = self._entity
        parser.buffer_text = True
        parser.Parse(data, True)
        return self._paragraphs.close()

    def _start(self, name: str, attrs: dict) -> None:
        if _EPUB_TYPE in attrs:
            attrs["epub:type"] = attrs[_EPUB_TYPE]
        self._paragraphs.start(name.rsplit("}", 1)[-1].lower(), attrs)

    def _end(self, name: str) -> None:
        self._paragraphs.end(name.rsplit("}", 1)[-1].lower())

    def _entity(self, name: str, _is_parameter: bool) -> None:
        code = html.entities.name2codepoint.get(name)
        if code is not None:
            self._paragraphs.text(chr(code))
