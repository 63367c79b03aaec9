"""Word 97-2003 ``.doc`` manuscripts (``core/word97_text.py``): real LibreOffice files read back
as their main text and shown field results, tracked deletions left out, and damaged, looping or
lying structures each one line (split from test_text_files.py)."""

from __future__ import annotations

from pathlib import Path

import pytest

from desktop_app.core.text_files import read_text_file

HERE = Path(__file__).parent / "writing"


def test_a_word_97_doc_keeps_the_main_text_and_shown_field_results():
    """LibreOffice 7.4 wrote marks.doc from marks.fodt: a footnote, a page-number field, a
    hyperlink, a comment, a two-cell table, a header and characters outside cp1252 (stored
    as a UTF-16 piece)."""
    text, reason = read_text_file(HERE / "marks.doc")
    assert reason == ""
    assert text == ("The count rode out at dawn, on page 1.\n\nSee the stable for the horse.\n\n"
                    "Cell one\n\nCell two\n\nNaïve café “quotes” — and Ω, 漢字.\n")


def _patched_doc(tmp_path: Path, patch) -> Path:
    """marks.doc with its WordDocument stream changed in place by ``patch(bytearray)``."""
    import olefile

    path = tmp_path / "patched.doc"
    path.write_bytes((HERE / "marks.doc").read_bytes())
    with olefile.OleFileIO(str(path), write_mode=True) as ole:
        stream = bytearray(ole.openstream("WordDocument").read())
        patch(stream)
        ole.write_stream("WordDocument", bytes(stream))
    return path


def _put(offset: int, fmt: str, value: int):
    import struct
    return lambda stream: struct.pack_into(fmt, stream, offset, value)


@pytest.mark.parametrize("patch, expected", [
    (_put(0, "<H", 0x1234), "not a Word 97–2003 document (no file information block)"),
    (_put(2, "<H", 0x0065), "a Word 6 or Word 95 document: save it as .docx first"),
    (_put(10, "<H", 0x0100 | 0x0200), "a password-protected Word document"),
    (_put(76, "<i", 1 << 30), "Word 97–2003 document too large (1,073,741,824 characters"),
    (_put(418, "<I", 0x7FFF0000), "not a readable Word 97–2003 document (piece table out of "
                                  "range)"),
], ids=["magic", "word95", "encrypted", "huge-ccp", "clx-outside"])
def test_a_damaged_word_97_doc_is_one_line(tmp_path, patch, expected):
    text, reason = read_text_file(_patched_doc(tmp_path, patch))
    assert text is None and reason.startswith(expected) and "\n" not in reason


@pytest.mark.parametrize("cut", [0, 600, 4096, -512])
def test_a_truncated_or_foreign_doc_is_one_line(tmp_path, cut):
    data = (HERE / "marks.doc").read_bytes()
    path = tmp_path / "cut.doc"
    path.write_bytes(data[:cut] if cut else b"<html><body>a .doc that is a web page")
    text, reason = read_text_file(path)
    assert text is None and "\n" not in reason and len(reason) <= 200
    assert reason.startswith(("not a Word 97–2003 document", "not a readable Word 97–2003"))


def test_an_rtf_file_named_doc_is_read_as_rtf(tmp_path):
    """Older Word and WordPad saved RTF under the name .doc; it is read, not refused."""
    path = tmp_path / "chapter.doc"
    path.write_bytes((HERE / "metzengerstein.rtf").read_bytes())
    assert read_text_file(path) == ((HERE / "metzengerstein.txt").read_text(encoding="utf-8"), "")


