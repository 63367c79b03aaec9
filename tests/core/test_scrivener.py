"""A Scrivener project gives its manuscript (the binder's Draft) and nothing else."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from desktop_app.core import scrivener
from desktop_app.core.scrivener import NOT_IN_BINDER, OUTSIDE_DRAFT, SCRIVENER_EXTRA, \
    scrivener_skip

RTF = Path(__file__).parent / "writing" / "metzengerstein.rtf"

# The shape Scrivener 3 writes (trimmed: no metadata, no collections).
BINDER_3 = """<?xml version="1.0" encoding="UTF-8"?>
<ScrivenerProject Identifier="0C2B" Version="2.0" Creator="SCRMAC-3.3.6">
<Binder>
  <BinderItem UUID="DRAFT" Type="DraftFolder"><Title>Manuscript</Title><Children>
    <BinderItem UUID="CH1" Type="Folder"><Title>Chapter One</Title><Children>
      <BinderItem UUID="SCENE-1" Type="Text"><Title>The horse</Title></BinderItem>
    </Children></BinderItem>
    <BinderItem UUID="SCENE-2" Type="Text"><Title>The fire</Title></BinderItem>
  </Children></BinderItem>
  <BinderItem UUID="RESEARCH" Type="ResearchFolder"><Title>Research</Title><Children>
    <BinderItem UUID="CLIP" Type="Text"><Title>A page copied from a website</Title></BinderItem>
  </Children></BinderItem>
  <BinderItem UUID="TRASH" Type="TrashFolder"><Title>Trash</Title><Children>
    <BinderItem UUID="CUT" Type="Text"><Title>A cut scene</Title></BinderItem>
  </Children></BinderItem>
  <BinderItem UUID="NOTES" Type="Folder"><Title>Characters</Title><Children>
    <BinderItem UUID="SKETCH" Type="Text"><Title>The Count</Title></BinderItem>
  </Children></BinderItem>
