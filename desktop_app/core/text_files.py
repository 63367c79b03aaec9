"""A writer's files as plain text: UTF-8 text, Word, OpenDocument, RTF, EPUB, HTML, Final Draft.

One reader for everything that takes "your writing": the Train room's data check, the
trainers' corpus (:func:`desktop_app.ml.text.train_data.load_corpus`) and ``reverie eval
text``, so that what the check counts is what training reads and what the evaluation scores.
Writers keep their work in word processors far more often than in ``.txt`` files; a ``.docx``
or ``.odt`` is a zip archive whose body is one XML file, and the words are read from it here;
an ``.rtf`` (TextEdit, WordPad, Scrivener's ``content.rtf``) is read by :mod:`.rtf_text`,
an ``.epub`` book (chapters in reading order) by :mod:`.epub_text`, a saved web page or blog
export by :mod:`.html_text`, a Final Draft ``.fdx`` screenplay by :mod:`.screenplay_text` and an
older Word 97–2003 ``.doc`` by :mod:`.word97_text`
(paragraphs become text separated by blank lines, as in plain-text prose; text deleted with
changes tracked, comments, footnotes, headers and footers are left out: a manuscript back
from an editor reads as it would with the changes accepted).

Everything is bounded before it is read: a file over :data:`MAX_FILE_BYTES` is skipped
unread, the document's XML is read only up to :data:`MAX_XML_BYTES` of *decompressed* bytes
(a zip bomb costs one line), the XML is parsed as a stream (memory follows the words, not
the markup), and a DTD is refused the moment it starts (the entity expansions of a "billion
laughs" file never happen; Word and LibreOffice never write one). Nothing here raises for a
bad file: :func:`read_text_file` returns the reason it was skipped.
"""

from __future__ import annotations

import zipfile
from pathlib import Path
from xml.parsers import expat

from desktop_app.core.bounded_zip import TooLarge, member_chunks
from desktop_app.core.epub_text import epub_paragraphs
from desktop_app.core.html_text import html_paragraphs
from desktop_app.core.rtf_text import rtf_paragraphs
from desktop_app.core.screenplay_text import fdx_paragraphs
from desktop_app.core.word97_text import word97_paragraphs

#: Plain-text files a writer keeps (any other UTF-8 file is read too, with a warning); a
#: ``.fountain`` screenplay is plain text by design.
TEXT_SUFFIXES = (".txt", ".md", ".markdown", ".text", ".fountain")
#: Documents whose words are read (the XML body of a zip, RTF, an EPUB's chapters, a web
#: page's blocks, a Final Draft script's paragraphs); they are never saved over
#: (core/documents.py).
DOCUMENT_SUFFIXES = (".docx", ".doc", ".odt", ".rtf", ".epub", ".html", ".htm", ".xhtml",
                     ".fdx")
#: The Write room's own sessions: read as the draft, without the passages the model wrote.
SESSION_SUFFIXES = (".reverie",)
#: Every suffix the readers look for in a folder.
WRITING_SUFFIXES = TEXT_SUFFIXES + DOCUMENT_SUFFIXES + SESSION_SUFFIXES
#: The same, as the messages say it.
WRITING_FORMATS = ("UTF-8 text (.txt, .md, .fountain), Word .docx or .doc, OpenDocument .odt, "
                   ".rtf, .epub, web pages (.html), Final Draft .fdx or Reverie sessions "
                   "(.reverie)")
#: A file larger than this is not read (a novel is ~1 MB; a video in the folder is not text).
MAX_FILE_BYTES = 256 << 20
#: The decompressed XML body of a document read at most (a 1,000-page manuscript is ~20 MB).
MAX_XML_BYTES = 64 << 20
_MAX_MEMBERS = 20_000            # entries in a document's zip directory
_MAX_SPACES = 1_000              # one <text:s text:c="N"/> of an .odt

