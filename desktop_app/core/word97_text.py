"""The words of a Word 97–2003 ``.doc`` (the binary format, [MS-DOC]).

Many writers' older manuscripts are ``.doc`` files. The file is an OLE compound file (read
with ``olefile``, strict: any structural defect is an error, and its stream sizes are checked
against the file's); the text is found through the *piece table* (the ``Clx`` in the table
stream, located by the FIB), each piece being either 8-bit cp1252 or UTF-16 in the
``WordDocument`` stream, and only the main document's characters (``ccpText``) are kept —
not footnotes, headers, comments or text boxes, which follow them. Field instructions (between
the field marks 0x13 and 0x14) are left out and their shown result kept; paragraph, cell and
page marks become paragraph breaks. Text deleted with tracked changes on (the revision mark
``sprmCFRMarkDel`` in the character formatting, the ``PlcBteChpx`` pages) is left out, as
Word shows the document with the changes accepted; inserted text is kept. If the formatting
pages cannot be read, the text is read without telling deletions apart.

Bounded before reading: the main text at most :data:`MAX_CHARS` characters, at most
:data:`MAX_PIECES` pieces, each piece inside its stream; an encrypted file, a Word 6/95 file
or a damaged one is one line (:class:`ValueError`).
"""

from __future__ import annotations

import bisect
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
_FC_BTE_CHPX = 12               # index of fcPlcfBteChpx/lcbPlcfBteChpx (character formatting)
_PAGE = 512                     # a formatting page (FKP) of the WordDocument stream
_MARK_DEL = 0x0800              # sprmCFRMarkDel: the characters are a tracked deletion
#: operand sizes of a sprm by its spra (bits 13-15); 6: variable, the size in its first byte
_OPERAND = {0: 1, 1: 1, 2: 2, 3: 4, 4: 2, 5: 2, 7: 3}

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
    fc_chpx, lcb_chpx = struct.unpack_from("<II", word, pos + 2 + 8 * _FC_BTE_CHPX)
    if not 0 <= ccp_text <= MAX_CHARS:
        raise ValueError(f"Word 97–2003 document too large ({ccp_text:,} characters; at most "
                         f"{MAX_CHARS:,})")
    table_name = "1Table" if flags & _TABLE_1 else "0Table"
    if not ole.exists(table_name):
        raise ValueError(f"not a readable Word 97–2003 document (no {table_name} stream)")
    table = ole.openstream(table_name).read()
    if fc_clx + lcb_clx > len(table) or lcb_clx == 0:
        raise ValueError("not a readable Word 97–2003 document (piece table out of range)")
    deleted = _deleted_ranges(word, table[fc_chpx:fc_chpx + lcb_chpx]) \
        if fc_chpx + lcb_chpx <= len(table) else []
    return _read_pieces(word, table[fc_clx:fc_clx + lcb_clx], ccp_text, deleted)


def _deleted_ranges(word: bytes, plc: bytes) -> list[tuple[int, int]]:
    """The byte ranges of the WordDocument stream holding tracked deletions, sorted and
    merged, from the character formatting pages; [] when there are none or the table is not
    readable (the text is then read whole, as before this was read)."""
    if len(plc) < 12 or (len(plc) - 4) % 8:
        return []
    n = (len(plc) - 4) // 8
    pages = struct.unpack_from(f"<{n}I", plc, 4 * (n + 1))
    ranges: list[tuple[int, int]] = []
    for pn in sorted(set(p & 0x3FFFFF for p in pages)):   # each page once, however often named
        page = word[pn * _PAGE:(pn + 1) * _PAGE]
        if len(page) < _PAGE:
            return []
        runs = page[_PAGE - 1]
        if not 0 < runs <= 0x65 or 4 * (runs + 1) + runs > _PAGE - 1:
            return []
        fcs = struct.unpack_from(f"<{runs + 1}I", page, 0)
        for i in range(runs):
            at = 2 * page[4 * (runs + 1) + i]
            if at and at < _PAGE - 1 and _is_deleted(page[at + 1:at + 1 + page[at]]):
                if fcs[i] < fcs[i + 1]:
                    ranges.append((fcs[i], fcs[i + 1]))
    ranges.sort()
    merged: list[tuple[int, int]] = []
    for start, end in ranges:
        if merged and start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], end))
        else:
            merged.append((start, end))
    return merged


def _is_deleted(grpprl: bytes) -> bool:
    """Whether a run's character properties (a list of sprms) mark it as a tracked deletion:
    sprmCFRMarkDel on (1), or 0x81 (the opposite of the style's, which never has it)."""
    pos = 0
    while pos + 2 < len(grpprl):
        sprm = grpprl[pos] | grpprl[pos + 1] << 8
        pos += 2
        if sprm == _MARK_DEL:
            return grpprl[pos] in (1, 0x81)
        size = _OPERAND.get(sprm >> 13)
        if size is None:                      # variable: a size byte, then that many
            size = 1 + grpprl[pos]
        pos += size
    return False


def _kept(raw: bytes, start: int, width: int, deleted: list[tuple[int, int]]) -> bytes:
    """``raw`` (the bytes at ``start`` of the WordDocument stream) without the deleted
    ranges, cut at character boundaries (``width`` bytes a character)."""
    end = start + len(raw)
    first = bisect.bisect_right(deleted, (start, end)) - 1
    parts, at = [], start
    for d_start, d_end in deleted[max(first, 0):]:
        if d_start >= end:
            break
        if d_end <= at:
            continue
        cut = max(at, start + (d_start - start) // width * width) if d_start > at else at
        parts.append(raw[at - start:cut - start])
        at = min(end, start + -(-(d_end - start) // width) * width)
    parts.append(raw[at - start:])
    return b"".join(parts)


def _read_pieces(word: bytes, clx: bytes, wanted: int,
                 deleted: list[tuple[int, int]] = ()) -> str:
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
        if deleted:
            raw = _kept(raw, start, 1 if compressed else 2, deleted)
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
