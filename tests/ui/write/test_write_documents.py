"""Write room documents: save/open .txt/.md/.reverie, failures keep the text, the unsaved
question, autosave, find and replace, counts and the context warning."""

from __future__ import annotations

import json
import os
import stat

import pytest
from PySide6.QtGui import QTextCursor
from PySide6.QtWidgets import QApplication, QMessageBox

from desktop_app.core.documents import load_document


def generate_into(panel, text="Once", tokens=3):
    panel.editor.setPlainText(text)
    panel.editor.moveCursor(QTextCursor.MoveOperation.End)
    panel.maxTokensSpin.setValue(tokens)
    panel.generate()


def test_save_reverie_keeps_history_and_reopens(write_panel, tmp_path):
    p = write_panel
    generate_into(p)
    assert p.has_unsaved_changes()
    path = tmp_path / "story.reverie"
    assert p.save_to(path)
    assert not p.has_unsaved_changes()
    session = load_document(path)
    assert session.text == p.editor.toPlainText()
    assert len(session.history) == 1 and session.history[0].model_sha256 == "ab" * 32
    p.new_document()
    assert p.editor.toPlainText() == "" and p.path is None
    assert p.open_file(str(path))
    assert p.editor.toPlainText() == session.text
    assert p.history_list.count() == 1 and len(p.session.history) == 1


@pytest.mark.parametrize("suffix", [".txt", ".md"])
def test_save_plain_text(write_panel, tmp_path, suffix):
    p = write_panel
    p.editor.setPlainText("# Title\n\nSome words ✨")
    path = tmp_path / f"doc{suffix}"
    assert p.save_to(path)
    assert path.read_text(encoding="utf-8") == "# Title\n\nSome words ✨"


@pytest.mark.skipif(os.geteuid() == 0, reason="root ignores folder permissions")
def test_save_to_read_only_folder_keeps_text(write_panel, tmp_path):
    p = write_panel
    folder = tmp_path / "ro"
    folder.mkdir()
    folder.chmod(stat.S_IRUSR | stat.S_IXUSR)
    try:
        p.editor.insertPlainText("precious words")
        assert not p.save_to(folder / "x.txt")
        assert "not saved" in p.errorLabel.text()
        assert p.editor.toPlainText() == "precious words" and p.has_unsaved_changes()
    finally:
        folder.chmod(stat.S_IRWXU)


def test_save_failure_keeps_text(write_panel, tmp_path):
    p = write_panel
    p.editor.insertPlainText("precious words")
    blocker = tmp_path / "file"
    blocker.write_text("I am a file, not a folder")
    assert not p.save_to(blocker / "x.txt")  # the "folder" is a file: cannot write there
    assert "not saved" in p.errorLabel.text()
    assert p.editor.toPlainText() == "precious words" and p.has_unsaved_changes()


@pytest.mark.parametrize("name", ["metzengerstein.docx", "metzengerstein.doc",
                                  "metzengerstein.odt", "metzengerstein.rtf",
                                  "metzengerstein.epub"])
def test_a_word_processor_file_opens_as_a_new_draft_and_is_never_saved_over(
        write_panel, tmp_path, name):
    import shutil
    from pathlib import Path

    writing = Path(__file__).parents[2] / "core" / "writing"
    original = tmp_path / name
    shutil.copy(writing / name, original)
    before = original.read_bytes()
    p = write_panel
    assert p.open_file(str(original))
    assert p.editor.toPlainText() == (writing / "metzengerstein.txt").read_text(encoding="utf-8")
    assert p.path is None and p._restored_path == str(original.with_suffix(".reverie"))
    assert p.docLabel.text() == "metzengerstein (not saved)"   # not "Untitled"
    p.editor.moveCursor(QTextCursor.MoveOperation.End)
    p.editor.insertPlainText("A new line of mine.")
    assert not p.save_to(original)                  # plain text under a .docx name: refused
    assert "not saved" in p.errorLabel.text() and original.read_bytes() == before
    assert p.save_to(tmp_path / "draft.txt")
    assert p.docLabel.text() == "draft.txt"
    assert (tmp_path / "draft.txt").read_text(encoding="utf-8").endswith("A new line of mine.")
    assert original.read_bytes() == before


def test_open_damaged_file_is_a_readable_error(write_panel, tmp_path):
    p = write_panel
    p.editor.setPlainText("keep me")
    p.editor.document().setModified(False)
    bad = tmp_path / "bad.reverie"
    bad.write_text("{not json")
    assert not p.open_file(str(bad))
    assert "bad.reverie" in p.errorLabel.text()
    assert p.editor.toPlainText() == "keep me"
    (tmp_path / "bad.docx").write_bytes(b"PK\x03\x04 not a zip")
    assert not p.open_file(str(tmp_path / "bad.docx"))
    assert "bad.docx: not a readable Word document" in p.errorLabel.text()
    assert p.editor.toPlainText() == "keep me"


