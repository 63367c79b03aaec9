"""Hard-wrapped paragraphs are joined for training; verse, short lines and blank lines stay."""

from __future__ import annotations

import textwrap

from desktop_app.ml.text.train_data import load_corpus, unwrap_paragraphs, wrap_width

PROSE = ("The old castle stood on the hill, and every night a light burned in the highest "
         "window of the tower, though nobody in the village had seen a soul go up the road "
         "for as long as the oldest of them could remember. ") * 3


def _book() -> tuple[str, list[str]]:
    paras = [PROSE + f"That was the end of part {i}." for i in range(12)]
    wrapped = [textwrap.fill(p, 70) for p in paras]
    verse = ("    Goosey, goosey, gander,\n      Whither will you wander?\n"
             "    Upstairs and downstairs,\n      And in my lady's chamber!")
    text = "CHAPTER I\n\n" + "\n\n".join(wrapped[:6]) + "\n\n" + verse + "\n\n" + \
        "\n\n".join(wrapped[6:]) + "\n"
    return text, paras


def test_wrapped_paragraphs_are_joined_and_the_rest_kept():
    text, paras = _book()
    assert wrap_width(text.split("\n")) in range(66, 71)
    out = unwrap_paragraphs(text)
    for p in paras:
        assert p in out.split("\n")  # each paragraph is one line again, word for word
    assert "CHAPTER I\n\n" in out
    assert ("    Goosey, goosey, gander,\n      Whither will you wander?\n"
            "    Upstairs and downstairs,\n") in out
    assert out.count("\n\n") == text.count("\n\n")  # paragraph breaks stay


def test_text_that_is_not_hard_wrapped_is_untouched():
    one_line_paragraphs = "\n\n".join(PROSE for _ in range(30))
    assert unwrap_paragraphs(one_line_paragraphs) == one_line_paragraphs
    poem = "\n".join(f"Line {i} of a short poem," for i in range(40))
    assert unwrap_paragraphs(poem) == poem  # short lines: no wrap width to undo


def test_load_corpus_unwraps_unless_asked_not_to(tmp_path):
    text, paras = _book()
    for i in range(3):
        (tmp_path / f"book{i}.txt").write_text(text, encoding="utf-8")
    corpus = load_corpus([tmp_path])
    assert all(paras[0] in t for _, t in corpus.train)  # (the last 10 % of each is held out)
    raw = load_corpus([tmp_path], unwrap=False)
    assert all(text.startswith(t) and paras[0] not in t for _, t in raw.train)
