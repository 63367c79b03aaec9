"""Model picker for the Write room: the installed text models, "Open model file…" (a .gguf
file), "Open model folder…" (a Hugging Face folder), the saved serving engines and "Connect to
server…" (a llama.cpp server, vLLM or Ollama; docs/serving.md).

GUI thread only. It lists the models found by :func:`core.model_registry.scan_models` and shows
the chosen one's name, parameters, context length and licence. It never loads anything
itself: it asks (``model_requested`` with a folder, ``server_requested`` with a
``ServerSpec``) and the panel submits a ``LoadTextModelJob``; progress
and errors come back through :meth:`set_progress` / :meth:`set_error`. A failed load leaves the
previous model selected and in use.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QSignalBlocker, Signal
from PySide6.QtWidgets import (QComboBox, QFileDialog, QHBoxLayout, QLabel, QProgressBar,
                               QVBoxLayout, QWidget)

from desktop_app.core.errors import DataError
from desktop_app.core.model_registry import card_folder, human_count, read_card, read_card_text, \
    read_fine_tune_result
from desktop_app.core.serving import API_TITLES, ServerSpec
from desktop_app.core.untrusted import read_json
from desktop_app.ui.widgets.error_label import error_label

OPEN_FOLDER = "Open model folder…"
OPEN_FILE = "Open model file…"
CONNECT = "Connect to server…"
_OPEN_FILE_DATA = "\0open-file"  # item data of the "Open model file…" entry (never a path)
_CONNECT_DATA = "\0connect"  # item data of "Connect to server…"


def is_server(data) -> bool:
    """Whether a picker entry's data is a server URL (a path never starts like one)."""
    return isinstance(data, str) and data.startswith(("http://", "https://"))


def context_length_of(folder: Path) -> int | None:
    """The context length a model folder's config.json (or GGUF file) declares, or None."""
    gguf = Path(folder) if Path(folder).suffix.lower() == ".gguf" else None
    if gguf is None and not (Path(folder) / "config.json").is_file():
        from desktop_app.core.model_registry import folder_gguf

        gguf = folder_gguf(Path(folder)) if Path(folder).is_dir() else None
    if gguf is not None:
        from desktop_app.core.gguf_header import read_summary

        try:
            return read_summary(gguf).context_length
        except (OSError, ValueError):
            return None
    try:
        config = read_json(Path(folder) / "config.json")  # bounded: the folder is untrusted
    except DataError:
        return None
    for key in ("max_position_embeddings", "n_positions", "n_ctx", "max_sequence_length"):
        value = config.get(key) if isinstance(config, dict) else None
        if isinstance(value, int) and not isinstance(value, bool) and 0 < value <= 1 << 24:
            return value
    return None