def test_unsaved_changes_question(write_panel, monkeypatch):
    p = write_panel
    p.editor.insertPlainText("draft")
    asked = []

    def answer(*args, **kwargs):
        asked.append(args)
        return QMessageBox.StandardButton.Cancel
    monkeypatch.setattr(QMessageBox, "question", answer)
    p.new_document()
    assert asked and p.editor.toPlainText() == "draft"
    monkeypatch.setattr(QMessageBox, "question",
                        lambda *a, **k: QMessageBox.StandardButton.Discard)
    p.new_document()
    assert p.editor.toPlainText() == ""


def test_autosave_after_generation_and_restore(write_panel, qtbot, fake_text):
    p = write_panel
    generate_into(p, "Autosaved", 2)
    data = json.loads(p.autosave.store.path.read_text())
    assert data["state"]["session"]["text"] == p.editor.toPlainText()
    assert len(data["state"]["session"]["history"]) == 1
    # A second panel (the next start) in this process finds the snapshot and offers it.
    from desktop_app.engine.sync_engine import SyncEngine
    from desktop_app.ui.widgets.randomness import RandomnessControls
    from desktop_app.ui.write.panel import WritePanel

    engine = SyncEngine(handler_for=fake_text.handler_for)
    other = WritePanel(engine, RandomnessControls(), autoload=False)
    qtbot.addWidget(other)
    try:
        assert other.autosave.offer_restore()
        assert other.autosave.banner.isVisibleTo(other)
        other.autosave.banner.restoreButton.click()
        assert other.editor.toPlainText() == p.editor.toPlainText()
        assert other.has_unsaved_changes() and len(other.session.history) == 1
    finally:
        engine.shutdown()


def test_autosave_only_when_changed(write_panel):
    p = write_panel
    p.editor.setPlainText("one")
    assert p.autosave.save_now()
    assert not p.autosave.save_now()
    p.editor.insertPlainText(" two")
    assert p.autosave.save_now()


def test_find_and_replace(write_panel):
    p = write_panel
    p.editor.setPlainText("the fox and the moon and THE river")
    bar = p.find_bar
    bar.open_find(replace=True)
    bar.find_edit.setText("the")
    assert "3 matches" in bar.count_label.text()
    bar.case_box.setChecked(True)
    assert "2 matches" in bar.count_label.text()
    assert bar.find_next()
    assert p.editor.textCursor().selectedText() == "the"
    bar.replace_edit.setText("a")
    bar.case_box.setChecked(False)
    assert bar.replace_all() == 3
    assert p.editor.toPlainText() == "a fox and a moon and a river"
    p.editor.undo()  # replace all is one undo step
    assert p.editor.toPlainText() == "the fox and the moon and THE river"


def test_word_and_character_count(write_panel, qtbot):
    p = write_panel
    p.editor.setPlainText("one two  three\nfour 🦊")
    p._update_counts()
    assert p.countLabel.text() == "5 words · 21 characters"


def test_openings_on_empty_document(write_panel):
    p = write_panel
    p.editor.setPlainText("")
    p._on_text_changed()
    assert p.openings.count() >= 3 and not p.openings.isHidden()
    first = p.openings.item(0).text()
    p.use_opening(first)
    assert p.editor.toPlainText() == first and p.openings.isHidden()


def test_context_drop_is_reported(write_panel):
    gauge = write_panel.gauge
    gauge.set_dropped(120)
    assert "120" in gauge.warning.text() and not gauge.warning.isHidden()
    assert "did not fit" in gauge.warning.toolTip()
    gauge.set_usage(300, 256)
    # never more used than the window: the model reads the newest 256 tokens
    assert gauge.label.text() == "context: 256 / 256 tokens, full"
    assert gauge.bar.value() == gauge.bar.maximum() == 256
    assert "300" in gauge.label.toolTip() and "44 of the oldest" in gauge.label.toolTip()
    gauge.set_usage(100, 256, estimated=True)
    assert gauge.label.text() == "context: ≈100 / 256 tokens" and gauge.bar.value() == 100
    gauge.set_dropped(0)
    assert gauge.warning.isHidden()


def test_openings_show_whole(write_panel, qtbot):
    write_panel.resize(930, 800)  # the Write room at the default window size
    write_panel.show()
    qtbot.waitUntil(write_panel.openings.isVisible)
    lst = write_panel.openings
    assert lst.count() >= 3
    rows = sum(lst.visualItemRect(lst.item(i)).height() for i in range(lst.count()))
    assert lst.height() >= rows + 2 * lst.frameWidth()
    last = lst.visualItemRect(lst.item(lst.count() - 1))
    assert lst.viewport().rect().contains(last)  # the last opening is not cut