#: Files a writer's folder holds that are their writing but cannot be read here: each is
#: skipped with what to do. A Google Docs file on disk is a link (a line of JSON that would
#: otherwise be used as "UTF-8 text"); Apple Pages keeps its text in compressed protobuf, as a
#: file or, synced from a Mac, a folder whose files are not text either.
_EXPORT = "export it as .docx or .odt and use that file"
_FOREIGN = {".gdoc": f"a Google Docs link, not the document (it is online): {_EXPORT}",
            ".pages": f"an Apple Pages document (not readable here): {_EXPORT}",
            ".numbers": "an Apple Numbers spreadsheet, not text",
            ".key": "a Keynote presentation or a key, not text",
            ".gsheet": "a Google Sheets link, not text",
            ".gslides": "a Google Slides link, not text"}


def foreign_document(path: Path) -> str:
    """Why a file of another writing program is skipped ("" if it is not one): a ``.gdoc``
    or ``.pages`` file, a file inside a ``.pages`` package folder, or Word's ``~$`` lock
    file (162 bytes that are not a zip: "not a readable Word document" before)."""
    path = Path(path)
    if path.name.startswith("~$"):   # "~$apter 1.docx": Word's owner file while it is open
        return "Word's lock file for a document open in Word, not the document"
    if reason := _FOREIGN.get(path.suffix.lower()):
        return reason
    if any(folder.suffix.lower() == ".pages" for folder in path.parents):
        return _FOREIGN[".pages"]
    return ""


_BODY = {".docx": "word/document.xml", ".odt": "content.xml"}
_KIND = {".docx": "Word document", ".doc": "Word 97–2003 document", ".odt": "OpenDocument text",
         ".rtf": "RTF document", ".epub": "EPUB book", ".html": "web page", ".htm": "web page",
         ".xhtml": "web page", ".fdx": "Final Draft script"}
_A_KIND = {".docx": "a Word document", ".doc": "a Word 97–2003 document",
           ".odt": "an OpenDocument text"}


class _Unreadable(Exception):
    """Why a document was skipped (one line)."""


def read_text_file(path: Path) -> tuple[str | None, str]:
    """``(text, "")`` for a usable file, else ``(None, reason)``: "binary file", "not UTF-8
    text", "empty", "too large (...)", "unreadable (...)", or what is wrong with a document."""
    path = Path(path)
    if foreign := foreign_document(path):
        return None, foreign
    try:
        size = path.stat().st_size
    except OSError as exc:
        return None, f"unreadable ({exc.strerror or exc})"
    if size > MAX_FILE_BYTES:
        return None, f"too large for text ({size / (1 << 20):,.0f} MB; at most " \
                     f"{MAX_FILE_BYTES >> 20} MB a file)"
    suffix = path.suffix.lower()
    if suffix in SESSION_SUFFIXES:
        text, reason, _machine = read_session_text(path)
        if text is None:
            return None, reason
    elif suffix in DOCUMENT_SUFFIXES:
        try:
            text = document_text(path, suffix)
        except _Unreadable as exc:
            return None, str(exc)
    else:
        try:
            raw = path.read_bytes()
        except OSError as exc:
            return None, f"unreadable ({exc.strerror or exc})"
        if b"\x00" in raw:
            return None, "binary file"
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError:
            return None, "not UTF-8 text"
        text = text.lstrip("\ufeff").replace("\r\n", "\n")
    if not text.strip():
        return None, "empty"
    return text, ""


#: Characters of draft searched, in all, for passages the model wrote that have moved since
#: they were inserted (a search per passage of a hostile session's million records would take
#: minutes; this is ~0.1 s): past it they are looked for only where they were inserted.
_SEARCH_BUDGET_CHARS = 256_000_000


