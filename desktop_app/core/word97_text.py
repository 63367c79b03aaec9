"""The words of a Word 97–2003 ``.doc`` (the binary format, [MS-DOC]).

Many writers' older manuscripts are ``.doc`` files. The file is an OLE compound file (read
with ``olefile``, strict: any structural defect is an error, and its stream sizes are checked
against the file's); the text is found through the *piece table* (the ``Clx`` in the table
stream, located by the FIB), each piece being either 8-bit cp1252 or UTF-16 in the
``WordDocument`` stream, and only the main document's characters (``ccpText``) are kept —
not footnotes, headers, comments or text boxes, which follow them. Field instructions (between
the field marks 0x13 and 0x14) are left out and their shown result kept; paragraph, cell and
page marks become paragraph breaks. Deleted tracked changes are *not* told apart in this
format without the character formatting tables, so they are read as text (accept or reject
changes in Word before training on a ``.doc`` that has them).

Bounded before reading: the main text at most :data:`MAX_CHARS` characters, at most
:data:`MAX_PIECES` pieces, each piece inside its stream; an encrypted file, a Word 6/95 file
or a damaged one is one line (:class:`ValueError`).
"""

from __future__ import annotations

import struct
from pathlib import Path

import olefile
from olefile.olefile import OleFileError

MAX_CHARS = 32 << 20            # a 1,000-page manuscript is ~2 M characters
MAX_PIECES = 1 << 20
_WORD_97 = 0x00C0               # nFib of Word 97 (0xC0-0xC2); Word 6/95 wrote 101-105
_FIB_FLAGS = 0x000A
_ENCRYPTED, _TABLE_1 = 0x0100, 0x0200
_CCP_TEXT = 3                   # index of ccpText in FibRgLw97
_FC_CLX = 33                    # index of fcClx/lcbClx in FibRgFcLcb97

# Characters of the text stream that are marks, not words.
_PARAGRAPH_MARKS = {"\r", "\x07", "\x0c"}          # paragraph, table cell/row, page/section
_FIELD_BEGIN, _FIELD_SEPARATOR, _FIELD_END = "\x13", "\x14", "\x15"
_MAX_FIELD_DEPTH = 64                # Word nests fields a few deep
_REPLACED = {"\x0b": "\n", "\x1e": "-", "\x1f": "", "\t": "\t"}


def word97_paragraphs(path: Path) -> list[str]:
    """The main document's paragraphs; :class:`ValueError` with a one-line reason."""
    try:
        if not olefile.isOleFile(str(path)):
            raise ValueError("not a Word 97–2003 document (not an OLE file)")
        with olefile.OleFileIO(str(path), raise_defects=olefile.DEFECT_INCORRECT) as ole:
            text = _main_text(ole)
    except ValueError:
        raise
    except OleFileError as exc:      # an OSError too, but the file is the problem
        raise ValueError(f"not a readable Word 97–2003 document ({exc})"[:200]) from None
    except OSError as exc:
        raise ValueError(f"unreadable ({exc.strerror or exc})") from None
    except Exception as exc:   # olefile's or struct's errors on a damaged file: one line
        raise ValueError(f"not a readable Word 97–2003 document ({exc})"[:200]) from None
    return _paragraphs(text)


