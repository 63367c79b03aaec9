"""The words of an RTF file (TextEdit, WordPad, Scrivener's ``content.rtf``), paragraph by
paragraph.

RTF is a stream of groups ``{...}``, control words (``\\par``, ``\\u8212?``), escaped bytes
(``\\'e9``) and plain text. One pass over a tokenizing regular expression (linear, no
backtracking) keeps the text of the body and drops the groups that are not body text: font,
colour and style tables, document info, pictures and objects, headers, footers, footnotes,
comments, field instructions, and every ``{\\*\\...}`` destination a reader may ignore. Text
deleted with tracked changes on (``\\deleted``) is left out, and so is a deleted paragraph
mark (its paragraphs are joined): the document as it reads with the changes accepted. Group
depth is bounded (:data:`MAX_DEPTH`), so a hostile file is refused in one line; the size of the
file is bounded by its caller (:mod:`desktop_app.core.text_files`).
"""

from __future__ import annotations

import codecs
import re

MAX_DEPTH = 1_000
_TOKEN = re.compile(rb"\\([a-zA-Z]{1,32})(-?\d{1,10})? ?|\\'([0-9a-fA-F]{2})|\\(.)|([{}])"
                    rb"|[\r\n]+|([^\\{}\r\n]+)", re.DOTALL)
#: groups whose text is not the body's (besides any "{\*\word ...}" group)
_SKIP = frozenset(
    "fonttbl colortbl stylesheet info pict object header headerl headerr headerf footer "
    "footerl footerr footerf footnote annotation atnid atnauthor atndate fldinst "
    "themedata colorschememapping latentstyles datastore listtable listoverridetable "
    "rsidtbl generator xmlnstbl pgdsctbl nonshppict shp bkmkstart bkmkend xe tc "
    "filetbl revtbl userprops template mmathPr".split())
_CHARACTERS = {"tab": "\t", "line": "\n", "emdash": "\u2014", "endash": "\u2013",
               "bullet": "\u2022", "lquote": "\u2018", "rquote": "\u2019",
               "ldblquote": "\u201c", "rdblquote": "\u201d", "emspace": " ", "enspace": " ",
               "qmspace": " "}
_PARAGRAPH_ENDS = {"par", "sect", "page", "row"}
_SYMBOLS = {b"\\": "\\", b"{": "{", b"}": "}", b"~": "\u00a0", b"_": "\u2011", b"-": ""}


def rtf_paragraphs(data: bytes) -> list[str]:
    """The body's paragraphs (empty ones included); ``ValueError`` with a reason for a file
    that is not RTF or nests its groups deeper than :data:`MAX_DEPTH`."""
    if not data[:64].lstrip().startswith(b"{\\rtf"):
        raise ValueError("not an RTF file (it does not start with {\\rtf)")
    paragraphs: list[str] = []
    words: list[str] = []
    # per open group: (skipping, unicode fallback count, deleted); the file's code page for \'hh
    stack: list[tuple[bool, int, bool]] = []
    skipping, uc, fallback = False, 1, 0      # fallback: characters still to drop after \u
    deleted = False                           # a tracked deletion (\deleted) is in effect
    high = 0                                  # the first half of a surrogate pair
    codepage = "cp1252"
    group_start = False                       # the previous token opened a group
    ignorable = False                         # the group began with \*

    def text(s: str) -> None:
        nonlocal fallback
        if fallback:                          # the ANSI stand-in after a \uN: dropped
            cut = min(fallback, len(s))
            s, fallback = s[cut:], fallback - cut
        if s and not skipping and not deleted:
            words.append(s)

    for match in _TOKEN.finditer(data):
        word, param, hexbyte, symbol, brace, plain = match.groups()
        opened_now = False
        if brace == b"{":
            if len(stack) >= MAX_DEPTH:
                raise ValueError(f"RTF groups nested deeper than {MAX_DEPTH}")
            stack.append((skipping, uc, deleted))
            opened_now, ignorable = True, False
        elif brace == b"}":
            if stack:
                skipping, uc, deleted = stack.pop()
            fallback = 0
        elif word is not None:
            name = word.decode("ascii")
            if group_start and (ignorable or name in _SKIP):
                skipping = True
            elif name == "u" and param is not None:
                value = int(param)
                if value < 0:
                    value += 65536
                if 0xD800 <= value < 0xDC00:          # a character beyond the BMP (an emoji)
                    high = value                      # comes as two \u: keep the first half
                elif 0xDC00 <= value < 0xE000:
                    if high:
                        text(chr(0x10000 + ((high - 0xD800) << 10) + (value - 0xDC00)))
                    high = 0
                elif 0 < value < 0x110000:
                    text(chr(value))
                fallback = uc
            elif name == "deleted":
                deleted = param is None or int(param) != 0
            elif name == "plain":                     # character formatting back to default
                deleted = False
            elif name == "uc" and param is not None:
                uc = max(0, min(int(param), 16))
            elif name == "ansicpg" and param is not None:
                codepage = _codepage(int(param), codepage)
            elif name in _PARAGRAPH_ENDS:
                fallback = 0
                if not skipping and not deleted:
                    paragraphs.append("".join(words))
                    words.clear()
            elif name in _CHARACTERS:
                text(_CHARACTERS[name])
        elif hexbyte is not None:
            text(bytes([int(hexbyte, 16)]).decode(codepage, "replace"))
        elif symbol is not None:
            if symbol == b"*":
                ignorable, opened_now = True, group_start   # "{\*" keeps the group's start
            elif symbol in (b"\n", b"\r"):                  # "\<newline>" is \par
                if not skipping and not deleted:
                    paragraphs.append("".join(words))
                    words.clear()
            else:
                text(_SYMBOLS.get(symbol, ""))
        elif plain is not None:
            text(plain.decode(codepage, "replace"))
        group_start = opened_now
    if words and not skipping:
        paragraphs.append("".join(words))
    return paragraphs


def _codepage(number: int, current: str) -> str:
    """The Python codec of ``\\ansicpgN`` (an unknown number keeps the one in use)."""
    name = f"cp{number}"
    try:
        codecs.lookup(name)
    except LookupError:
        return current
    return name
