"""A writer's files as text: real LibreOffice .docx/.doc/.odt/.rtf/.epub files read back word
for word, the markup that is left out (deleted changes, field codes, footnotes, comments, RTF
tables of fonts and styles), and hostile documents (a DTD, a zip bomb, a broken archive, RTF
nested a hundred thousand deep) that cost one line each. A Word 97 ``.doc``'s own cases are in
test_word97_text.py."""

from __future__ import annotations

import zipfile
from pathlib import Path

import pytest

from desktop_app.core import text_files
from desktop_app.core.text_files import read_text_file

HERE = Path(__file__).parent / "writing"
W = "http://schemas.openxmlformats.org/wordprocessingml/2006/main"
ODT_NS = ('xmlns:office="urn:oasis:names:tc:opendocument:xmlns:office:1.0" '
          'xmlns:text="urn:oasis:names:tc:opendocument:xmlns:text:1.0"')


def _docx(path: Path, body: str, *, head: str = "") -> Path:
    xml = f'{head}<w:document xmlns:w="{W}"><w:body>{body}</w:body></w:document>'
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("[Content_Types].xml", "<Types/>")
        z.writestr("word/document.xml", xml)
    return path


def _odt(path: Path, body: str) -> Path:
    xml = (f'<office:document-content {ODT_NS}><office:body><office:text>{body}'
           f'</office:text></office:body></office:document-content>')
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("mimetype", "application/vnd.oasis.opendocument.text")
        z.writestr("content.xml", xml)
    return path


@pytest.mark.parametrize("name", ["metzengerstein.docx", "metzengerstein.doc",
                                  "metzengerstein.odt", "metzengerstein.rtf",
                                  "metzengerstein.epub"])
def test_a_word_processor_file_reads_as_its_paragraphs(name):
    """LibreOffice 7.4 wrote these from metzengerstein.txt (five paragraphs of Poe)."""
    text, reason = read_text_file(HERE / name)
    assert reason == ""
    assert text == (HERE / "metzengerstein.txt").read_text(encoding="utf-8")


def test_docx_keeps_the_words_and_leaves_out_what_is_not_text(tmp_path):
    body = ('<w:p><w:r><w:t xml:space="preserve">   Indented, </w:t></w:r>'
            '<w:r><w:t>then</w:t><w:tab/><w:t>a tab</w:t><w:br/><w:t>and a break.</w:t></w:r>'
            '<w:del><w:r><w:delText>deleted words</w:delText></w:r></w:del>'
            '<w:r><w:instrText> PAGE </w:instrText></w:r></w:p>'
            '<w:p/>'                                                   # an empty paragraph
            '<w:tbl><w:tr><w:tc><w:p><w:r><w:t>In a table.</w:t></w:r></w:p></w:tc></w:tr>'
            '</w:tbl>'
            '<w:p><w:r><w:t>Non</w:t><w:noBreakHyphen/><w:t>breaking.</w:t></w:r></w:p>')
    text, reason = read_text_file(_docx(tmp_path / "a.docx", body))
    assert reason == ""
    assert text == ("   Indented, then\ta tab\nand a break.\n\nIn a table.\n\n"
                    "Non-breaking.\n")


def test_odt_mixed_content_spaces_notes_and_comments(tmp_path):
    body = ('<text:h>Chapter One</text:h>'
            '<text:p>A<text:s text:c="3"/>gap, <text:span>a span</text:span>,<text:tab/>a tab'
            '<text:line-break/>and a line.<text:note><text:note-body><text:p>A footnote.'
            '</text:p></text:note-body></text:note> After the mark.'
            '<office:annotation><text:p>A comment.</text:p></office:annotation></text:p>'
            '<text:tracked-changes><text:changed-region><text:deletion><text:p>Gone.</text:p>'
            '</text:deletion></text:changed-region></text:tracked-changes>'
            '<text:list><text:list-item><text:p>An item.</text:p></text:list-item></text:list>'
            '<text:p text:style-name="x"><text:s text:c="99999999"/>x</text:p>')
    text, reason = read_text_file(_odt(tmp_path / "a.odt", body))
    assert reason == ""
    paragraphs = text.split("\n\n")
    assert paragraphs[:3] == ["Chapter One",
                              "A   gap, a span,\ta tab\nand a line. After the mark.",
                              "An item."]
    assert paragraphs[3] == " " * 1000 + "x\n"    # a hostile space count is capped


