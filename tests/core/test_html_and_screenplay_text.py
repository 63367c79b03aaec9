"""Web pages and Final Draft scripts as a writer's text: a blog export's sloppy HTML read as a
browser shows it, a screenplay in the layout it has on the page, and hostile files (ten
thousand nested blocks, a DTD, an undeclared encoding) that cost one line each."""

from __future__ import annotations

from pathlib import Path

import pytest

from desktop_app.core import html_text
from desktop_app.core.html_text import Paragraphs, html_paragraphs
from desktop_app.core.text_files import read_text_file

HERE = Path(__file__).parent / "writing"


def test_a_blog_page_reads_as_a_browser_shows_its_prose(tmp_path):
    """What WordPress and hand-kept sites write: unclosed <p> and <li>, a menu whose items are
    never closed, entities, a script whose text looks like markup, a footer, comments."""
    page = tmp_path / "post.html"
    page.write_text(
        "<!DOCTYPE html>\n<html><head><meta charset=utf-8><title>Rain</title>"
        "<style>p { margin: 0 }</style></head><body>\n"
        "<nav><ul><li><a href=/>Home</a><li><a href=/about>About</a></ul></nav>\n"
        "<article><h1>The long road</h1>\n"
        "<p>It rained the whole way &amp; the wipers\n   kept time.\n"
        "<p>At the bridge<br>we stopped.<!-- draft: cut this? -->\n"
        "<ul><li>a thermos<li>two coats</ul>\n"
        "<p role=doc-noteref>1</p><blockquote><p>Nobody listens &mdash; nobody.</blockquote>\n"
        "<pre>  kept   as it is</pre></article>\n"
        "<script>document.write('<p>not prose</p>')</script>\n"
        "<footer><p>&copy; 2026 me</footer></body></html>\n", encoding="utf-8")
    text, reason = read_text_file(page)
    assert reason == ""
    assert text == ("The long road\n\nIt rained the whole way & the wipers kept time.\n\n"
                    "At the bridge\nwe stopped.\n\na thermos\n\ntwo coats\n\n"
                    "Nobody listens \u2014 nobody.\n\nkept   as it is\n")


def test_a_page_in_the_encoding_it_declares(tmp_path):
    """Word's "Save as Web Page" writes windows-1252 and says so in a <meta>."""
    page = tmp_path / "old.htm"
    page.write_bytes(b'<html><head><meta http-equiv=Content-Type content="text/html; '
                     b'charset=windows-1252"></head><body><p class=MsoNormal>Caf\xe9 '
                     b'\x93quoted\x94</p></body></html>')
    assert read_text_file(page) == ("Caf\u00e9 \u201cquoted\u201d\n", "")


@pytest.mark.parametrize("data, reason", [
    (b"<p>Caf\xe9</p>", "not UTF-8 text (and the page declares no other encoding)"),
    (b'<meta charset="x-klingon"><p>qaStaH</p>', "a web page in an unknown encoding (x-klingon)"),
    (b"<p>\x00\x01\x02</p>", "binary file"),
    (b"<html><body><script>only a script</script></body></html>", "empty"),
])
def test_a_page_that_is_not_readable_text_is_one_line(tmp_path, data, reason):
    page = tmp_path / "p.html"
    page.write_bytes(data)
    assert read_text_file(page) == (None, reason)


def test_ten_thousand_nested_blocks_cost_no_more_than_their_words():
    """A hostile page nests blocks past any real one: at most MAX_OPEN_BLOCKS stay open, the
    rest read as part of the innermost kept, and every word is still there."""
    collector = Paragraphs(implied_ends=True)
    deepest = 0
    for i in range(10_000):
        collector.start("div")
        collector.text(f"w{i} ")
        deepest = max(deepest, len(collector._open))
    paragraphs = collector.close()
    assert deepest == html_text.MAX_OPEN_BLOCKS
    assert " ".join(paragraphs).split() == [f"w{i}" for i in range(10_000)]
    assert len(html_paragraphs(b"<div>" * 200_000 + b"deep")) == 1


def test_ten_thousand_unclosed_paragraphs_are_ten_thousand_paragraphs():
    """HTML closes an open <p> at the next block: without that rule they would nest, and past
    the limit run together."""
    page = b"".join(b"<p>Paragraph %d." % i for i in range(10_000))
    assert html_paragraphs(page) == [f"Paragraph {i}." for i in range(10_000)]


def test_an_epub_chapter_and_a_page_read_alike():
    """The EPUB reader feeds expat's events to the same collector: XHTML read either way
    gives the same paragraphs."""
    from desktop_app.core.epub_text import _Chapter
    xhtml = (b'<html xmlns="http://www.w3.org/1999/xhtml"><head><title>t</title></head><body>'
             b'<section><h2>I</h2><p>One <em>two</em><br/>three.</p><aside><p>note</p></aside>'
             b'<div>Four<p>five</p>six</div></section></body></html>')
    assert _Chapter().parse(xhtml) == html_paragraphs(xhtml) == [
        "I", "One two\nthree.", "Four", "five", "six"]


