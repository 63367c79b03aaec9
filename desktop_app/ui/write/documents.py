"""Documents for the Write room: New / Open / Save / Save As / Export, autosave and restore.

A mixin for :class:`~desktop_app.ui.write.panel.WritePanel` (GUI thread only). It keeps the
:class:`~desktop_app.core.documents.WritingSession` (text + generation history) in step with
the editor and uses the atomic ``save_document`` / ``load_document`` and the room's
:class:`~desktop_app.ui.autosave.AutosaveController`. The editor's own "modified" flag says
whether there are unsaved changes (undoing back to the saved text counts as saved). A save
that fails (read-only folder, full disk) shows the reason and leaves the text in the editor
untouched.

Autosave (policy RECOVER) runs every 30 seconds and after each generation, only when something
changed. A snapshot found at start-up means the last session ended without a clean close: the
banner offers to restore it.
"""

from __future__ import annotations

import logging
from pathlib import Path

from PySide6.QtWidgets import QFileDialog, QMessageBox

from desktop_app.core.documents import (SESSION_SUFFIX, GenerationRecord, WritingSession,
                                        is_imported, load_document, save_document)
from desktop_app.core.errors import ReverieError
from desktop_app.core.text_files import DOCUMENT_SUFFIXES, TEXT_SUFFIXES
from desktop_app.ui.autosave import AutosaveController, Policy
from desktop_app.ui.write.layout import WriteWidgets

log = logging.getLogger(__name__)
FILE_FILTERS = ("Reverie session, keeps the generation history (*.reverie);;"
                "Plain text (*.txt);;Markdown (*.md)")
_IMPORTED = " ".join(f"*{s}" for s in DOCUMENT_SUFFIXES)
_TEXT = " ".join(f"*{s}" for s in TEXT_SUFFIXES)
OPEN_FILTERS = (f"Documents (*.reverie {_TEXT} {_IMPORTED});;Word, OpenDocument, RTF, EPUB, web "
                f"pages or Final Draft, opened as plain text ({_IMPORTED});;All files (*)")