</Binder>
<Collections><Collection Type="Binder"><Title>Binder</Title></Collection></Collections>
</ScrivenerProject>
"""


def _project(root: Path, binder: str, documents: list[str], *, name: str = "Novel") -> Path:
    project = root / f"{name}.scriv"
    for rel in documents:
        (project / rel).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(RTF, project / rel)
    (project / f"{name}.scrivx").write_text(binder, encoding="utf-8")
    return project


def _data(uuid: str) -> str:
    return f"Files/Data/{uuid}/content.rtf"


def test_only_the_drafts_documents_are_read_and_the_rest_say_why(tmp_path):
    from desktop_app.core.train_data_check import check_folder
    from desktop_app.ml.text.train_data import load_corpus

    _project(tmp_path, BINDER_3, [_data(u) for u in
                                  ("SCENE-1", "SCENE-2", "CLIP", "CUT", "SKETCH", "GONE")])
    (tmp_path / "Novel.scriv" / "Files" / "Data" / "SCENE-1" / "synopsis.txt").write_text("x")
    report = check_folder("text", tmp_path, fine_tune=True)
    assert sorted(report.usable) == ["Novel.scriv/" + _data("SCENE-1"),
                                     "Novel.scriv/" + _data("SCENE-2")]
    assert dict(report.skipped) == {
        "Novel.scriv/" + _data("CLIP"): OUTSIDE_DRAFT["ResearchFolder"],
        "Novel.scriv/" + _data("CUT"): OUTSIDE_DRAFT["TrashFolder"],
        "Novel.scriv/" + _data("SKETCH"): OUTSIDE_DRAFT[None],
        "Novel.scriv/" + _data("GONE"): NOT_IN_BINDER,
        "Novel.scriv/Files/Data/SCENE-1/synopsis.txt": SCRIVENER_EXTRA,
        "Novel.scriv/Novel.scrivx": SCRIVENER_EXTRA,
    }
    corpus = load_corpus([tmp_path], unwrap=False)
    assert len(corpus.train) == 2 and len(corpus.skipped) == 6   # two scenes (and their tails)
    assert dict(corpus.skipped)[str(tmp_path / "Novel.scriv" / _data("CUT"))] == \
        OUTSIDE_DRAFT["TrashFolder"]


def test_eval_text_reads_the_manuscript_of_a_project_folder(tmp_path):
    from desktop_app.commands.eval_text import collect_files

    project = _project(tmp_path, BINDER_3, [_data("SCENE-2"), _data("CUT")])
    assert collect_files([str(tmp_path)]) == [project / _data("SCENE-2")]


def test_scrivener_2_projects_are_read_by_numeric_id(tmp_path):
    binder = ('<ScrivenerProject Version="1.0"><Binder>'
              '<BinderItem ID="0" Type="DraftFolder"><Children>'
              '<BinderItem ID="7" Type="Text"/></Children></BinderItem>'
              '<BinderItem ID="2" Type="TrashFolder"><Children>'
              '<BinderItem ID="9" Type="Text"/></Children></BinderItem>'
              '</Binder></ScrivenerProject>')
    project = _project(tmp_path, binder, ["Files/Docs/7.rtf", "Files/Docs/9.rtf",
                                          "Files/Docs/7_notes.rtf"])
    assert scrivener_skip(project / "Files/Docs/7.rtf") == ""
    assert scrivener_skip(project / "Files/Docs/9.rtf") == OUTSIDE_DRAFT["TrashFolder"]
    assert scrivener_skip(project / "Files/Docs/7_notes.rtf") == SCRIVENER_EXTRA


@pytest.mark.parametrize("binder", [
    "",                                                         # empty file
    "<ScrivenerProject><Binder><BinderItem",                   # cut short
    '<?xml version="1.0"?><!DOCTYPE x [<!ENTITY a "aaaa">]><ScrivenerProject/>',  # a DTD
    "<ScrivenerProject><Binder/></ScrivenerProject>",          # no Draft
], ids=["empty", "truncated", "dtd", "no-draft"])
def test_an_unreadable_binder_reads_every_document_as_before(tmp_path, binder):
    project = _project(tmp_path, binder, [_data("A"), _data("B")])
    assert scrivener_skip(project / _data("A")) == ""
    assert scrivener_skip(project / "Files/Data/A/notes.rtf") == SCRIVENER_EXTRA


def test_a_binder_deeper_or_larger_than_the_bounds_is_not_used(tmp_path, monkeypatch):
    deep = ('<ScrivenerProject><Binder><BinderItem UUID="D" Type="DraftFolder">'
            + '<Children><BinderItem Type="Folder">' * 50 + "</BinderItem></Children>" * 50
            + '</BinderItem><BinderItem UUID="T" Type="TrashFolder"><Children>'
            '<BinderItem UUID="X"/></Children></BinderItem></Binder></ScrivenerProject>')
    project = _project(tmp_path, deep, [_data("X")])
    assert scrivener_skip(project / _data("X")) == OUTSIDE_DRAFT["TrashFolder"]
    scrivener._parse_binder.cache_clear()
    monkeypatch.setattr(scrivener, "MAX_DEPTH", 10)
    assert scrivener_skip(project / _data("X")) == ""          # too deep: not used
    scrivener._parse_binder.cache_clear()
    monkeypatch.setattr(scrivener, "MAX_DEPTH", 1000)
    monkeypatch.setattr(scrivener, "MAX_BINDER_BYTES", 100)
    assert scrivener_skip(project / _data("X")) == ""          # too large: not read at all


def test_an_edited_binder_is_read_again(tmp_path):
    project = _project(tmp_path, BINDER_3, [_data("CUT")])
    assert scrivener_skip(project / _data("CUT")) == OUTSIDE_DRAFT["TrashFolder"]
    restored = BINDER_3.replace('<BinderItem UUID="SCENE-2"',
                                '<BinderItem UUID="CUT" Type="Text"/><BinderItem UUID="SCENE-2"')
    restored = restored.replace('<BinderItem UUID="CUT" Type="Text"><Title>A cut scene</Title>'
                                '</BinderItem>', "")
    binder = project / "Novel.scrivx"
    binder.write_text(restored, encoding="utf-8")
    stat = binder.stat()
    os.utime(binder, ns=(stat.st_atime_ns, stat.st_mtime_ns + 10**9))
    assert scrivener_skip(project / _data("CUT")) == ""


def test_files_outside_a_project_are_not_its_business(tmp_path):
    assert scrivener_skip(tmp_path / "chapter.rtf") == ""
    assert scrivener_skip(tmp_path / "Novel.scriv") == ""      # the project folder itself