def test_a_dtd_is_refused_before_any_entity_is_expanded(tmp_path):
    laughs = ('<?xml version="1.0"?><!DOCTYPE w:document [<!ENTITY a "ha">'
              + "".join(f'<!ENTITY {c} "&{p};&{p};&{p};&{p};&{p};&{p};&{p};&{p};&{p};&{p};">'
                        for p, c in zip("abcdefgh", "bcdefghi")) + "]>")
    path = _docx(tmp_path / "laughs.docx", '<w:p><w:r><w:t>&i;</w:t></w:r></w:p>', head=laughs)
    text, reason = read_text_file(path)
    assert text is None and "DTD" in reason
    # the same in UTF-16, which a byte search for "<!DOCTYPE" would not see
    xml = laughs.replace('version="1.0"', 'version="1.0" encoding="UTF-16"') + \
        f'<w:document xmlns:w="{W}"><w:body/></w:document>'
    with zipfile.ZipFile(tmp_path / "utf16.docx", "w") as z:
        z.writestr("word/document.xml", xml.encode("utf-16"))
    text, reason = read_text_file(tmp_path / "utf16.docx")
    assert text is None and "DTD" in reason


def test_a_zip_bomb_is_refused_by_what_it_expands_to(tmp_path, monkeypatch):
    monkeypatch.setattr(text_files, "MAX_XML_BYTES", 1 << 20)
    path = _docx(tmp_path / "bomb.docx", "<w:p><w:r><w:t>" + "a" * (3 << 20) + "</w:t></w:r></w:p>")
    assert path.stat().st_size < 20_000        # 3 MB of markup in a few kB of zip
    text, reason = read_text_file(path)
    assert text is None and "too large" in reason


@pytest.mark.parametrize("content, expected", [
    (b"PK\x03\x04 not really a zip", "not a readable Word document"),
    (b"", "not a readable Word document"),
])
def test_a_broken_document_is_one_line(tmp_path, content, expected):
    path = tmp_path / "broken.docx"
    path.write_bytes(content)
    text, reason = read_text_file(path)
    assert text is None and reason.startswith(expected) and "\n" not in reason


def test_a_zip_without_the_body_or_with_bad_xml(tmp_path):
    with zipfile.ZipFile(tmp_path / "other.odt", "w") as z:
        z.writestr("something.xml", "<a/>")
    assert read_text_file(tmp_path / "other.odt") == (
        None, "not an OpenDocument text (no content.xml inside)")
    path = _docx(tmp_path / "bad.docx", "<w:p><w:r><w:t>unclosed</w:r></w:p>")
    text, reason = read_text_file(path)
    assert text is None and "bad XML" in reason


def test_a_file_too_large_for_text_is_not_read(tmp_path, monkeypatch):
    monkeypatch.setattr(text_files, "MAX_FILE_BYTES", 1000)
    path = tmp_path / "big.txt"
    path.write_text("word " * 1000)
    text, reason = read_text_file(path)
    assert text is None and reason.startswith("too large for text")


def test_plain_text_rules_are_unchanged(tmp_path):
    (tmp_path / "a.txt").write_bytes(b"\xef\xbb\xbfline one\r\nline two\r\n")
    assert read_text_file(tmp_path / "a.txt") == ("line one\nline two\n", "")
    (tmp_path / "b.txt").write_bytes(b"abc\x00def")
    assert read_text_file(tmp_path / "b.txt") == (None, "binary file")
    (tmp_path / "c.txt").write_bytes(b"caf\xe9")
    assert read_text_file(tmp_path / "c.txt") == (None, "not UTF-8 text")
    (tmp_path / "d.docx").write_bytes(_docx(tmp_path / "e.docx", "<w:p/>").read_bytes())
    assert read_text_file(tmp_path / "d.docx") == (None, "empty")


