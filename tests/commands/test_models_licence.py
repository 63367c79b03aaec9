"""``reverie models``: the licence column is a short name, the full text stays in --json."""

from __future__ import annotations

import re
import shlex
from pathlib import Path

from desktop_app.commands.models import LICENCE_WIDTH, short_licence


def test_short_licence_names():
    assert short_licence("MIT for these weights (Reverie's licence); the tunes are "
                         "public-domain music, see below") == "MIT"
    assert short_licence("Apache-2.0") == "Apache-2.0"
    assert short_licence("cc-by-4.0 (the images)") == "cc-by-4.0"
    assert short_licence("The tunes are in the public domain") == "public domain"
    long = short_licence("a home-made licence nobody has heard of, with many words")
    assert len(long) == LICENCE_WIDTH and long.endswith("…")


def test_make_run_does_not_install_the_test_extras():
    make = (Path(__file__).resolve().parents[2] / "Makefile").read_text()
    stamp_rule = make[make.index("$(STAMP): "):make.index("$(TEST_STAMP): ")]
    assert "-e ." in stamp_rule and "[test]" not in stamp_rule
    assert re.search(r"^run: \$\(STAMP\)$", make, re.M)
    assert re.search(r"^test: \$\(TEST_STAMP\)$", make, re.M)


def test_readme_has_no_placeholder_and_says_how_to_reach_reverie():
    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text()
    assert not re.search(r"^[A-Z_]{6,}$", readme, re.M)     # e.g. a literal SPEED_TEXT_ROWS
    assert ".venv/bin/reverie" in readme and "source .venv/bin/activate" in readme


def test_readme_examples_use_only_files_a_reader_has():
    """Issue 20 item 18: the first command-line block names no file a newcomer lacks: every
    input is in the checkout or made by a line above it (``--variants N`` writes FILE-1 …)."""
    root = Path(__file__).resolve().parents[2]
    readme = (root / "README.md").read_text()
    section = readme[readme.index("## The command line"):]
    block = section[section.index("```sh\n") + 6:section.index("\n```", section.index("```sh"))]
    made: set[str] = set()
    for line in block.splitlines():
        words = shlex.split(line.split("  #")[0])
        assert "~" not in line, line
        for before, word in zip(["", *words], words):
            if before in ("--output", "--out", ">"):
                stem, dot, ext = word.rpartition(".")
                made |= {word, *(f"{stem}-{i}.{ext}" for i in range(1, 17))} if dot else {word}
            elif re.search(r"\.(mid|png|txt|md|gguf|json)$", word) and not word.startswith("-"):
                assert word in made or (root / word).exists(), f"{word!r} in: {line}"