def test_a_piece_table_that_would_loop_or_overrun_is_one_line():
    """The Clx is read from the file: a formatting entry of negative size would step back
    forever, a piece past the text stream would read beyond it."""
    import struct

    from desktop_app.core.word97_text import _read_pieces
    looping = b"\x01" + struct.pack("<h", -3) + b"\x02"
    with pytest.raises(ValueError, match="bad formatting table"):
        _read_pieces(b"x" * 100, looping, 10)
    plc = struct.pack("<2I", 0, 50) + b"\0\0" + struct.pack("<I", 0x40000000 | 400) + b"\0\0"
    clx = b"\x02" + struct.pack("<I", len(plc)) + plc
    with pytest.raises(ValueError, match="text out of range"):
        _read_pieces(b"x" * 100, clx, 50)
    assert _read_pieces(b"a" * 100 + b"hello" * 10, clx.replace(
        struct.pack("<I", 0x40000000 | 400), struct.pack("<I", 0x40000000 | 200)), 50) == \
        "hello" * 10
    truncated = b"\x01\x05"
    with pytest.raises(ValueError, match="no piece table"):
        _read_pieces(b"", truncated, 1)


def test_fields_nested_past_the_bound_are_still_dropped_in_order():
    from desktop_app.core import word97_text
    from desktop_app.core.word97_text import _paragraphs
    shown = "\x13 PAGE \x141\x15"
    assert _paragraphs(f"on page {shown}.\r") == ["on page 1."]
    deep = "\x13 IF " * 100 + "x" + "\x14" + "\x15" * 100
    assert _paragraphs(f"a{deep}b\r") == ["ab"]
    assert word97_text._MAX_FIELD_DEPTH < 100


def test_deleted_ranges_are_cut_at_character_boundaries():
    """_kept against a byte-by-byte reference, for one- and two-byte characters, ranges that
    start before, end after, or lie inside a piece, and a range that splits a character."""
    import random

    from desktop_app.core.word97_text import _kept
    rng = random.Random(5)
    for _ in range(500):
        width = rng.choice((1, 2))
        start = rng.randrange(0, 40)
        raw = bytes(rng.randrange(256) for _ in range(width * rng.randrange(0, 20)))
        edges = sorted(rng.sample(range(0, 100), 2 * rng.randrange(0, 4)))
        deleted = list(zip(edges[::2], edges[1::2]))
        chars = [raw[i:i + width] for i in range(0, len(raw), width)]
        # a character goes if any of its bytes is in a deleted range
        expected = b"".join(c for i, c in enumerate(chars) if not any(
            s < start + width * i + width and start + width * i < e for s, e in deleted))
        assert _kept(raw, start, width, deleted) == expected, (raw, start, width, deleted)


def test_hostile_formatting_pages_read_the_text_whole():
    """Character formatting pages the file lies about (a page past the stream, a run count
    out of range, a grpprl whose sizes overrun) cost nothing: the text is read whole."""
    import struct

    from desktop_app.core.word97_text import _deleted_ranges, _is_deleted
    word = bytearray(1024)
    plc = struct.pack("<3I", 0, 10, 7)                  # one page, at page 7: past the stream
    assert _deleted_ranges(bytes(word), plc) == []
    word[1023] = 200                                    # page 1 says 200 runs (at most 101)
    assert _deleted_ranges(bytes(word), struct.pack("<3I", 0, 10, 1)) == []
    word[1023] = 1                                      # one run: bytes 600-650 of the text,
    struct.pack_into("<2I", word, 512, 600, 650)
    word[512 + 8] = 8                                   # its properties at byte 16 of the page
    word[512 + 16:512 + 21] = bytes([4, 0x00, 0x08, 0x01, 0])   # cb 4: sprmCFRMarkDel on
    assert _deleted_ranges(bytes(word), struct.pack("<3I", 0, 10, 1)) == [(600, 650)]
    assert _is_deleted(bytes([0x62, 0xCA, 200, 1, 2])) is False   # a size byte past the end
    assert _is_deleted(bytes([0x00, 0x08])) is False                # a sprm without its operand
    assert _is_deleted(bytes([0x35, 0x08, 1, 0x00, 0x08, 0x81]))    # after another; 0x81: on
