"""``reverie models``: the licence column is a short name, the full text stays in --json."""

from __future__ import annotations

import re
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