class DocumentsMixin(WriteWidgets):
    """Document life cycle of the Write room (expects ``editor``, ``session`` and widgets)."""

    autosave: AutosaveController
    session: WritingSession
    path: Path | None

    # -- state -----------------------------------------------------------------------------
    def has_unsaved_changes(self) -> bool:
        return self.editor.document().isModified()

    def supports_documents(self) -> bool:
        return True

    def current_session(self) -> WritingSession:
        self.session.text = self.editor.toPlainText()
        self.session.model_name = Path(self.model_dir).name if self.model_dir else ""
        return self.session

    def _set_document(self, session: WritingSession, path: Path | None) -> None:
        self.editor.forget_spans()
        self.session = session
        self.path = path
        self._restored_path = None
        self.editor.setPlainText(session.text)
        self.editor.document().setModified(False)
        self.history_list.clear()
        for number, record in enumerate(session.history, 1):
            self.history_list.addItem(_history_line(number, record))
            self.history_list.item(number - 1).setToolTip(_history_tip(record))
        self.autosave.forget_saved()
        self._update_title()
        self._on_text_changed()

    def _update_title(self) -> None:
        imported = self.path is None and self._restored_path is not None and self.session.title
        # an imported manuscript keeps its name until it is saved somewhere
        name = self.path.name if self.path else (f"{self.session.title} (not saved)" if imported
                                                 else "Untitled")
        label = ("● " if self.has_unsaved_changes() else "") + name
        short = label if len(label) <= 24 else label[:22] + "…"  # a narrow footer's wording
        self.docLabel.set_variants([label, short])
        self.docLabel.setToolTip(str(self.path) if self.path else "Not saved yet")

    def _ask_discard(self, action: str) -> bool:
        """Ask before ``action`` loses unsaved changes; True means go ahead."""
        if not self.has_unsaved_changes():
            return True
        answer = QMessageBox.question(
            self, "Unsaved changes", f"The document has unsaved changes. Save them before you "
            f"{action}?", QMessageBox.StandardButton.Save | QMessageBox.StandardButton.Discard
            | QMessageBox.StandardButton.Cancel, QMessageBox.StandardButton.Save)
        if answer == QMessageBox.StandardButton.Save:
            return self.save()
        return answer == QMessageBox.StandardButton.Discard

    # -- File menu -------------------------------------------------------------------------
    def new_document(self) -> None:
        if self.is_running() or not self._ask_discard("start a new document"):
            return
        self._set_document(WritingSession(), None)

    def open_file(self, path: str) -> bool:
        if self.is_running() or not self._ask_discard("open another document"):
            return False
        try:
            session = load_document(path)
        except ReverieError as exc:
            self.show_error(f"Could not open {Path(path).name}: {exc}")
            return False
        if is_imported(path):   # its words as an untitled draft: Save never writes over it
            self._set_document(session, None)
            self._restored_path = str(Path(path).with_suffix(SESSION_SUFFIX))  # Save As offers
            self._update_title()
            self.notice.emit(f"Opened the words of {Path(path).name} as a new draft; Save "
                             f"writes a .reverie, .txt or .md file — the original is not "
                             f"changed")
            return True
        self._set_document(session, Path(path))
        self.notice.emit(f"Opened {Path(path).name} ({len(session.history)} generations in "
                         "its history)" if session.history else f"Opened {Path(path).name}")
        return True

    def open_dialog(self) -> bool:
        path, _ = QFileDialog.getOpenFileName(self, "Open a document", "", OPEN_FILTERS)
        return self.open_file(path) if path else False

    def save(self) -> bool:
        if self.path is None:
            return self.save_as()
        return self.save_to(self.path)

    def save_as(self) -> bool:
        restored = self._restored_path  # offered, never trusted (see _apply_restored)
        start = str(self.path) if self.path else restored or "Untitled.reverie"
        path, chosen = QFileDialog.getSaveFileName(self, "Save the document as", start,
                                                   FILE_FILTERS)
        if not path:
            return False
        path = Path(path)
        if not path.suffix:
            path = path.with_suffix(".md" if "*.md" in chosen else ".txt" if "*.txt" in chosen
                                    else SESSION_SUFFIX)
        return self.save_to(path)

    def save_to(self, path: str | Path) -> bool:
        """Save atomically to ``path``; on failure say why and keep everything as it was."""
        path = Path(path)
        try:
            save_document(self.current_session(), path)
        except ReverieError as exc:
            self.show_error(f"The document was not saved: {exc}. Your text is still here; "
                            "try Save As to choose another folder.")
            return False
        self.path = path
        self.editor.document().setModified(False)
        self._update_title()
        kept = "" if path.suffix.lower() == SESSION_SUFFIX else (
            " (text only; save as .reverie to keep the generation history)")
        self.notice.emit(f"Saved {path.name}{kept}")
        self.autosave.save_now(force=True)
        return True

    def export(self) -> None:
        path, _ = QFileDialog.getSaveFileName(self, "Export the text", "", "Plain text (*.txt);;"
                                              "Markdown (*.md)")
        if path:
            self.export_to(path)

    def export_to(self, path: str | Path) -> bool:
        path = Path(path)
        if path.suffix.lower() == SESSION_SUFFIX:
            path = path.with_suffix(".txt")
        try:
            save_document(WritingSession(text=self.editor.toPlainText()), path)
        except ReverieError as exc:
            self.show_error(f"The text was not exported: {exc}")
            return False
        self.notice.emit(f"Exported the text to {path.name}")
        return True

    # -- history ---------------------------------------------------------------------------
    def add_record(self, record: GenerationRecord) -> None:
        self.session.history.append(record)
        self.history_list.addItem(_history_line(len(self.session.history), record))
        self.history_list.item(self.history_list.count() - 1).setToolTip(_history_tip(record))

    # -- autosave --------------------------------------------------------------------------
    def init_autosave(self, interval_ms: int) -> None:
        """The room's :class:`AutosaveController` (crash recovery; the banner offers it)."""
        self.autosave = AutosaveController(
            self, "write", snapshot=self.autosave_state, apply=self._apply_restored,
            report=lambda text: self.show_error(text), policy=Policy.RECOVER,
            question=_restore_question,
            revision=lambda: (self.editor.document().revision(), len(self.session.history)),
            interval_ms=interval_ms)

    def autosave_state(self) -> dict:
        return {"session": self.current_session().to_json(),
                "path": str(self.path) if self.path else None,
                "modified": self.has_unsaved_changes(),
                "cursor": self.editor.textCursor().position()}

    def _apply_restored(self, state: dict) -> bool:
        try:
            session = WritingSession.from_json(state["session"], source="the autosave")
        except ReverieError as exc:
            self.show_error(f"The autosave could not be restored: {exc}")
            return False
        # The autosave's path is untrusted (anyone can edit the file): the restored text is
        # untitled, and the first save asks where to save it, starting from that path.
        self._set_document(session, None)
        self._restored_path = str(state["path"]) if state.get("path") else None
        self.editor.document().setModified(True)
        self._update_title()
        cursor = self.editor.textCursor()
        cursor.setPosition(min(int(state.get("cursor") or 0), len(session.text)))
        self.editor.setTextCursor(cursor)
        self.notice.emit("Restored the unsaved work from the last session.")
        return True


def _restore_question(state: dict, when: str) -> str | None:
    """The banner's question, or None when the snapshot holds nothing that was lost."""
    if not isinstance(state.get("session"), dict) or not state.get("modified"):
        return None   # a snapshot of saved work: nothing was lost
    name = Path(state["path"]).name if state.get("path") else "an untitled document"
    return (f"Reverie did not close cleanly last time. Restore the unsaved work in {name} "
            f"(autosaved at {when})?")


def _history_line(number: int, record: GenerationRecord) -> str:
    text = record.text.replace("\n", " ")
    return (f"{number}. {record.model_name} · seed {record.seed} · {record.finish_reason} · "
            f"“{text[:48]}{'…' if len(text) > 48 else ''}”")


def _history_tip(record: GenerationRecord) -> str:
    settings = ", ".join(f"{k}={v}" for k, v in record.settings.items() if k != "seed")
    return (f"{record.created}\nmodel {record.model_name} (sha256 {record.model_sha256[:12]}…)\n"
            f"seed {record.seed}, max tokens {record.max_tokens}, finish {record.finish_reason}\n"
            f"{settings}\nDouble-click to put these settings and this seed in the controls.")
