"""Issue 20 item 12: a restored autosave's "path" is untrusted — Ctrl+S asks where to save
instead of silently overwriting whatever file the autosave names."""

from __future__ import annotations

import json

from PySide6.QtWidgets import QFileDialog


def test_restored_path_is_offered_not_trusted(write_panel, tmp_path, monkeypatch):
    p = write_panel
    victim = tmp_path / "someone-elses.txt"
    victim.write_text("precious")
    state = {"session": {"format": "reverie-session", "version": 1, "text": "restored words",
                         "history": []}, "path": str(victim), "modified": True, "cursor": 3}
    p.autosave.store.path.parent.mkdir(parents=True, exist_ok=True)
    p.autosave.store.path.write_text(json.dumps({"pid": 1, "state": state}))
    assert p.autosave.offer_restore()
    assert p.autosave.restore_pending()
    asked = []

    def dialog(parent, caption, start, filters):
        asked.append(start)
        return "", ""  # the person cancels
    monkeypatch.setattr(QFileDialog, "getSaveFileName", dialog)
    assert not p.save()
    assert asked == [str(victim)]            # asked, starting from the autosaved name
    assert victim.read_text() == "precious"  # and nothing was overwritten


def test_a_damaged_autosave_is_reported_and_set_aside(write_panel):
    p = write_panel
    p.autosave.store.path.parent.mkdir(parents=True, exist_ok=True)
    p.autosave.store.path.write_text(json.dumps({"pid": 1, "state": {"session": {
        "format": "reverie-session", "version": 1, "text": "x"}, "path": 5, "modified": True}}))
    shown = []
    p.show_error = shown.append
    assert not p.autosave.offer_restore()
    assert shown and "could not be restored" in shown[0]
    assert p.autosave.store.path.with_name("write.json.corrupt").exists()