def _main_text(ole: olefile.OleFileIO) -> str:
    if not ole.exists("WordDocument"):
        raise ValueError("not a Word document (no WordDocument stream)")
    word = ole.openstream("WordDocument").read()
    if len(word) < 0x200 or struct.unpack_from("<H", word, 0)[0] != 0xA5EC:
        raise ValueError("not a Word 97–2003 document (no file information block)")
    (n_fib,) = struct.unpack_from("<H", word, 2)
    (flags,) = struct.unpack_from("<H", word, _FIB_FLAGS)
    if n_fib < _WORD_97:
        raise ValueError("a Word 6 or Word 95 document: save it as .docx first")
    if flags & _ENCRYPTED:
        raise ValueError("a password-protected Word document")
    pos = 32
    csw = struct.unpack_from("<H", word, pos)[0]
    pos += 2 + 2 * csw
    cslw = struct.unpack_from("<H", word, pos)[0]
    if cslw <= _CCP_TEXT:
        raise ValueError("not a readable Word 97–2003 document (short FIB)")
    ccp_text = struct.unpack_from("<i", word, pos + 2 + 4 * _CCP_TEXT)[0]
    pos += 2 + 4 * cslw
    pairs = struct.unpack_from("<H", word, pos)[0]
    if pairs <= _FC_CLX:
        raise ValueError("not a readable Word 97–2003 document (short FIB)")
    fc_clx, lcb_clx = struct.unpack_from("<II", word, pos + 2 + 8 * _FC_CLX)
    if not 0 <= ccp_text <= MAX_CHARS:
        raise ValueError(f"Word 97–2003 document too large ({ccp_text:,} characters; at most "
                         f"{MAX_CHARS:,})")
    table_name = "1Table" if flags & _TABLE_1 else "0Table"
    if not ole.exists(table_name):
        raise ValueError(f"not a readable Word 97–2003 document (no {table_name} stream)")
    table = ole.openstream(table_name).read()
    if fc_clx + lcb_clx > len(table) or lcb_clx == 0:
        raise ValueError("not a readable Word 97–2003 document (piece table out of range)")
    return _read_pieces(word, table[fc_clx:fc_clx + lcb_clx], ccp_text)


def _read_pieces(word: bytes, clx: bytes, wanted: int) -> str:
    pos = 0
    while pos < len(clx) and clx[pos] == 0x01:              # Prc: formatting, skipped
        if pos + 3 > len(clx):
            break
        size = struct.unpack_from("<h", clx, pos + 1)[0]
        if size < 0:                                        # would step back: a loop
            raise ValueError("not a readable Word 97–2003 document (bad formatting table)")
        pos += 3 + size
    if pos + 5 > len(clx) or clx[pos] != 0x02:
        raise ValueError("not a readable Word 97–2003 document (no piece table)")
    lcb = struct.unpack_from("<I", clx, pos + 1)[0]
    plc = clx[pos + 5:pos + 5 + lcb]
    count = (len(plc) - 4) // 12
    if len(plc) != lcb or count < 1 or (lcb - 4) % 12 or count > MAX_PIECES:
        raise ValueError("not a readable Word 97–2003 document (bad piece table)")
    cps = struct.unpack_from(f"<{count + 1}I", plc, 0)
    out: list[str] = []
    have = 0
    for i in range(count):
        if have >= wanted:
            break
        length = min(cps[i + 1] - cps[i], wanted - have) if cps[i + 1] > cps[i] else 0
        fc = struct.unpack_from("<I", plc, 4 * (count + 1) + 12 * i + 2)[0]
        compressed, offset = fc & 0x40000000, fc & 0x3FFFFFFF
        start, size = (offset // 2, length) if compressed else (offset, 2 * length)
        if start + size > len(word):
            raise ValueError("not a readable Word 97–2003 document (text out of range)")
        raw = word[start:start + size]
        out.append(raw.decode("cp1252", errors="replace") if compressed
                   else raw.decode("utf-16-le", errors="replace"))
        have += length
    return "".join(out)


def _paragraphs(text: str) -> list[str]:
    """Split at paragraph marks; drop field instructions and other marks."""
    paragraphs: list[str] = []
    current: list[str] = []
    fields: list[bool] = []          # per open field: still in its instructions?
    deeper = 0                       # fields nested past _MAX_FIELD_DEPTH (hostile): counted
    for ch in text:
        if ch == _FIELD_BEGIN:
            if len(fields) < _MAX_FIELD_DEPTH:
                fields.append(True)
            else:
                deeper += 1
        elif ch == _FIELD_SEPARATOR:
            if fields and not deeper:
                fields[-1] = False
        elif ch == _FIELD_END:
            if deeper:
                deeper -= 1
            elif fields:
                fields.pop()
        elif fields and fields[-1]:
            continue
        elif ch in _PARAGRAPH_MARKS:
            paragraphs.append("".join(current))
            current = []
        elif ch in _REPLACED:
            current.append(_REPLACED[ch])
        elif ch >= " ":
            current.append(ch)
    if current:
        paragraphs.append("".join(current))
    return paragraphs
