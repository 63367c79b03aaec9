"""Session files round-trip, reject malformed input clearly, and autosaves are offered back."""

import json
import os
import subprocess
import sys

import pytest

from desktop_app.core.autosave import AutosaveStore
from desktop_app.core.documents import (GenerationRecord, WritingSession, load_document,
                                        save_document)
from desktop_app.core.errors import DataError


def _record(**overrides):
    values = dict(model_name="reverie-stories", model_sha256="ab" * 32,
                  settings={"temperature": 0.8, "top_k": 40}, seed=1234, prompt_chars=10,
                  insert_at=10, text=" there was a dragon 🐉", finish_reason="length",
                  max_tokens=50)
    values.update(overrides)
    return GenerationRecord(**values)


def test_session_round_trip(tmp_path):
    session = WritingSession(text="Once upon a time there was a dragon 🐉 — 龍",
                             history=[_record(), _record(seed=7, variant=2)],
                             model_name="reverie-stories", title="Dragons")
    path = tmp_path / "story.reverie"
    save_document(session, path)
    loaded = load_document(path)
    assert loaded == session


def test_text_files_save_text_only(tmp_path):
    session = WritingSession(text="plain ✍", history=[_record()])
    path = tmp_path / "draft.md"
    save_document(session, path)
    assert path.read_text(encoding="utf-8") == "plain ✍"
    assert load_document(path).text == "plain ✍"


@pytest.mark.parametrize("content, message", [
    (b"{not json", "damaged"),
    (b'{"format": "something-else"}', "not a Reverie session"),
    (b'{"format": "reverie-session", "version": 99, "text": ""}', "newer Reverie"),
    (b'{"format": "reverie-session", "version": 1, "text": 5}', "no document text"),
    (b'{"format": "reverie-session", "version": 1, "text": "", "history": [{"seed": "x"}]}',
     "bad 'seed'"),
    (b"\xff\xfe\x00bad", "not UTF-8"),
])
def test_malformed_sessions_are_refused_clearly(tmp_path, content, message):
    path = tmp_path / "bad.reverie"
    path.write_bytes(content)
    with pytest.raises(DataError, match=message):
        load_document(path)


def test_missing_file_message(tmp_path):
    with pytest.raises(DataError, match="cannot read"):
        load_document(tmp_path / "nowhere.txt")


def test_autosave_offers_state_left_by_a_dead_process(tmp_path):
    store = AutosaveStore("notes", folder=tmp_path)
    assert store.pending() is None
    store.save({"text": "unsaved words"})
    # Our own snapshot is offered (the room decides at start-up, before saving again).
    assert store.pending() == {"text": "unsaved words"}
    # A snapshot written by a process that has since died is offered.
    code = ("import sys; from pathlib import Path; from desktop_app.core.autosave import "
            "AutosaveStore; AutosaveStore('notes', folder=Path(sys.argv[1])).save({'text': 'x'})")
    subprocess.run([sys.executable, "-c", code, str(tmp_path)], check=True, timeout=60)
    data = json.loads(store.path.read_text())
    assert data["pid"] != os.getpid()
    assert store.pending() == {"text": "x"}
    store.clear()
    assert store.pending() is None


def test_autosave_of_a_live_other_process_is_not_offered(tmp_path):
    store = AutosaveStore("notes", folder=tmp_path)
    store.save({"text": "live"})
    data = json.loads(store.path.read_text())
    other = subprocess.Popen([sys.executable, "-c", "import sys; sys.stdin.read()"],
                             stdin=subprocess.PIPE)
    try:
        data["pid"] = other.pid  # another live Reverie-like (Python) process
        store.path.write_text(json.dumps(data))
        assert store.pending() is None
    finally:
        other.communicate(b"", timeout=30)


def test_room_names_are_checked(tmp_path):
    with pytest.raises(ValueError):
        AutosaveStore("../../etc", folder=tmp_path)
