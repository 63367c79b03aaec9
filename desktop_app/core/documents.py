"""A writing session: the document text plus the history of generations that shaped it.

Saved as a ``.reverie`` file (JSON, written atomically). Each generation record keeps the
model's name and weights hash, the sampler settings and the seed, so any generation can be
reproduced exactly. Plain ``.txt`` / ``.md`` files open and save as text only; a Word
``.docx`` or ``.doc``, OpenDocument ``.odt``, ``.rtf`` or ``.epub`` file opens as its words and is saved
elsewhere (never over itself).

Files are untrusted input: :func:`load_document` validates types and sizes and raises
:class:`~desktop_app.core.errors.DataError` with a readable message for anything malformed.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from desktop_app.core.atomic import atomic_write_text
from desktop_app.core.errors import DataError
from desktop_app.core.text_files import DOCUMENT_SUFFIXES, foreign_document, read_text_file
from desktop_app.core.untrusted import loads_json

SESSION_SUFFIX = ".reverie"
FORMAT = "reverie-session"
FORMAT_VERSION = 1
MAX_FILE_BYTES = 256 * 1024 * 1024


@dataclass(frozen=True)
class GenerationRecord:
    """One generation: what was asked, with what, and what came out."""

    model_name: str
    model_sha256: str
    settings: dict[str, Any]
    seed: int
    prompt_chars: int  # how many characters before the insertion point were the prompt
    insert_at: int  # character offset in the document where the text was inserted
    text: str
    finish_reason: str = "length"
    max_tokens: int = 0
    variant: int = 0
    created: str = field(default_factory=lambda: datetime.now(timezone.utc).isoformat())


@dataclass
class WritingSession:
    """The Write room's document. Lives on the GUI thread; plain data otherwise."""

    text: str = ""
    history: list[GenerationRecord] = field(default_factory=list)
    model_name: str = ""
    title: str = ""

    def to_json(self) -> dict[str, Any]:
        return {
            "format": FORMAT,
            "version": FORMAT_VERSION,
            "title": self.title,
            "model_name": self.model_name,
            "text": self.text,
            "history": [asdict(record) for record in self.history],
        }

    @classmethod
    def from_json(cls, data: Any, source: str = "the file") -> "WritingSession":
        if not isinstance(data, dict) or data.get("format") != FORMAT:
            raise DataError(f"{source} is not a Reverie session file")
        version = data.get("version")
        if isinstance(version, bool) or not isinstance(version, int) or version < 1:
            raise DataError(f"{source} has an invalid format version ({str(version)[:20]!r}); "
                            "it is damaged")
        if version > FORMAT_VERSION:
            raise DataError(f"{source} was written by a newer Reverie (format {version}); "
                            "update Reverie to open it")
        text = data.get("text")
        if not isinstance(text, str):
            raise DataError(f"{source} has no document text")
        history_data = data.get("history", [])
        if not isinstance(history_data, list):
            raise DataError(f"{source} has a malformed generation history")
        history = [_record_from_json(item, source, index) for index, item in enumerate(history_data)]
        return cls(text=text, history=history, model_name=_str(data.get("model_name")),
                   title=_str(data.get("title")))


def _str(value: Any) -> str:
    return value if isinstance(value, str) else ""


_RECORD_TYPES = {"model_name": str, "model_sha256": str, "settings": dict, "seed": int,
                 "prompt_chars": int, "insert_at": int, "text": str, "finish_reason": str,
                 "max_tokens": int, "variant": int, "created": str}


def _record_from_json(item: Any, source: str, index: int) -> GenerationRecord:
    if not isinstance(item, dict):
        raise DataError(f"{source}: generation {index + 1} is malformed")
    values = {}
    for name, kind in _RECORD_TYPES.items():
        if name not in item:
            continue
        value = item[name]
        if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
            raise DataError(f"{source}: generation {index + 1} has a bad {name!r}")
        values[name] = value
    missing = [n for n in ("model_name", "model_sha256", "settings", "seed", "prompt_chars",
                           "insert_at", "text") if n not in values]
    if missing:
        raise DataError(f"{source}: generation {index + 1} lacks {', '.join(missing)}")
    return GenerationRecord(**values)


def is_imported(path: str | Path) -> bool:
    """A Word, OpenDocument, RTF, EPUB, HTML or Final Draft file: opened as its words, never
    saved back over (Reverie would write plain text into a file its program owns)."""
    return Path(path).suffix.lower() in DOCUMENT_SUFFIXES


def load_document(path: str | Path) -> WritingSession:
    """Open a ``.reverie`` session, a plain-text file (UTF-8), or the words of a document
    (``.docx``, ``.doc``, ``.odt``, ``.rtf``, ``.epub``, ``.html``, ``.fdx``:
    :mod:`desktop_app.core.text_files`, bounded like training data)."""
    path = Path(path)
    if foreign := foreign_document(path):   # a Google Docs link, a Pages file: what to do
        raise DataError(f"{path.name}: {foreign}")
    if is_imported(path):
        text, reason = read_text_file(path)
        if text is None:
            raise DataError(f"{path.name}: {reason}")
        return WritingSession(text=text, title=path.stem)
    try:
        size = path.stat().st_size
        if size > MAX_FILE_BYTES:
            raise DataError(f"{path.name} is too large to open ({size / 2**20:.0f} MB)")
        raw = path.read_bytes()
    except OSError as exc:
        raise DataError(f"cannot read {path}: {exc.strerror or exc}") from exc
    if path.suffix.lower() == SESSION_SUFFIX:  # bounded: size, nesting depth, no NaN
        data = loads_json(raw, source=path.name, max_bytes=MAX_FILE_BYTES)
        return WritingSession.from_json(data, source=path.name)
    try:
        decoded = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise DataError(f"{path.name} is not UTF-8 text (byte {exc.start} is invalid)") from exc
    return WritingSession(text=decoded, title=path.stem)


def save_document(session: WritingSession, path: str | Path) -> None:
    """Save atomically: ``.reverie`` keeps the history; any other suffix saves the text only
    (except a document's suffix, ``.docx`` to ``.fdx``: plain text under that name would not
    open where those files open)."""
    path = Path(path)
    if is_imported(path):
        raise DataError(f"Reverie writes .reverie, .txt or .md files, not {path.suffix}: "
                        f"choose one of those names")
    if path.suffix.lower() == SESSION_SUFFIX:
        atomic_write_text(path, json.dumps(session.to_json(), ensure_ascii=False, indent=1))
    else:
        atomic_write_text(path, session.text)
