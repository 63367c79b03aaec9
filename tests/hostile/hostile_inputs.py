"""Generators for the hostile-input suite: every damaged file is made at test time (nothing
large is committed). Each function writes one input and returns its path."""

from __future__ import annotations

import json
import struct
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
STORIES = ROOT / "models" / "text" / "reverie-stories"

#: Issue 20 item 1: 48 bytes, one note lasting 2**28 ticks at 1 tick per quarter note.
LONG_NOTE_MIDI = bytes.fromhex(
    "4d546864000000060000000100014d54726b0000001a00903c40ffffff7f803c40ffffff7f903e4001"
    "803e4000ff2f00")


def _vlq(n: int) -> bytes:
    out = [n & 0x7F]
    while n > 0x7F:
        n >>= 7
        out.append(0x80 | (n & 0x7F))
    return bytes(reversed(out))


def midi(path: Path, *, tempo: int | None = 500_000, notes: int = 8, tpb: int = 480) -> Path:
    """A type-0 file with ``notes`` quarter notes (and a set_tempo of ``tempo``, 0 allowed)."""
    events = b""
    if tempo is not None:
        events += b"\x00\xff\x51\x03" + tempo.to_bytes(3, "big")
    for i in range(notes):
        pitch = 60 + (i * 2) % 12
        events += b"\x00\x90" + bytes([pitch, 80]) + _vlq(tpb) + b"\x80" + bytes([pitch, 0])
    events += b"\x00\xff\x2f\x00"
    data = (b"MThd" + struct.pack(">IHHH", 6, 0, 1, tpb)
            + b"MTrk" + struct.pack(">I", len(events)) + events)
    path.write_bytes(data)
    return path


def long_note_midi(path: Path) -> Path:
    path.write_bytes(LONG_NOTE_MIDI)
    return path


def writing_folder(folder: Path) -> Path:
    """A folder of hostile 'writing': a .docx whose 200 MB body compresses to a few hundred
    kB (a zip bomb), a .docx with a billion-laughs DTD, an .odt that is not a zip, an .rtf
    nested 200,000 groups deep, an .epub whose package file lies outside the archive, and a
    Word 97 .doc that claims a billion characters of text and whose OLE chain is cut short."""
    import zipfile
    folder.mkdir(parents=True, exist_ok=True)
    w = "http://schemas.openxmlformats.org/wordprocessingml/2006/main"
    with zipfile.ZipFile(folder / "bomb.docx", "w", zipfile.ZIP_DEFLATED) as z:
        with z.open("word/document.xml", "w", force_zip64=True) as body:
            body.write(f'<w:document xmlns:w="{w}"><w:body><w:p><w:r><w:t>'.encode())
            for _ in range(200):
                body.write(b"a" * (1 << 20))
            body.write(b"</w:t></w:r></w:p></w:body></w:document>")
    laughs = '<!DOCTYPE d [<!ENTITY a "haha">' + "".join(
        f'<!ENTITY {c} "{("&" + p + ";") * 10}">' for p, c in zip("abcdefgh", "bcdefghi")) + "]>"
    with zipfile.ZipFile(folder / "laughs.docx", "w") as z:
        z.writestr("word/document.xml", laughs + f'<w:document xmlns:w="{w}"><w:body><w:p>'
                   '<w:r><w:t>&i;</w:t></w:r></w:p></w:body></w:document>')
    (folder / "notes.odt").write_bytes(b"PK\x03\x04" + b"\0" * 100)
    with zipfile.ZipFile(folder / "book.epub", "w") as z:   # its package outside the archive
        z.writestr("META-INF/container.xml", '<container><rootfiles><rootfile full-path='
                   '"../../../../etc/passwd"/></rootfiles></container>')
    (folder / "deep.rtf").write_bytes(b"{\\rtf1 " + b"{" * 200_000 + b"x" + b"}" * 200_000)
    import olefile
    real = Path(__file__).parents[1] / "core" / "writing" / "marks.doc"
    (folder / "huge.doc").write_bytes(real.read_bytes())
    with olefile.OleFileIO(str(folder / "huge.doc"), write_mode=True) as ole:
        fib = bytearray(ole.openstream("WordDocument").read())
        struct.pack_into("<i", fib, 76, 1 << 30)               # ccpText: 2^30 characters
        ole.write_stream("WordDocument", bytes(fib))
    (folder / "cut.doc").write_bytes(real.read_bytes()[:4096])
    return folder


def deep_json(depth: int = 100_000) -> str:
    return "[" * depth + "]" * depth


def safetensors_bytes(header: dict, data: bytes = b"") -> bytes:
    raw = json.dumps(header).encode()
    raw += b" " * (-len(raw) % 8)
    return struct.pack("<Q", len(raw)) + raw + data


def text_model(folder: Path, *, config: dict | None = None, config_text: str | None = None,
               tokenizer_config: dict | None = None, weights: bytes | None = None,
               index: dict | None = None) -> Path:
    """A copy of the built-in story model (weights and tokenizer symlinked, not copied) with
    its config patched (``config`` keys; None values remove a key) or replaced."""
    folder.mkdir(parents=True, exist_ok=True)
    cfg = json.loads((STORIES / "config.json").read_text())
    for k, v in (config or {}).items():
        if v is None:
            cfg.pop(k, None)
        else:
            cfg[k] = v
    (folder / "config.json").write_text(config_text if config_text is not None
                                        else json.dumps(cfg))
    (folder / "tokenizer.json").symlink_to(STORIES / "tokenizer.json")
    if tokenizer_config is not None:
        (folder / "tokenizer_config.json").write_text(json.dumps(tokenizer_config))
    if index is not None:
        (folder / "model.safetensors.index.json").write_text(json.dumps(index))
        (folder / "shard.safetensors").symlink_to(STORIES / "model.safetensors")
    elif weights is not None:
        (folder / "model.safetensors").write_bytes(weights)
    else:
        (folder / "model.safetensors").symlink_to(STORIES / "model.safetensors")
    return folder
