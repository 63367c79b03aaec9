"""Which files of a Scrivener project are the manuscript: only those are a writer's prose.

A ``*.scriv`` project is a folder. Scrivener 3 keeps each document's text in
``Files/Data/<UUID>/content.rtf`` and Scrivener 2 in ``Files/Docs/<ID>.rtf``; beside them are
notes, synopses, settings, search indexes and the binder, ``<name>.scrivx``, an XML tree of
``<BinderItem UUID|ID=… Type=…>`` whose top level is the Draft (the manuscript, what
Scrivener compiles), Research, Trash and any folder the writer added. Research holds
clippings of other people's writing and Trash the scenes the writer threw away: training
"my voice" on either is wrong, so a document is read only when the binder puts it in the
Draft. When the binder cannot be read (missing, too large, broken or hostile XML), every
document is read, as before this module, and nothing else.

The binder is parsed as a stream with expat, a DTD refused as it starts (no entity is ever
declared or expanded), at most :data:`MAX_BINDER_BYTES`, :data:`MAX_ITEMS` items and
:data:`MAX_DEPTH` levels; it is read once per project and change (cached by size and time).
"""

from __future__ import annotations

import functools
import re
from pathlib import Path
from xml.parsers import expat

#: Why a file inside a Scrivener project that is not a document's text is not read.
SCRIVENER_EXTRA = "part of a Scrivener project, not a document's text"
#: Why a document outside the project's Draft is not read, by the top-level folder it is in.
OUTSIDE_DRAFT = {
    "ResearchFolder": "in the Scrivener project's Research, not its manuscript",
    "TrashFolder": "in the Scrivener project's Trash",
    None: "outside the Scrivener project's manuscript (Draft)",
}
NOT_IN_BINDER = "not in the Scrivener project's binder (a leftover file)"

MAX_BINDER_BYTES = 64 << 20      # a 5,000-document project's binder is a few MB
MAX_ITEMS = 200_000
MAX_DEPTH = 1_000
_SCRIVENER_2_DOC = re.compile(r"(\d+)\.rtf", re.IGNORECASE)


def scrivener_skip(path: Path) -> str:
    """Why ``path`` is not read as a writer's text ("" when it is, or is not in a project)."""
    parts = Path(path).parts
    scriv = next((i for i in range(len(parts) - 2, -1, -1)
                  if parts[i].lower().endswith(".scriv")), None)
    if scriv is None:
        return ""
    name = parts[-1].lower()
    if name == "content.rtf" and len(parts) > 1:
        key = parts[-2]                                    # Files/Data/<UUID>/content.rtf
    elif len(parts) > 1 and parts[-2].lower() == "docs" and (
            doc := _SCRIVENER_2_DOC.fullmatch(name)):
        key = doc.group(1)                                 # Files/Docs/<ID>.rtf
    else:
        return SCRIVENER_EXTRA
    sections = _binder_of(Path(*parts[:scriv + 1]))
    if sections is None:
        return ""
    if key not in sections:
        return NOT_IN_BINDER
    section = sections[key]
    return "" if section == "DraftFolder" else OUTSIDE_DRAFT.get(section, OUTSIDE_DRAFT[None])


def _binder_of(project: Path) -> dict[str, str | None] | None:
    """The project's binder as {document id: its top-level folder's Type}, or None."""
    try:
        binders = [p for p in project.iterdir() if p.suffix.lower() == ".scrivx"]
        if len(binders) != 1:
            return None
        stat = binders[0].stat()
    except OSError:
        return None
    return _parse_binder(binders[0], stat.st_size, stat.st_mtime_ns)


@functools.lru_cache(maxsize=16)
def _parse_binder(path: Path, size: int, _mtime_ns: int) -> dict[str, str | None] | None:
    if size > MAX_BINDER_BYTES:
        return None
    binder = _Binder()
    try:
        with path.open("rb") as stream:
            read = 0
            while chunk := stream.read(1 << 20):
                read += len(chunk)
                if read > MAX_BINDER_BYTES:
                    return None
                binder.parser.Parse(chunk, False)
            binder.parser.Parse(b"", True)
    except (OSError, expat.ExpatError, ValueError):
        return None
    return binder.sections if binder.drafts else None


class _Binder:
    """Streams the ``<Binder>`` tree and records each item's top-level folder Type."""

    def __init__(self) -> None:
        self.sections: dict[str, str | None] = {}
        self.drafts = 0
        self._items: list[str | None] = []   # open BinderItems' top-level Type, outermost first
        self._in_binder = 0
        self.parser = expat.ParserCreate()
        self.parser.StartDoctypeDeclHandler = self._refuse
        self.parser.EntityDeclHandler = self._refuse
        self.parser.StartElementHandler = self._start
        self.parser.EndElementHandler = self._end

    @staticmethod
    def _refuse(*_args) -> None:
        raise ValueError("a Scrivener binder with a DTD (refused: entity expansion)")

    def _start(self, name: str, attrs: dict) -> None:
        if name == "Binder":
            self._in_binder += 1
        elif name == "BinderItem" and self._in_binder:
            if len(self._items) >= MAX_DEPTH or len(self.sections) >= MAX_ITEMS:
                raise ValueError("a Scrivener binder too large or too deep")
            kind = attrs.get("Type")
            top = self._items[0] if self._items else (
                kind if kind in ("DraftFolder", "ResearchFolder", "TrashFolder") else None)
            self.drafts += top == "DraftFolder" and not self._items
            key = attrs.get("UUID") or attrs.get("ID")
            if key:
                self.sections.setdefault(key, top)
            self._items.append(top)

    def _end(self, name: str) -> None:
        if name == "Binder" and self._in_binder:
            self._in_binder -= 1
        elif name == "BinderItem" and self._in_binder and self._items:
            self._items.pop()