@pytest.mark.parametrize("width", [1100, 1256, 1360, 1600])
def test_footer_read_outs_fit(write_panel, qtbot, width):
    """No footer read-out is cut: each shows one of its wordings whole (no "…"). 1,256 px is
    the first window on a 1366 x 768 screen; below 1,360 the buttons take a line of their own
    rather than cut the read-outs."""
    p = write_panel
    p.editor.setPlainText("word " * 150)
    p._update_counts()
    p.show_rate(12.3)
    p.gauge.set_usage(427, 256)
    p.gauge.set_dropped(171)
    p.resize(width - 430, 800)  # the room beside the room bar and the Randomness dock
    p.show()
    qtbot.waitUntil(lambda: p.footer.isVisible())
    for _ in range(3):  # the row re-fits on its posted layout requests
        QApplication.processEvents()
    for label in (p.docLabel, p.countLabel, p.rateLabel, p.gauge.label, p.gauge.warning):
        assert label.shown_text() in label.variants, (width, label.shown_text())
    assert p.footer.wrapped == (width < 1360)
    buttons = (p.acceptButton, p.regenerateButton, p.stopButton, p.generateButton)
    right = max(label.geometry().right() for label in p.footer.labels())
    for button in buttons:   # whole, inside the footer, on no read-out
        assert button.isVisible() and button.width() >= button.minimumSizeHint().width()
        left = button.mapTo(p.footer, button.rect().topLeft()).x()
        assert 0 <= left and left + button.width() <= p.footer.width()
        if not p.footer.wrapped:
            assert left > right
    if width >= 1600:
        assert p.countLabel.shown_text() == "150 words · 750 characters"


def test_large_document_stays_fast(write_panel):
    import time

    p = write_panel
    text = ("All work and no play makes a dull story. " * 25 + "\n") * 1000  # ~1 MB
    t0 = time.perf_counter()
    p.editor.setPlainText(text)
    p.editor.moveCursor(QTextCursor.MoveOperation.End)
    p.maxTokensSpin.setValue(20)
    p.generate()
    elapsed = time.perf_counter() - t0
    assert p.editor.document().characterCount() > 1_000_000
    assert len(p.session.history) == 1
    assert elapsed < 30  # generous: a smoke check that nothing is quadratic


def test_fresh_panel_has_no_unsaved_changes(write_panel):
    assert not write_panel.has_unsaved_changes()
    assert write_panel.docLabel.text() == "Untitled"


def test_find_shortcuts_open_the_bar(write_panel, qtbot):
    from PySide6.QtCore import Qt

    p = write_panel
    p.show()
    p.activateWindow()
    qtbot.waitUntil(p.isActiveWindow)
    p.editor.setFocus()
    qtbot.waitUntil(p.editor.hasFocus)
    p.editor.setPlainText("abc abc")
    qtbot.keyClick(p.editor, Qt.Key.Key_F, Qt.KeyboardModifier.ControlModifier)
    assert p.find_bar.isVisible() and not p.find_bar.replace_row.isVisible()
    qtbot.keyClick(p.editor, Qt.Key.Key_H, Qt.KeyboardModifier.ControlModifier)
    assert p.find_bar.replace_row.isVisible()
    p.stop()  # Esc closes the find bar when nothing is generating
    assert not p.find_bar.isVisible()


def test_default_model_is_previewed_then_loaded_on_generate(qtbot, fake_text, tmp_path,
                                                          monkeypatch):
    from desktop_app.engine.sync_engine import SyncEngine
    from desktop_app.ui.widgets.randomness import RandomnessControls
    from desktop_app.ui.write.panel import WritePanel

    root = tmp_path / "install"
    folder = root / "models" / "text" / "reverie-stories"
    folder.mkdir(parents=True)
    (folder / "config.json").write_text('{"max_position_embeddings": 256}')
    (folder / "model.safetensors").write_bytes(
        b"\x1c\x00\x00\x00\x00\x00\x00\x00" + b'{"__metadata__":{"a":"b"}}  ')
    monkeypatch.setenv("REVERIE_INSTALL_ROOT", str(root))
    engine = SyncEngine(handler_for=fake_text.handler_for)
    panel = WritePanel(engine, RandomnessControls(), autoload=False)
    qtbot.addWidget(panel)
    try:
        from desktop_app.core.model_registry import scan_models
        panel.models_changed(scan_models())
        assert "reverie-stories" in panel.picker.details.text()
        assert "context 256" in panel.picker.details.text() and panel.model_dir is None
        panel.maxTokensSpin.setValue(2)
        panel.generate()
        assert panel.model_dir == str(folder) and panel.model_info is not None
        assert fake_text.jobs[-1].model_dir == str(folder)
    finally:
        engine.shutdown()


def test_a_file_dropped_on_the_draft_opens_instead_of_pasting_its_address(write_panel,
                                                                         tmp_path, qtbot):
    from PySide6.QtCore import QMimeData, QUrl

    p = write_panel
    story = tmp_path / "story.md"
    story.write_text("# A story\n\nIt begins.", encoding="utf-8")
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(story))])
    assert p.editor.canInsertFromMimeData(mime)
    p.editor.insertFromMimeData(mime)
    assert p.editor.toPlainText() == ""                # nothing pasted into the draft
    qtbot.waitUntil(lambda: p.path == story)           # opened once the drop is over
    assert p.editor.toPlainText() == "# A story\n\nIt begins."
    text = QMimeData()
    text.setText("pasted words")
    p.editor.moveCursor(QTextCursor.MoveOperation.End)
    p.editor.insertFromMimeData(text)                  # text is still pasted as text
    assert p.editor.toPlainText().endswith("It begins.pasted words")