def read_session_text(path: Path) -> tuple[str | None, str, int]:
    """A Write-room session (``.reverie``) as the writer's own words: ``(text, "", machine)``
    with ``machine`` the characters the model wrote that were left out, or ``(None, reason,
    0)`` (a damaged session, or one with no words of the writer's). Every generation the session records is taken out of the draft where it still
    stands word for word — at the offset it was inserted at, or (40 characters or more,
    since a short phrase may be the writer's own) wherever it is now; what the writer
    rewrote is theirs and stays. A variant never inserted is not in the draft and changes
    nothing."""
    from desktop_app.core.documents import load_document   # documents imports this module
    from desktop_app.core.errors import DataError
    try:
        session = load_document(path)                       # bounded JSON, validated
    except DataError as exc:
        return None, str(exc)[:200], 0
    text, machine, budget = session.text, 0, _SEARCH_BUDGET_CHARS
    for record in reversed(session.history):                # newest first: offsets still hold
        piece = record.text
        if not piece.strip():
            continue
        at = record.insert_at
        if not (0 <= at and text.startswith(piece, at)):
            if len(piece.strip()) < 40 or budget < len(text):
                continue
            budget -= len(text)
            at = text.find(piece)
            if at < 0:
                continue
        text = text[:at] + text[at + len(piece):]
        machine += len(piece)
    if not text.strip():
        return None, "only text the model wrote" if machine else "empty", 0
    return text, "", machine


def document_text(path: Path, suffix: str) -> str:
    """The words of a document (one of :data:`DOCUMENT_SUFFIXES`); raises
    :class:`_Unreadable` with a reason."""
    if suffix not in _BODY:
        try:
            if suffix == ".rtf" or (suffix == ".doc" and _is_rtf(path)):
                return _joined(rtf_paragraphs(path.read_bytes()))
            if suffix == ".doc":
                return _joined(word97_paragraphs(path))
            if suffix == ".epub":
                return _joined(epub_paragraphs(path, max_bytes=MAX_XML_BYTES,
                                               max_members=_MAX_MEMBERS))
            size = path.stat().st_size
            if size > MAX_XML_BYTES:   # markup: a script, a page is far less
                raise _Unreadable(f"{_KIND[suffix]} too large ({size >> 20:,} MB; at most "
                                  f"{MAX_XML_BYTES >> 20} MB)")
            if suffix == ".fdx":
                with path.open("rb") as stream:
                    return _joined(fdx_paragraphs(iter(lambda: stream.read(1 << 20), b"")))
            return _joined(html_paragraphs(path.read_bytes()))
        except ValueError as exc:
            raise _Unreadable(str(exc)) from None
        except OSError as exc:
            raise _Unreadable(f"unreadable ({exc.strerror or exc})") from None
    kind, a_kind = _KIND[suffix], _A_KIND[suffix]
    words = _Words(suffix)
    try:
        with zipfile.ZipFile(path) as archive:
            if len(archive.filelist) > _MAX_MEMBERS:
                raise _Unreadable(f"not {a_kind} ({len(archive.filelist):,} entries)")
            try:
                member = archive.getinfo(_BODY[suffix])
            except KeyError:
                raise _Unreadable(f"not {a_kind} (no {_BODY[suffix]} inside)") from None
            for chunk in member_chunks(archive, member, MAX_XML_BYTES):
                words.feed(chunk)
            words.feed(b"", final=True)
    except _Unreadable:
        raise
    except TooLarge as exc:
        raise _Unreadable(f"{kind} too large ({exc} of text markup)") from None
    except expat.ExpatError as exc:
        raise _Unreadable(f"not a readable {kind} (bad XML: {expat.ErrorString(exc.code)})")
    except (zipfile.BadZipFile, zipfile.LargeZipFile, NotImplementedError, EOFError,
            ValueError, RuntimeError) as exc:   # RuntimeError: an encrypted entry
        raise _Unreadable(f"not a readable {kind} ({exc})"[:200]) from None
    except OSError as exc:
        raise _Unreadable(f"unreadable ({exc.strerror or exc})") from None
    return _joined(words.paragraphs)


def _is_rtf(path: Path) -> bool:
    """An RTF file named ``.doc`` (older Word and WordPad saved RTF under that name)."""
    with path.open("rb") as stream:
        return stream.read(5) == b"{\\rtf"