class ModelPicker(QWidget):
    """Combo box + details + progress (objectName ``modelPicker``)."""

    model_requested = Signal(str)  # a folder path
    server_requested = Signal(object)  # a ServerSpec

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self.setObjectName("modelPicker")
        self.setAccessibleName("Text model")
        self.combo = QComboBox(self)
        self.combo.setObjectName("modelCombo")
        self.combo.setAccessibleName("Text model")
        self.combo.setToolTip("The language model that continues your text")
        self.combo.setMinimumContentsLength(10)
        self.combo.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
        self.details = QLabel("No model loaded", self)
        self.details.setObjectName("modelDetails")
        self.details.setWordWrap(True)
        self.progress = QProgressBar(self)
        self.progress.setObjectName("modelLoadProgress")
        self.progress.setRange(0, 1000)
        self.progress.setMaximumHeight(12)
        self.progress.setTextVisible(False)
        self.progress.hide()
        self.error = error_label(self, "modelError")
        row = QHBoxLayout()
        row.setContentsMargins(0, 0, 0, 0)
        row.addWidget(QLabel("Model:", self))
        row.addWidget(self.combo, 1)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addLayout(row)
        layout.addWidget(self.details)
        layout.addWidget(self.progress)
        layout.addWidget(self.error)
        self.current_dir: str | None = None
        self.current_info = None
        self._last_index = -1
        self.servers: dict[str, ServerSpec] = {}  # URL -> spec of the server entries
        self.combo.activated.connect(self._on_combo_activated)

    def set_models(self, models, servers=()) -> None:
        """Fill the list with ``ModelInfo`` objects of kind text, the saved servers
        (``ServerSpec``), then the open and connect entries."""
        for spec in servers:
            self.servers.setdefault(spec.url, spec)
        with QSignalBlocker(self.combo):
            self.combo.clear()
            for info in models:
                label = info.name + ("" if info.source == "built-in" else f" ({info.source})")
                if getattr(info, "adapter", ""):  # base + rank: which model it changes
                    label += f" — {info.adapter}"
                if info.problem:
                    label += " — unusable"
                self.combo.addItem(label, str(info.path))
                self.combo.setItemData(self.combo.count() - 1, info.problem or str(info.path), 3)
            for url, spec in self.servers.items():
                self.combo.addItem(_server_label(spec), url)
                self.combo.setItemData(self.combo.count() - 1,
                                       f"Generate on the server at {url}", 3)
            self.combo.addItem(OPEN_FILE, _OPEN_FILE_DATA)
            self.combo.addItem(OPEN_FOLDER, None)
            self.combo.addItem(CONNECT, _CONNECT_DATA)
            self._select(self.current_dir)

    def preview(self, info) -> None:
        """Show a not-yet-loaded model's details (a ``ModelInfo`` from the scan)."""
        if self.current_info is not None:
            return
        context = context_length_of(info.path)
        self.details.setText(
            f"<b>{info.name}</b> · {human_count(info.parameters)} parameters · context "
            f"{f'{context:,}' if context else '?'} tokens · licence {info.licence} · "
            "<i>loads in the background</i>")
        with QSignalBlocker(self.combo):
            index = self.combo.findData(str(info.path))
            if index >= 0:
                self.combo.setCurrentIndex(index)

    def _select(self, folder: str | None) -> None:
        with QSignalBlocker(self.combo):
            index = self.combo.findData(folder) if folder else -1
            if folder and index < 0:
                if is_server(folder):
                    spec = self.servers.get(folder) or ServerSpec(folder)
                    label = _server_label(spec)
                else:
                    kind = "file" if Path(folder).is_file() else "folder"
                    label = f"{Path(folder).name} ({kind})"
                self.combo.insertItem(self.combo.count() - 3, label, folder)
                index = self.combo.findData(folder)
            self.combo.setCurrentIndex(max(index, 0) if folder else -1)
            self._last_index = self.combo.currentIndex()

    def _on_combo_activated(self, index: int) -> None:
        folder = self.combo.itemData(index)
        if folder == _CONNECT_DATA:
            spec = self.ask_server()
            if spec is None:
                self._select(self.current_dir)
                return
            self.request_server(spec)
            return
        if is_server(folder):
            self.request_server(self.servers.get(folder) or ServerSpec(folder))
            return
        if folder == _OPEN_FILE_DATA:
            chosen, _filter = QFileDialog.getOpenFileName(
                self, "Open a GGUF model file (llama.cpp, LM Studio, Ollama…)", "",
                "GGUF models (*.gguf);;All files (*)")
            if not chosen:
                self._select(self.current_dir)
                return
            folder = chosen
        elif folder is None:
            chosen = QFileDialog.getExistingDirectory(self, "Open a model folder (Hugging Face "
                                                      "layout: config.json + safetensors)")
            if not chosen:
                self._select(self.current_dir)
                return
            folder = chosen
        self.request(folder)

    def request(self, folder: str) -> None:
        """Ask for ``folder`` to be loaded (the combo returns to the current model until done)."""
        self.error.hide()
        self.model_requested.emit(str(folder))

    def ask_server(self) -> ServerSpec | None:
        """The "Connect to server" dialog (tests replace this); remembers the server when
        asked to."""
        from desktop_app.ui.widgets.server_dialog import (  # noqa: PLC0415
            ServerDialog, remember_server)
        from desktop_app.ui.settings import Settings  # noqa: PLC0415

        dialog = ServerDialog(self)
        if not dialog.exec() or dialog.spec is None:
            return None
        if dialog.rememberCheck.isChecked():
            remember_server(Settings(), dialog.spec)
        return dialog.spec

    def request_server(self, spec: ServerSpec) -> None:
        """Ask for the server to be contacted (its API detected, its model described)."""
        self.servers[spec.url] = spec
        self.error.hide()
        self.server_requested.emit(spec)

    # -- feedback from the panel -----------------------------------------------------------
    def set_progress(self, fraction: float | None, message: str = "") -> None:
        self.progress.show()
        if fraction is None:
            self.progress.setRange(0, 0)
        else:
            self.progress.setRange(0, 1000)
            self.progress.setValue(int(fraction * 1000))
        if message:
            self.progress.setToolTip(message)

    def set_loaded(self, info) -> None:
        """A ``TextModelInfo`` for the model now in use."""
        self.progress.hide()
        self.error.hide()
        self.current_dir = str(info.path)
        self.current_info = info
        if getattr(info, "server_api", ""):
            self.details.setText(
                f"<b>{info.name}</b> · served at {info.path} · context {info.max_context:,} "
                f"tokens" + (" · chat template" if info.has_chat_template else ""))
            self.details.setToolTip(f"Seeds: {info.reproducibility}.")
            self._select(self.current_dir)
            return
        folder = card_folder(Path(info.path))
        card = read_card_text(folder)   # read once (on the GUI thread: ≤ 1 MB)
        result = read_fine_tune_result(folder, card)   # an adapter: what it learned of your text
        self.details.setToolTip(f"Fine-tuned on your writing. On the text held out from "
                                f"training: {result} (MODEL_CARD.md)." if result else "")
        licence, _attribution = read_card(folder, card)
        self.details.setText(
            f"<b>{info.name}</b> · {info.arch} · {human_count(info.parameters)} parameters · "
            f"context {info.max_context:,} tokens · licence {licence or 'unknown'}"
            + (" · chat template" if info.has_chat_template else ""))
        self._select(self.current_dir)

    def set_error(self, message: str) -> None:
        """Show why a load failed; the previous model stays selected and in use."""
        self.progress.hide()
        still = (f" The previous model ({Path(self.current_dir).name}) is still in use."
                 if self.current_dir else "")
        self.error.setText(f"Could not load the model: {message}{still}")
        self.error.show()
        self._select(self.current_dir)


def _server_label(spec: ServerSpec) -> str:
    api = "" if spec.api == "auto" else f", {API_TITLES[spec.api]}"
    return f"{spec.label} (server{api})"
