"""The Train room's data check: the chosen folder is checked off the GUI thread (a big folder
takes seconds) and the result is shown under it.

A mixin of :class:`~desktop_app.ui.train.panel.TrainPanel` (GUI thread). Only the newest
check's result is shown (a serial number and the (kind, folder, fine-tune?, base) key drop
older ones); for a fine-tune the background check also counts the training text's tokens with
the base model's tokenizer, so the room's default steps are the command's (a German or Chinese
text takes 1.6-2.4 times the tokens a byte of English does). A passing check clears the red
"too little text" message an earlier Start left, and Start is enabled exactly when the check
passes. The last folder that passed, per kind, is kept
in the settings and offered again after a restart (a writer adds a chapter and trains again).
"""

from __future__ import annotations

import functools
import threading
from pathlib import Path

from PySide6.QtCore import QObject, Signal
from PySide6.QtWidgets import QFileDialog, QMenu

from desktop_app.core.text_files import WRITING_SUFFIXES
from desktop_app.core.train_data_check import DataReport, check_folder
from desktop_app.ui.train.layout import TrainWidgets
from desktop_app.ui.widgets.error_label import mark_error


FOLDER_KEY = "train/data_folder"       # + "/<kind>": the last folder that passed the check


@functools.lru_cache(maxsize=2)
def _tokenizer_of(base: str):
    from desktop_app.ml.text.adapter import resolve_model
    from desktop_app.ml.text.loader import load_text_tokenizer
    return load_text_tokenizer(resolve_model(base))


def token_counter(base: str):
    """A function giving the tokens of a text by the tokenizer of ``base`` (a model name,
    folder or GGUF file; read once, on the check's worker thread), or None when it cannot be
    read: the room then sizes the steps from the bytes, at English prose's rate."""
    try:
        tokenizer = _tokenizer_of(base)
    except Exception:  # noqa: BLE001 - the estimate falls back; the run itself will say why
        return None
    return lambda text: len(tokenizer.encode(text, add_special_tokens=False))


class _CheckResult(QObject):
    """Carries a data check finished on a worker thread back to the GUI thread (queued)."""

    done = Signal(object, object)  # (key, DataReport)


