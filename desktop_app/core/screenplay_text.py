"""The words of a Final Draft screenplay (``.fdx``) as a screenplay reads in plain text.

Screenwriters keep their scripts in Final Draft, whose ``.fdx`` file is XML: the script is
``<Content>``'s ``<Paragraph Type="Scene Heading|Action|Character|Parenthetical|Dialogue|
Transition|Shot|General">`` elements, each with its words in one or more ``<Text>`` runs
(one per style: bold, italic...). Used as "UTF-8 text" before, a script trained the model on
its markup. Here it becomes what the writer sees on the page, in the layout of Fountain
(the plain-text screenplay format): a blank line between paragraphs, a character's cue, the
parenthetical and the speech together on consecutive lines, and the elements Final Draft
shows in capitals (scene headings, cues, transitions, shots) in capitals, whatever case was
typed. The title page, headers and footers, script notes, SmartType lists and the settings
are left out; both speeches of dual dialogue are kept, one after the other.

Bounded like the other documents: the caller caps the bytes, the XML is parsed as a stream
(memory follows the words), and a DTD is refused the moment it starts (no entity is ever
declared or expanded; Final Draft never writes one).
"""

from __future__ import annotations

from collections.abc import Iterable
from xml.parsers import expat

#: Paragraph types Final Draft's default template shows in capitals.
_CAPITALS = {"scene heading", "character", "transition", "shot"}
#: Types that continue a character's cue on the next line instead of after a blank one.
_IN_A_SPEECH = {"parenthetical", "dialogue"}
#: Elements left out with everything inside them.
_LEFT_OUT = {"TitlePage", "HeaderAndFooter", "ScriptNotes", "ScriptNote", "SmartType",
             "ElementSettings", "PageLayout", "DisplayBoards", "Revisions", "TagData",
             "Cast", "Actors", "SceneProperties", "DynamicLabel"}
_MAX_NESTED_PARAGRAPHS = 64     # dual dialogue nests one deep; a hostile file, millions


def fdx_paragraphs(chunks: Iterable[bytes]) -> list[str]:
    """The script's paragraphs (a speech is one: cue, parenthetical and lines); ``ValueError``
    with a one-line reason for a file that is not a Final Draft script."""
    script = _Script()
    parser = expat.ParserCreate()
    parser.StartDoctypeDeclHandler = _refuse_dtd
    parser.EntityDeclHandler = _refuse_dtd
    parser.StartElementHandler = script.start
    parser.EndElementHandler = script.end
    parser.CharacterDataHandler = script.text
    parser.buffer_text = True
    try:
        for chunk in chunks:
            parser.Parse(chunk, False)
        parser.Parse(b"", True)
    except expat.ExpatError as exc:
        raise ValueError(f"not a readable Final Draft script (bad XML: "
                         f"{expat.ErrorString(exc.code)})") from None
    if not script.seen_root:
        raise ValueError("not a Final Draft script (no <FinalDraft> element)")
    return script.paragraphs


def _refuse_dtd(*_args) -> None:
    raise ValueError("Final Draft script with a DTD (refused: entity expansion)")


class _Script:
    """Paragraphs from the expat events of one ``.fdx`` file."""

    def __init__(self) -> None:
        self.paragraphs: list[str] = []
        self.seen_root = False
        self._content = 0                         # inside <Content> (not a left-out one's)
        self._left_out = 0
        self._open: list[tuple[str, list[str]]] = []   # (type, words) of open paragraphs
        self._in_text = 0
        self._speech = False                      # the last paragraph was a cue or a speech

    def start(self, name: str, attrs: dict) -> None:
        if name == "FinalDraft":
            self.seen_root = True
        if self._left_out or name in _LEFT_OUT:
            self._left_out += 1
        elif name == "Content":
            self._content += 1
        elif name == "Paragraph" and self._content:
            if len(self._open) < _MAX_NESTED_PARAGRAPHS:
                self._open.append((str(attrs.get("Type", "")).strip().lower(), []))
        elif name == "Text" and self._open:
            self._in_text += 1
        elif name == "Tab" and self._open:
            self._open[-1][1].append("\t")

    def end(self, name: str) -> None:
        if self._left_out:
            self._left_out -= 1
        elif name == "Content" and self._content:
            self._content -= 1
        elif name == "Paragraph" and self._open and self._content:
            self._paragraph(*self._open.pop())
        elif name == "Text" and self._in_text:
            self._in_text -= 1

    def text(self, data: str) -> None:
        if self._in_text and self._open and not self._left_out:
            self._open[-1][1].append(data)

    def _paragraph(self, kind: str, words: list[str]) -> None:
        text = "".join(words).strip()
        if not text:                               # a dual-dialogue holder, an empty line
            return
        if kind in _CAPITALS:
            text = text.upper()
        if kind in _IN_A_SPEECH and self._speech:
            self.paragraphs[-1] += "\n" + text
        else:
            self.paragraphs.append(text)
        self._speech = kind == "character" or (kind in _IN_A_SPEECH and self._speech)