TEXTEDIT_RTF = rb"""{\rtf1\ansi\ansicpg1252\cocoartf2639
\cocoatextscaling0\cocoaplatform0{\fonttbl\f0\fswiss\fcharset0 Helvetica;}
{\colortbl;\red255\green255\blue255;}
{\*\expandedcolortbl;;}
{\info{\title Draft}{\author Me}}
{\header Page 1}
\paperw11900\paperh16840\margl1440\margr1440\vieww11520\viewh8400\viewkind0
\pard\tx566\tx1133\pardirnatural\partightenfactor0

\f0\fs24 \cf0 The caf\'e9 was closed \'97 so we walked.\
\
She said,\~\'93Wait.\'94{\footnote A note.}{\*\annotation a comment}\
{\field{\*\fldinst{HYPERLINK "https://example.org"}}{\fldrslt a link}} and \uc1\u8220\'93quoted\u8221\'94 .\par
\u-3913?\tab end \u-10179?\u-8704?}"""


def test_rtf_as_textedit_and_word_write_it(tmp_path):
    path = tmp_path / "draft.rtf"
    path.write_bytes(TEXTEDIT_RTF)
    text, reason = read_text_file(path)
    assert reason == ""
    assert text == ("The caf\u00e9 was closed \u2014 so we walked.\n\n"
                    "She said,\u00a0\u201cWait.\u201d\n\n"
                    "a link and \u201cquoted\u201d .\n\n"
                    "\uf0b7\tend \U0001f600\n")  # \u-3913 is 65536 - 3913; an emoji is a
    #                                                surrogate pair of \u (U+D83D U+DE00)


@pytest.mark.parametrize("content, expected", [
    (b"{" * 100_000 + b"\\rtf1 deep" + b"}" * 100_000, "not an RTF file"),
    (b"{\\rtf1 " + b"{" * 100_000 + b"deep" + b"}" * 100_000, "RTF groups nested deeper"),
    (b"plain words with an .rtf name", "not an RTF file"),
])
def test_hostile_rtf_is_one_line(tmp_path, content, expected):
    path = tmp_path / "bad.rtf"
    path.write_bytes(content)
    text, reason = read_text_file(path)
    assert text is None and reason.startswith(expected)


CONTAINER = ('<?xml version="1.0"?><container version="1.0" xmlns="urn:oasis:names:tc:'
             'opendocument:xmlns:container"><rootfiles><rootfile full-path="{opf}" '
             'media-type="application/oebps-package+xml"/></rootfiles></container>')
XHTML = "application/xhtml+xml"


def _epub(path: Path, chapters: dict[str, str], *, spine: list[str] | None = None,
          opf: str = "OEBPS/book.opf", hrefs: dict[str, str] | None = None) -> Path:
    """An EPUB with ``chapters`` (entry name under the package's folder -> XHTML)."""
    hrefs = hrefs or {name: name for name in chapters}
    items = "".join(f'<item id="c{i}" href="{href}" media-type="{XHTML}"/>'
                    for i, href in enumerate(hrefs.values()))
    refs = "".join(f'<itemref idref="c{i}"/>' for i in (spine or range(len(hrefs))))
    package = (f'<package xmlns="http://www.idpf.org/2007/opf" version="3.0"><manifest>'
               f'{items}</manifest><spine>{refs}</spine></package>')
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("mimetype", "application/epub+zip")
        z.writestr("META-INF/container.xml", CONTAINER.format(opf=opf))
        z.writestr(opf, package)
        base = opf.rsplit("/", 1)[0]
        for name, body in chapters.items():
            z.writestr(f"{base}/{name}", body)
    return path


def _xhtml(body: str, head: str = "") -> str:
    return (f'{head}<html xmlns="http://www.w3.org/1999/xhtml" xmlns:epub="http://www.idpf.org/'
            f'2007/ops"><head><title>Not text</title><style>p {{}}</style></head>'
            f'<body>{body}</body></html>')