class DataCheckMixin(TrainWidgets):
    """Browse, check (now or in the background) and show the data folder's report."""

    _check_key: tuple | None = None
    _check_serial = 0                    # only the newest data check's result is shown
    _message_is_data_error = False       # the message shown is a data check's error
    _folder_settings = None              # the app's Settings (remember_folders_in)

    def _init_checks(self) -> None:
        self._checks = _CheckResult(self)
        self._checks.done.connect(self._on_check_done)
        self._check_threads: list[threading.Thread] = []   # checks running off the GUI thread

    def _on_browse_clicked(self) -> None:
        """A folder; for text also one file (a writer's manuscript is often one document)."""
        if self.kind() != "text":
            self.browse_folder()
            return
        menu = QMenu(self)
        menu.addAction("A folder of your writing…", self.browse_folder)
        menu.addAction("One file: a manuscript, a book…", self.browse_file)
        menu.exec(self.browseButton.mapToGlobal(self.browseButton.rect().bottomLeft()))

    def _browse_start(self) -> str:
        text = self.dataFolderEdit.text().strip()
        try:
            return (str(Path(text).parent) if text and Path(text).is_file() else text) \
                or str(Path.home())
        except (OSError, ValueError):   # whatever was typed: start at home
            return str(Path.home())

    def browse_folder(self) -> None:
        folder = QFileDialog.getExistingDirectory(self, "Folder of training files",
                                                  self._browse_start())
        if folder:
            self.dataFolderEdit.setText(folder)
            self.check_data_in_background()

    def browse_file(self) -> None:
        patterns = " ".join(f"*{s}" for s in WRITING_SUFFIXES)
        path, _ = QFileDialog.getOpenFileName(self, "A file of your writing", self._browse_start(),
                                              f"Your writing ({patterns});;All files (*)")
        if path:
            self.dataFolderEdit.setText(path)
            self.check_data_in_background()

    def _check_args(self) -> tuple[str, str, bool, str | None]:
        """(kind, folder, fine-tune?, the base to fine-tune or None)"""
        _size, ref, lora = self._start_from()
        return self.kind(), self.dataFolderEdit.text().strip(), lora, ref if lora else None

    def check_data(self) -> DataReport:
        """Check the chosen folder now (on this thread; the tokens are not counted: that
        needs the base's tokenizer) and show what training would use."""
        kind, folder, lora, _base = key = self._check_args()
        self._check_key, self._check_serial = key, self._check_serial + 1  # drops older ones
        self._show_report(check_folder(kind, folder, fine_tune=lora))
        return self.report

    def check_data_in_background(self) -> None:
        """Check the chosen folder on a worker thread (a big folder takes seconds); the
        result is shown when it arrives, unless the choice changed meanwhile."""
        kind, folder, lora, base = key = self._check_args()
        self._check_key, self._check_serial = key, self._check_serial + 1
        serial = self._check_serial
        mark_error(self.dataCheckLabel, False)
        self.dataCheckLabel.setText("Checking the folder…")

        def work() -> None:
            try:
                report = check_folder(kind, folder, fine_tune=lora,
                                      count_tokens=token_counter(base) if base else None)
            except Exception as exc:  # noqa: BLE001 - shown in the room, never lost
                report = DataReport(kind=kind, folder=Path(folder), error=f"Cannot check "
                                    f"the folder: {exc}")
            self._checks.done.emit((key, serial), report)

        self._check_threads = [t for t in self._check_threads if t.is_alive()]
        t = threading.Thread(target=work, name="train-data-check", daemon=True)
        self._check_threads.append(t)
        t.start()

    def wait_for_checks(self, timeout: float = 30.0) -> None:
        """Join the data-check threads (tests, closing)."""
        for t in self._check_threads:
            t.join(timeout)
        self._check_threads = []

    def _on_check_done(self, tagged, report: DataReport) -> None:
        key, serial = tagged
        if serial == self._check_serial and key == self._check_key == self._check_args():
            self._show_report(report)

    # -- the folder each kind was last trained from, kept across restarts -------------------

    def remember_folders_in(self, settings) -> None:
        """Keep each kind's last good data folder in ``settings`` (the app's; None in a room
        built alone) and put the remembered one in the field now if it is empty."""
        self._folder_settings = settings
        if settings is not None and not self.dataFolderEdit.text().strip():
            self._use_remembered_folder()

    def _remembered_folder(self, kind: str) -> str:
        """The kind's remembered folder (for text, or file), if it is still one (the value is
        read from a settings file: text of a bounded length, never trusted to exist)."""
        settings = self._folder_settings
        value = settings.value(f"{FOLDER_KEY}/{kind}") if settings is not None else None
        if isinstance(value, str) and 0 < len(value) <= 4096 and "\0" not in value:
            try:
                path = Path(value)
                return value if path.is_dir() or (kind == "text" and path.is_file()) else ""
            except OSError:
                return ""
        return ""

    def _use_remembered_folder(self, previous_kind: str | None = None) -> None:
        """Fill the field with the kind's remembered folder when it is empty or still holds
        the folder remembered for ``previous_kind`` (not one the person typed)."""
        text = self.dataFolderEdit.text().strip()
        if text and (previous_kind is None or text != self._remembered_folder(previous_kind)):
            return
        folder = self._remembered_folder(self.kind())
        if folder and folder != text:
            self.dataFolderEdit.setText(folder)

    def _show_report(self, report: DataReport) -> None:
        settings = self._folder_settings
        if report.ok and settings is not None and str(report.folder) not in ("", "."):
            settings.set_value(f"{FOLDER_KEY}/{report.kind}", str(report.folder))
        self.report = report
        self.dataCheckLabel.setText(report.summary())
        self.dataCheckLabel.setProperty("error", not report.ok)
        mark_error(self.dataCheckLabel, not report.ok)
        if report.ok and self._message_is_data_error:
            self.show_message("")  # the old "too little" error no longer applies
        if self.state == "idle":
            self.startButton.setEnabled(report.ok)
            self._apply_defaults()       # a fine-tune's steps follow the amount of text
        self._update_preview()
