"""The Compose room's files: import a .mid primer (open or drop), export .mid / .wav, autosave.

A mixin of :class:`~desktop_app.ui.compose.panel.ComposePanel` (GUI thread). Failures become
one readable sentence in the room; the melody being edited is never replaced by a failed
import, and it is autosaved (with the variations and settings) by the room's
:class:`~desktop_app.ui.autosave.AutosaveController` (policy KEEP) a moment after every change,
after every generation and when the app quits, then restored when the room is built again.
"""

from __future__ import annotations

import io
from pathlib import Path

from PySide6.QtWidgets import QFileDialog

from desktop_app.core import synth
from desktop_app.core.atomic import atomic_write_bytes
from desktop_app.core.errors import DataError, ReverieError
from desktop_app.core.melody import melody_from_dict, melody_to_dict
from desktop_app.ui.compose.drag_out import drag_file_name
from desktop_app.ui.compose.layout import ComposeWidgets

MIDI_FILTER = "MIDI files (*.mid *.midi)"
WAV_FILTER = "WAV audio (*.wav)"


def _midi_paths(mime) -> list[str]:
    return [u.toLocalFile() for u in mime.urls() if u.isLocalFile()
            and u.toLocalFile().lower().endswith((".mid", ".midi"))]


class FilesMixin(ComposeWidgets):
    """Import, export, drop and autosave for the Compose panel."""

    # -- import ----------------------------------------------------------------------------

    def import_midi(self, path: str | Path) -> bool:
        """Put the melody of a MIDI file in the piano roll (undoable); False with a message."""
        from desktop_app.core.midi import read_midi  # mido loads on first use, not at start-up
        path = Path(path)
        try:
            melody = read_midi(path)
        except (DataError, ReverieError) as exc:
            self.show_message(f"Could not import {path.name}: {exc}. The melody you were "
                              f"editing is unchanged.")
            return False
        if not melody.notes:
            self.show_message(f"{path.name} has no notes to import.")
            return False
        self.pianoRoll.set_melody(melody, f"Import {path.name}")
        self.pianoRoll.centre_on_melody()
        self._last_dir = str(path.parent)
        self.show_message(f"Imported {path.name}: {len(melody.notes)} notes in "
                          f"{melody.key.name}, {melody.meter}. Continue extends it; "
                          f"Undo brings back the previous melody.", error=False)
        return True

    def open_file(self, path: str) -> bool:  # File > Open routes here
        return self.import_midi(path)

    def choose_import(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Import a MIDI file", self._last_dir,
                                              MIDI_FILTER)
        if path:
            self.import_midi(path)

    def dragEnterEvent(self, event) -> None:  # noqa: N802 - Qt override
        if event.source() is not self.dragOutHandle and _midi_paths(event.mimeData()):
            event.acceptProposedAction()

    def dropEvent(self, event) -> None:  # noqa: N802 - Qt override
        paths = _midi_paths(event.mimeData())
        if paths and event.source() is not self.dragOutHandle:
            event.acceptProposedAction()
            self.import_midi(paths[0])

    # -- export ----------------------------------------------------------------------------

    def _checked_melody(self):
        melody = self.pianoRoll.melody()
        if not melody.notes:
            self.show_message("There is no melody to export yet: generate one, import a .mid "
                              "or click in the piano roll to add notes.")
            return None
        return melody

    def export_midi(self, path: str | Path) -> bool:
        melody = self._checked_melody()
        if melody is None:
            return False
        from desktop_app.core.midi import melody_to_midi
        buf = io.BytesIO()
        melody_to_midi(melody, program=self.controls.program()).save(file=buf)
        return self._write(Path(path), buf.getvalue(), "MIDI file")

    def export_wav(self, path: str | Path) -> bool:
        melody = self._checked_melody()
        if melody is None:
            return False
        try:
            buf = synth.render(melody, program=self.controls.program(),
                               metronome=self.metronomeCheck.isChecked())
        except ReverieError as exc:  # e.g. longer than synth.MAX_RENDER_SECONDS
            self.show_message(f"Could not export: {exc}.")
            return False
        return self._write(Path(path), synth.wav_bytes(buf), "WAV file")

    def _write(self, path: Path, data: bytes, what: str) -> bool:
        try:
            atomic_write_bytes(path, data)
        except ReverieError as exc:
            self.show_message(f"Could not export: {exc}. Choose another folder; your melody "
                              f"is unchanged.")
            return False
        self._last_dir = str(path.parent)
        self.show_message(f"Exported the {what} {path}", error=False)
        self.notice.emit(f"Exported {path.name}")
        return True

    def export(self) -> None:  # File > Export (Ctrl+E) and exportMidiButton
        self._export_dialog(".mid")

    def _export_dialog(self, suffix: str) -> None:
        melody = self._checked_melody()
        if melody is None:
            return
        name = Path(drag_file_name(melody)).with_suffix(suffix).name
        path, _ = QFileDialog.getSaveFileName(
            self, "Export MIDI" if suffix == ".mid" else "Export audio",
            str(Path(self._last_dir) / name), MIDI_FILTER if suffix == ".mid" else WAV_FILTER)
        if not path:
            return
        if not path.lower().endswith((suffix, ".midi") if suffix == ".mid" else (suffix,)):
            path += suffix
        (self.export_midi if suffix == ".mid" else self.export_wav)(path)

    def save(self) -> bool:  # the room's state is autosaved; Save means "export .mid"
        self.export()
        return True

    def save_as(self) -> bool:
        return self.save()

    def supports_documents(self) -> bool:
        return True

    def has_unsaved_changes(self) -> bool:
        return False  # never lost: the state is autosaved and restored

    def new_document(self) -> None:
        self.pianoRoll.set_melody(self.pianoRoll.melody().with_notes(()), "New melody")

    # -- autosave --------------------------------------------------------------------------

    def state(self) -> dict:
        return {"melody": melody_to_dict(self.pianoRoll.melody()),
                "variations": [melody_to_dict(m) for m in self.variationsList.melodies()],
                "captions": list(self._captions),
                "settings": self.controls.to_dict(), "loop": self.loopCheck.isChecked(),
                "metronome": self.metronomeCheck.isChecked(), "last_dir": self._last_dir,
                "model": self._chosen_name, "model_source": self._chosen_source}

    def schedule_autosave(self) -> None:
        self.autosave.changed()

    def apply_state(self, state: dict) -> bool:
        """Put an autosaved state back; a damaged one is reported and ignored."""
        try:
            melody = melody_from_dict(state["melody"])
            variations = [melody_from_dict(v) for v in state.get("variations", [])]
        except (DataError, KeyError, TypeError) as exc:
            self.show_message(f"The saved Compose session could not be restored: {exc}")
            return False
        self.controls.load_dict(state.get("settings") or {})
        self.loopCheck.setChecked(bool(state.get("loop")))
        self.metronomeCheck.setChecked(bool(state.get("metronome")))
        self._last_dir = str(state.get("last_dir") or self._last_dir)
        if state.get("model") and self._auto_models[0]:  # a name: the scan finds its folder
            self._chosen_name = str(state["model"])
            self._chosen_source = str(state.get("model_source") or "") or None
            self.set_model_message("")
        captions = [str(c) for c in state.get("captions", [])]
        captions = captions if len(captions) == len(variations) else None
        self._captions = captions or [""] * len(variations)
        self.variationsList.set_melodies(variations, captions)
        self.pianoRoll.set_melody(melody)
        self.controls.show_melody(melody)
        return True