def test_a_final_draft_script_reads_as_it_is_laid_out_on_the_page():
    """The fixture has what Final Draft 12 writes around the script (scene properties, a
    title page, a header, a script note, SmartType lists, element settings): only the script
    is read, cues and speeches together, scene headings, cues and transitions in capitals."""
    text, reason = read_text_file(HERE / "scene.fdx")
    assert reason == ""
    assert text == (
        "INT. FARMHOUSE KITCHEN - NIGHT\n\n"
        "Rain against the window. MARTHA (60s) stirs a pot that has stopped needing "
        "stirring.\n\n"
        "The door bangs open. TOM, soaked, drops his keys on the table.\n\n"
        "MARTHA\n(without turning)\nYou took the long road.\n\n"
        "TOM\nThe bridge is out. I told you it would be.\nNobody listens to me & the river.\n\n"
        "MARTHA\nSit down.\n\nTOM\nI'm all wet.\n\n"
        "He sits anyway.\n\nCUT TO:\n")


@pytest.mark.parametrize("content, reason", [
    ('<!DOCTYPE x [<!ENTITY a "ha">]><FinalDraft><Content/></FinalDraft>',
     "Final Draft script with a DTD (refused: entity expansion)"),
    ("<Script><Content><Paragraph><Text>x</Text></Paragraph></Content></Script>",
     "not a Final Draft script (no <FinalDraft> element)"),
    ("<FinalDraft><Content><Paragraph><Text>x</Paragraph>",
     "not a readable Final Draft script (bad XML: mismatched tag)"),
    ('<FinalDraft><Content></Content><TitlePage><Content><Paragraph><Text>Title</Text>'
     '</Paragraph></Content></TitlePage></FinalDraft>', "empty"),
])
def test_a_hostile_or_foreign_fdx_is_one_line(tmp_path, content, reason):
    path = tmp_path / "x.fdx"
    path.write_text(content, encoding="utf-8")
    assert read_text_file(path) == (None, reason)


def test_the_data_check_the_write_room_and_eval_take_pages_and_scripts(tmp_path):
    """Read as documents everywhere a writer's files are: no "used as UTF-8 text" warning
    (the markup was trained on before), opened in the Write room but never saved over, and
    found in a folder by ``reverie eval text``."""
    from desktop_app.commands.eval_text import collect_files
    from desktop_app.core.documents import load_document, save_document
    from desktop_app.core.errors import DataError
    from desktop_app.core.train_data_check import check_folder
    (tmp_path / "scene.fdx").write_bytes((HERE / "scene.fdx").read_bytes())
    (tmp_path / "post.html").write_text("<p>" + "My own words. " * 200, encoding="utf-8")
    (tmp_path / "notes.fountain").write_text("EXT. ROAD - DAY\n\nTom walks.\n", encoding="utf-8")
    report = check_folder("text", tmp_path, fine_tune=True)
    assert sorted(report.usable) == ["notes.fountain", "post.html", "scene.fdx"]
    assert not any("UTF-8 text" in w for w in report.warnings)
    session = load_document(tmp_path / "scene.fdx")
    assert session.text.startswith("INT. FARMHOUSE KITCHEN - NIGHT\n\n")
    with pytest.raises(DataError, match="not .fdx"):
        save_document(session, tmp_path / "scene.fdx")
    assert [p.name for p in collect_files([str(tmp_path)])] == [
        "notes.fountain", "post.html", "scene.fdx"]


def test_word_processors_notes_comments_and_running_heads_are_left_out(tmp_path):
    """What LibreOffice (its export of marks.fodt, see writing/README.md), Word's "Save as Web
    Page" and Google Docs' "Web page" download write around the text: footnote and comment
    references and bodies, headers and footers. The LibreOffice page reads as the same
    document's .doc does."""
    assert read_text_file(HERE / "marks.html") == read_text_file(HERE / "marks.doc")
    word = tmp_path / "word.htm"
    word.write_text(
        "<html><body lang=EN-GB><div class=WordSection1><p class=MsoNormal>The count rode "
        "out<a style='mso-footnote-id:ftn1' href=\"#_ftn1\" name=\"_ftnref1\"><span "
        "class=MsoFootnoteReference>[1]</span></a> at dawn<span class=MsoCommentReference>"
        "<a class=msocomanchor id=\"_anchor_1\" href=\"#_msocom_1\" name=\"_msoanchor_1\">"
        "[JS1]</a></span>.</p></div><div style='mso-element:footnote-list'><div "
        "style='mso-element:footnote' id=ftn1><p class=MsoFootnoteText>A footnote.</p></div>"
        "</div><div style='mso-element:comment-list'><div style='mso-element:comment'><p "
        "class=MsoCommentText>Cut this?</p></div></div></body></html>", encoding="utf-8")
    assert read_text_file(word) == ("The count rode out at dawn.\n", "")
    google = tmp_path / "gdocs.html"
    google.write_text(
        '<html><head><meta content="text/html; charset=UTF-8" http-equiv="content-type">'
        '</head><body class="c7 doc-content"><p class="c3"><span class="c2">The count rode '
        'out</span><sup><a href="#ftnt1" id="ftnt_ref1">[1]</a></sup><span class="c2"> at '
        'dawn</span><sup><a href="#cmnt1" id="cmnt_ref1">[a]</a></sup><span class="c2">.'
        '</span></p><hr class="c5"><div><p class="c4"><a href="#ftnt_ref1" id="ftnt1">[1]</a>'
        '<span class="c6">&nbsp;A footnote.</span></p></div><div class="c9"><p class="c4">'
        '<a href="#cmnt_ref1" id="cmnt1">[a]</a><span class="c2">Cut this?</span></p></div>'
        '</body></html>', encoding="utf-8")
    assert read_text_file(google) == ("The count rode out at dawn.\n", "")