def _joined(paragraphs: list[str]) -> str:
    """Paragraphs separated by blank lines, as in plain-text prose; empty ones (spacing) out."""
    kept = (p.strip("\n") for p in paragraphs)
    return "\n\n".join(p for p in kept if p.strip()) + "\n"


_W = "http://schemas.openxmlformats.org/wordprocessingml/2006/main}"
_TEXT = "urn:oasis:names:tc:opendocument:xmlns:text:1.0}"
_OFFICE = "urn:oasis:names:tc:opendocument:xmlns:office:1.0}"
#: what marks a paragraph, the elements whose character data are words, single characters
#: written as elements, and the elements left out with everything inside them
_PARAGRAPH = {".docx": {_W + "p"}, ".odt": {_TEXT + "p", _TEXT + "h"}}
_WORDS_IN = {".docx": {_W + "t"}, ".odt": None}            # None: all text in a paragraph
_CHARS = {".docx": {_W + "tab": "\t", _W + "br": "\n", _W + "cr": "\n",
                    _W + "noBreakHyphen": "-"},
          ".odt": {_TEXT + "tab": "\t", _TEXT + "line-break": "\n"}}
#: (<w:delText>, <w:instrText> are not <w:t>: out already; the text a tracked move took away
#: is <w:t> inside <w:moveFrom>, and is read where it went, inside <w:moveTo>)
_LEFT_OUT = {".docx": {_W + "moveFrom"},
             ".odt": {_TEXT + "note", _OFFICE + "annotation", _TEXT + "tracked-changes"}}


class _Words:
    """An expat parser fed in chunks that keeps only the words, paragraph by paragraph.

    Streaming keeps memory to the words and the element depth (a tree of a hostile 64 MB
    body would take gigabytes). A DTD is refused as soon as it starts, so no entity is ever
    declared or expanded. A paragraph inside another (a text box) ends first and comes first.
    """

    def __init__(self, suffix: str) -> None:
        self.paragraphs: list[str] = []
        self._open: list[list[str]] = []
        self._in_words = 0
        self._left_out = 0
        self._suffix = suffix
        self._parser = expat.ParserCreate(namespace_separator="}")
        self._parser.StartDoctypeDeclHandler = self._refuse_dtd
        self._parser.EntityDeclHandler = self._refuse_dtd
        self._parser.StartElementHandler = self._start
        self._parser.EndElementHandler = self._end
        self._parser.CharacterDataHandler = self._text
        self._parser.buffer_text = True

    def feed(self, data: bytes, final: bool = False) -> None:
        self._parser.Parse(data, final)

    def _refuse_dtd(self, *_args) -> None:
        raise _Unreadable(f"{_KIND[self._suffix]} with a DTD (refused: entity expansion)")

    def _start(self, name: str, attrs: dict) -> None:
        s = self._suffix
        if name in _LEFT_OUT[s] or self._left_out:
            self._left_out += 1
        elif name in _PARAGRAPH[s]:
            self._open.append([])
        elif self._open:
            if _WORDS_IN[s] is not None and name in _WORDS_IN[s]:
                self._in_words += 1
            elif name in _CHARS[s]:
                self._open[-1].append(_CHARS[s][name])
            elif name == _TEXT + "s":                 # .odt: N spaces
                count = attrs.get(_TEXT + "c", "1")
                self._open[-1].append(" " * min(int(count) if count.isdigit() else 1,
                                                _MAX_SPACES))

    def _end(self, name: str) -> None:
        s = self._suffix
        if self._left_out:
            self._left_out -= 1
        elif name in _PARAGRAPH[s] and self._open:
            self.paragraphs.append("".join(self._open.pop()))
        elif _WORDS_IN[s] is not None and name in _WORDS_IN[s] and self._in_words:
            self._in_words -= 1

    def _text(self, data: str) -> None:
        if self._open and not self._left_out and (_WORDS_IN[self._suffix] is None
                                                   or self._in_words):
            self._open[-1].append(data)