def test_an_epub_reads_its_chapters_in_spine_order_as_a_reader_shows_them(tmp_path):
    xhtml11 = ('<!DOCTYPE html PUBLIC "-//W3C//DTD XHTML 1.1//EN" '
               '"http://www.w3.org/TR/xhtml11/DTD/xhtml11.dtd">')
    one = _xhtml('<nav epub:type="toc"><ol><li>Chapter I</li></ol></nav>'
                 '<h1>Chapter   I</h1><p>It was a\n    dark night&#8212;and&nbsp;cold.'
                 '<a epub:type="noteref" href="#n1">1</a></p>'
                 '<aside epub:type="footnote" id="n1"><p>A footnote.</p></aside>'
                 '<p>A line<br/>and another.</p><pre>  kept\n    as is</pre>', xhtml11)
    two = _xhtml("Loose text first.<div>A div's own words<p>The second chapter.</p></div>"
                 "<p>&mdash; the end &amp; more</p>")
    path = _epub(tmp_path / "book.epub", {"text/two.xhtml": two, "text/one.xhtml": one},
                 spine=[1, 0])
    text, reason = read_text_file(path)
    assert reason == ""
    assert text == ("Chapter I\n\nIt was a dark night\u2014and\u00a0cold.\n\n"
                    "A line\nand another.\n\nkept\nas is\n\n"
                    "Loose text first.\n\nA div's own words\n\nThe second chapter.\n\n"
                    "\u2014 the end & more\n")


@pytest.mark.parametrize("case, expected", [
    ("outside", "its spine lists no chapters"),
    ("dtd", "DTD subset"),
    ("no container", "no META-INF/container.xml inside"),
    ("too large", "EPUB book too large"),
])
def test_a_hostile_epub_is_one_line(tmp_path, monkeypatch, case, expected):
    path = tmp_path / "bad.epub"
    if case == "outside":       # a chapter path that leaves the archive is never read
        _epub(path, {"c.xhtml": _xhtml("<p>x</p>")}, hrefs={"c": "../../../etc/passwd"})
    elif case == "dtd":
        laughs = '<!DOCTYPE html [<!ENTITY a "ha"><!ENTITY b "&a;&a;&a;&a;&a;&a;">]>'
        _epub(path, {"c.xhtml": _xhtml("<p>&b;</p>", laughs)})
    elif case == "no container":
        with zipfile.ZipFile(path, "w") as z:
            z.writestr("mimetype", "application/epub+zip")
    else:
        monkeypatch.setattr(text_files, "MAX_XML_BYTES", 10_000)
        _epub(path, {f"c{i}.xhtml": _xhtml("<p>" + "word " * 1000 + "</p>") for i in range(3)})
    text, reason = read_text_file(path)
    assert text is None and expected in reason and "\n" not in reason


def _session(path: Path, text: str, generations: list[tuple[int, str]]) -> Path:
    """A Write-room session whose history inserted ``text`` pieces at the given offsets."""
    from desktop_app.core.documents import GenerationRecord, WritingSession, save_document
    history = [GenerationRecord(model_name="smollm2-135m-instruct", model_sha256="ab" * 32,
                                settings={}, seed=1, prompt_chars=at, insert_at=at, text=piece)
               for at, piece in generations]
    save_document(WritingSession(text=text, history=history), path)
    return path


def test_a_reverie_session_is_the_writers_own_words(tmp_path):
    """Continuations the model wrote are left out where they still stand word for word; what
    the writer rewrote stays hers; a variant never inserted changes nothing."""
    from desktop_app.core.text_files import read_session_text
    mine_1 = "The rain had not stopped for three days."
    model_1 = " Rose watched it run down the glass and thought of the sea."
    mine_2 = "\n\nShe went down to breakfast late."
    model_2 = " Her aunts were already at the table, all six of them, talking at once."
    mine_3 = "\n\nNobody looked up."
    rewritten = " The cousins came in wet and loud"     # the writer edited this continuation
    text = mine_1 + model_1 + mine_2 + model_2 + mine_3 + rewritten + "."
    generations = [
        (len(mine_1), model_1),
        (len(mine_1 + model_1 + mine_2), model_2),
        (len(mine_1 + model_1 + mine_2 + model_2 + mine_3),
         " The cousins came in wet and noisy, shouting for cocoa."),
        (0, " A variant the writer did not choose, long enough to be searched for."),
    ]
    path = _session(tmp_path / "chapter.reverie", text, generations)
    own, reason, machine = read_session_text(path)
    assert reason == ""
    assert own == mine_1 + mine_2 + mine_3 + rewritten + "."
    assert machine == len(model_1) + len(model_2)
    assert read_text_file(path) == (own, "")


def test_a_session_edited_before_a_generation_is_found_by_its_words(tmp_path):
    from desktop_app.core.text_files import read_session_text
    continuation = " and the horse stood in the burning stable, unmoved, looking at him."
    short = " a word"                       # too short to look for elsewhere: may be hers
    text = "A new first line.\n\nThe count stared" + continuation + " Then" + short + "."
    # offsets recorded before "A new first line." was typed above them
    path = _session(tmp_path / "s.reverie", text, [(16, continuation), (90, short)])
    own, _reason, machine = read_session_text(path)
    assert own == "A new first line.\n\nThe count stared Then a word."
    assert machine == len(continuation)


def test_sessions_in_the_data_check_and_eval_are_their_own_words(tmp_path, capsys):
    from desktop_app.core.train_data_check import check_folder
    mine = "Plain words of my own, typed one by one on a winter night.\n" * 30
    model = " Words the model wrote, which are not my voice at all and never were."
    _session(tmp_path / "a.reverie", mine + model, [(len(mine), model)])
    (tmp_path / "broken.reverie").write_text('{"format": "reverie-session", "version": 1}')
    report = check_folder("text", tmp_path, fine_tune=True)
    assert report.usable == ["a.reverie"]
    assert report.data_bytes == len(mine.encode())
    assert dict(report.skipped) == {"broken.reverie": "broken.reverie has no document text"}
    assert f"Left out {len(model)} characters the model wrote in 1 Reverie session: only " \
           f"your own words are used" in report.warnings
    from desktop_app.commands.eval_text import collect_files, read_documents
    files = collect_files([str(tmp_path / "a.reverie")])
    assert read_documents(files) == [mine]


def test_a_session_of_only_the_models_words_is_not_usable(tmp_path):
    from desktop_app.core.train_data_check import check_folder
    model = "A whole page the model wrote, continued from an empty draft by pressing Continue."
    _session(tmp_path / "all-model.reverie", model, [(0, model)])
    _session(tmp_path / "blank.reverie", "  \n", [])
    report = check_folder("text", tmp_path, fine_tune=True)
    assert report.usable == [] and dict(report.skipped) == {
        "all-model.reverie": "only text the model wrote", "blank.reverie": "empty"}
    assert read_text_file(tmp_path / "all-model.reverie") == (None, "only text the model wrote")


TRACKED = ("The count rode out slowly at dawn, alone.\n\nHe crossed the bridge — “at last”.\n\n"
           "The horse waited, Ω.\n")


@pytest.mark.parametrize("name", ["tracked.doc", "tracked.rtf", "tracked.docx", "tracked.odt"])
def test_tracked_changes_read_as_accepted(name):
    """LibreOffice 7.4 wrote each file from tracked.fodt, whose editor deleted "very " and
    "quickly and " with changes tracked, cut a whole paragraph with its paragraph mark, and
    inserted ", alone": every format reads as the text with the changes accepted (the
    deleted words are not the writer's any more, the inserted ones are)."""
    text, reason = read_text_file(HERE / name)
    assert reason == "" and text == TRACKED


def test_rtf_tracked_deletions_as_word_writes_them(tmp_path):
    from desktop_app.core.rtf_text import rtf_paragraphs
    rtf = (rb"{\rtf1\ansi Kept {\deleted\revauthdel1 gone }words\deleted  also gone\deleted0  "
           rb"back\deleted  x\plain  plain\par"
           rb"{\deleted Cut paragraph\par}Next{\revised  inserted}\par}")
    assert rtf_paragraphs(rtf) == ["Kept words back plain", "Next inserted"]


def test_docx_text_a_tracked_move_took_away_is_read_once(tmp_path):
    """Word keeps moved text twice: as <w:t> in <w:moveFrom> where it was, and in <w:moveTo>
    where it went; it is read where it went."""
    body = ('<w:p><w:moveFrom w:id="1"><w:r><w:t>Moved away. </w:t></w:r></w:moveFrom>'
            '<w:r><w:t>Stays.</w:t></w:r></w:p>'
            '<w:p><w:pPr><w:rPr><w:moveFrom w:id="2"/></w:rPr></w:pPr>'
            '<w:r><w:t>Then </w:t></w:r><w:moveTo w:id="3"><w:r><w:t>Moved away.</w:t></w:r>'
            '</w:moveTo></w:p>')
    text, reason = read_text_file(_docx(tmp_path / "moved.docx", body))
    assert text == "Stays.\n\nThen Moved away.\n"


def test_other_programs_documents_are_skipped_with_what_to_do(tmp_path):
    """A Google Docs file on disk is a line of JSON (it was used as "UTF-8 text"); an Apple
    Pages document is a file or, synced from a Mac, a folder of non-text files. Each is one
    line in the data check saying to export it, and the Write room will not open one."""
    from desktop_app.core.documents import load_document
    from desktop_app.core.errors import DataError
    from desktop_app.core.train_data_check import check_folder
    (tmp_path / "chapter.txt").write_text("My own words. " * 200, encoding="utf-8")
    link = tmp_path / "Draft two.gdoc"
    link.write_text('{"url": "https://docs.google.com/open?id=x", "doc_id": "x"}')
    (tmp_path / "Old.pages").write_bytes(b"PK\x03\x04" + b"\0" * 100)
    (tmp_path / "~$apter.docx").write_bytes(b"\x05Writer" + b"\0" * 155)   # Word has it open
    package = tmp_path / "Novel.pages"
    (package / "Data").mkdir(parents=True)
    (package / "Index.zip").write_bytes(b"PK\x03\x04")
    (package / "Data" / "note.txt").write_text("not the manuscript", encoding="utf-8")
    report = check_folder("text", tmp_path, fine_tune=True)
    assert report.usable == ["chapter.txt"]
    skipped = dict(report.skipped)
    assert set(skipped) == {"Draft two.gdoc", "Old.pages", "Novel.pages",   # the folder: once
                            "~$apter.docx"}
    assert "open in Word" in skipped["~$apter.docx"]
    assert "Google Docs link" in skipped["Draft two.gdoc"] and ".docx" in skipped["Old.pages"]
    assert skipped["Novel.pages"] == skipped["Old.pages"]
    assert read_text_file(package / "Data" / "note.txt")[0] is None   # the trainer's reader too
    with pytest.raises(DataError, match="Google Docs link"):
        load_document(link)


def test_the_data_check_counts_training_tokens_as_the_split_does(tmp_path, monkeypatch):
    """``count_tokens`` (the base's tokenizer in the room; words here) gives the training
    part's tokens: every file but each 20th from ten files on, 90 % of each file below ten;
    past the counting budget, the rest at the rate measured."""
    from desktop_app.core import train_data_check
    from desktop_app.core.train_data_check import check_folder
    words = lambda text: len(text.split())   # noqa: E731
    for i in range(12):
        (tmp_path / f"{i:02d}.txt").write_text("word " * (100 + i), encoding="utf-8")
    report = check_folder("text", tmp_path, fine_tune=True, count_tokens=words)
    assert report.train_tokens == sum(100 + i for i in range(12)) - 111   # file 11 held out
    assert check_folder("text", tmp_path / "00.txt", fine_tune=True,
                        count_tokens=words).train_tokens == 90
    assert check_folder("text", tmp_path, fine_tune=True).train_tokens == 0
    monkeypatch.setattr(train_data_check, "_COUNT_TOKENS_BYTES", 1000)   # two files counted
    counted = []
    report = check_folder("text", tmp_path, fine_tune=True,
                          count_tokens=lambda t: counted.append(t) or words(t))
    assert len(counted) == 2 and report.train_tokens == sum(100 + i for i in range(11))
