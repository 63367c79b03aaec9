"""The Preferences dialog: engine threads and memory, model folders, user models, and the list
of serving engines the Write room offers (GUI thread).

The main window hands new thread and memory values to the engine when the dialog is accepted
(the memory budget applies from the next model load). Removing a user model asks for confirmation and only ever deletes a
folder inside the user's models folder.
"""

from __future__ import annotations

import logging
import os
import shutil
from pathlib import Path

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (QCheckBox, QComboBox, QDialog, QDialogButtonBox, QFileDialog,
                               QFormLayout, QGroupBox,
                               QHBoxLayout, QLineEdit, QListWidget, QListWidgetItem,
                               QMessageBox, QPushButton, QSpinBox, QVBoxLayout, QWidget)

from desktop_app.core import paths
from desktop_app.core.model_registry import human_count, human_size, scan_models
from desktop_app.ui.settings import Settings

log = logging.getLogger(__name__)

#: the text precision choice (core.textgen.PRECISIONS) as the dialog shows it
PRECISION_LABELS = (
    ("auto", "Automatic (the model file's own: 4-bit GGUF runs int4)"),
    ("fp32", "fp32 (exact, slowest)"),
    ("bf16", "bf16"),
    ("int8", "int8 weights"),
    ("int4", "int4 weights (fastest)"),
)


def _editable_list(parent: QWidget, name: str, accessible: str, button_names: tuple[str, str],
                   on_add) -> tuple[QListWidget, QHBoxLayout]:
    """A short list with Add…/Remove buttons beside it (model folders, servers): Add calls
    ``on_add``; Remove drops the selected rows. Returns the list and the row to place."""
    items = QListWidget(parent)
    items.setObjectName(name)
    items.setAccessibleName(accessible)
    items.setMaximumHeight(90)
    add, remove = QPushButton("Add…", parent), QPushButton("Remove", parent)
    add.setObjectName(button_names[0])
    remove.setObjectName(button_names[1])
    add.clicked.connect(on_add)
    remove.clicked.connect(lambda: [items.takeItem(items.row(i)) for i in items.selectedItems()])
    buttons = QVBoxLayout()
    buttons.addWidget(add)
    buttons.addWidget(remove)
    buttons.addStretch(1)
    row = QHBoxLayout()
    row.addWidget(items, 1)
    row.addLayout(buttons)
    return items, row


def remove_user_model(model_dir: Path, user_models_root: Path) -> None:
    """Delete ``model_dir`` if it is a model folder inside ``user_models_root``; else refuse."""
    model_dir, root = Path(model_dir).resolve(), Path(user_models_root).resolve()
    if root not in model_dir.parents or model_dir.parent.parent != root:
        raise ValueError(f"{model_dir} is not a model inside your models folder {root}")
    shutil.rmtree(model_dir)


class _FolderField(QWidget):
    def __init__(self, name: str, path: Path, parent=None) -> None:
        super().__init__(parent)
        self.edit = QLineEdit(str(path), self)
        self.edit.setObjectName(name)
        self.edit.setAccessibleName(name)
        browse = QPushButton("Browse…", self)
        browse.clicked.connect(self._on_browse_clicked)
        row = QHBoxLayout(self)
        row.setContentsMargins(0, 0, 0, 0)
        row.addWidget(self.edit, 1)
        row.addWidget(browse)

    def _on_browse_clicked(self) -> None:
        folder = QFileDialog.getExistingDirectory(self, "Choose a folder", self.edit.text())
        if folder:
            self.edit.setText(folder)

    def path(self) -> Path:
        return Path(self.edit.text().strip()).expanduser()


class PreferencesDialog(QDialog):
    """Edits :class:`Settings`; writes them only when the user presses OK."""

    def __init__(self, settings: Settings, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("preferencesDialog")
        self.setWindowTitle("Preferences")
        self.setMinimumWidth(560)
        self.settings = settings
        layout = QVBoxLayout(self)
        layout.setSpacing(12)

        engine_box = QGroupBox("Engine", self)
        form = QFormLayout(engine_box)
        self.threadsSpin = QSpinBox(engine_box)
        self.threadsSpin.setObjectName("threadsSpin")
        self.threadsSpin.setAccessibleName("Inference threads")
        self.threadsSpin.setRange(0, max(1, os.cpu_count() or 1))
        self.threadsSpin.setSpecialValueText("Automatic (leave one core for the window)")
        self.threadsSpin.setValue(settings.inference_threads())
        self.memorySpin = QSpinBox(engine_box)
        self.memorySpin.setObjectName("memoryBudgetSpin")
        self.memorySpin.setAccessibleName("Memory budget for loaded models")
        self.memorySpin.setRange(0, 1 << 20)
        self.memorySpin.setSpecialValueText("Automatic (a share of this computer's memory)")
        self.memorySpin.setSingleStep(256)
        self.memorySpin.setSuffix(" MB")
        self.memorySpin.setValue(settings.memory_budget_mb())
        self.precisionCombo = QComboBox(engine_box)
        self.precisionCombo.setObjectName("textPrecisionCombo")
        self.precisionCombo.setAccessibleName("Text model precision")
        for value, label in PRECISION_LABELS:
            self.precisionCombo.addItem(label, value)
        self.precisionCombo.setCurrentIndex(
            max(0, self.precisionCombo.findData(settings.text_precision())))
        form.addRow("Inference threads", self.threadsSpin)
        form.addRow("Memory for loaded models", self.memorySpin)
        form.addRow("Text model precision", self.precisionCombo)
        self.compileCheck = QCheckBox("Compile text models in the background", engine_box)
        self.compileCheck.setObjectName("compileTextCheck")
        self.compileCheck.setToolTip("Faster decoding once ready: the decode step is compiled "
                                     "ahead of time (about a minute, once per model shape, "
                                     "while the model is idle); generation stays on the plain "
                                     "path until it is ready")
        self.compileCheck.setChecked(settings.text_compile())
        form.addRow("", self.compileCheck)
        layout.addWidget(engine_box)

        self._default_models = paths.user_data_dir() / "models"
        self._default_autosave = paths.user_data_dir() / "autosave"
        folders_box = QGroupBox("Folders (your models and autosaves: from the next start)", self)
        folders = QFormLayout(folders_box)
        self.userModels = _FolderField("userModelsFolder", settings.user_models_dir(), folders_box)
        self.autosave = _FolderField("autosaveFolder", settings.autosave_dir(), folders_box)
        folders.addRow("Your trained models", self.userModels)
        folders.addRow("Autosaves", self.autosave)
        self.extraList, extra_row = _editable_list(
            folders_box, "extraModelFolders", "Extra model folders",
            ("addModelFolderButton", "removeModelFolderButton"), self._on_add_folder_clicked)
        for folder in settings.extra_model_dirs():
            self.extraList.addItem(str(folder))
        folders.addRow("Extra model folders", extra_row)
        layout.addWidget(folders_box)

        models_box = QGroupBox("Your models", self)
        models_layout = QVBoxLayout(models_box)
        self.userModelList = QListWidget(models_box)
        self.userModelList.setObjectName("userModelList")
        self.userModelList.setAccessibleName("Your trained models")
        self.userModelList.setMaximumHeight(110)
        self.removeModelButton = QPushButton("Remove Model…", models_box)
        self.removeModelButton.setObjectName("removeUserModelButton")
        self.removeModelButton.clicked.connect(self._on_remove_model_clicked)
        models_layout.addWidget(self.userModelList)
        models_layout.addWidget(self.removeModelButton, 0, Qt.AlignmentFlag.AlignRight)
        layout.addWidget(models_box)
        self._fill_user_models()
        layout.addWidget(self._servers_box(settings))

        box = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok
                               | QDialogButtonBox.StandardButton.Cancel, self)
        box.accepted.connect(self.accept)
        box.rejected.connect(self.reject)
        layout.addWidget(box)

    def _servers_box(self, settings) -> QGroupBox:
        """Servers (llama.cpp, vLLM, Ollama) for the Write room's model picker: URL, API,
        model and the name of the key's environment variable; never a key."""
        from desktop_app.ui.widgets.server_dialog import load_servers  # noqa: PLC0415

        box = QGroupBox("Servers (the Write room's model picker; docs/serving.md)", self)
        self.serverList, row = _editable_list(
            box, "serverList", "Servers", ("addServerButton", "removeServerButton"),
            self._on_add_server_clicked)
        box.setLayout(row)
        for spec in load_servers(settings):
            self._add_server_item(spec)
        return box

    def _add_server_item(self, spec) -> None:
        key = f" · key from ${spec.api_key_env}" if spec.api_key_env else ""
        item = QListWidgetItem(f"{spec.url} · {spec.api}"
                               + (f" · {spec.model}" if spec.model else "") + key)
        item.setData(Qt.ItemDataRole.UserRole, spec)
        self.serverList.addItem(item)

    def ask_server(self):
        """The server dialog (tests replace this to answer without one)."""
        from desktop_app.ui.widgets.server_dialog import ServerDialog  # noqa: PLC0415

        dialog = ServerDialog(self, offer_remember=False)
        return dialog.spec if dialog.exec() else None

    def _on_add_server_clicked(self) -> None:
        spec = self.ask_server()
        if spec is not None:
            self._add_server_item(spec)

    def servers(self) -> list:
        return [self.serverList.item(i).data(Qt.ItemDataRole.UserRole)
                for i in range(self.serverList.count())]

    def _fill_user_models(self) -> None:
        self.userModelList.clear()
        root = self.settings.user_models_dir()
        scan = scan_models(user_dir=root, builtin_dir=root / ".none")
        for info in (m for m in scan.models if m.source == "user"):
            item = QListWidgetItem(f"{info.name}  ·  {info.kind}  ·  "
                                   f"{human_count(info.parameters)} parameters  ·  "
                                   f"{human_size(info.size_bytes)}")
            item.setData(Qt.ItemDataRole.UserRole, str(info.path))
            self.userModelList.addItem(item)
        if self.userModelList.count() == 0:
            placeholder = QListWidgetItem("No models trained yet.")
            placeholder.setFlags(Qt.ItemFlag.NoItemFlags)
            self.userModelList.addItem(placeholder)
        self.removeModelButton.setEnabled(any(
            self.userModelList.item(i).data(Qt.ItemDataRole.UserRole)
            for i in range(self.userModelList.count())))

    def _on_add_folder_clicked(self) -> None:
        folder = QFileDialog.getExistingDirectory(self, "Add a folder holding models")
        if folder:
            self.extraList.addItem(folder)

    def confirm_removal(self, name: str) -> bool:
        """Ask before deleting; tests replace this to answer without a dialog."""
        answer = QMessageBox.warning(
            self, "Remove model", f"Delete the model “{name}” and all its files? "
            "This cannot be undone.",
            QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.No,
            QMessageBox.StandardButton.No)
        return answer == QMessageBox.StandardButton.Yes

    def _on_remove_model_clicked(self) -> None:
        item = self.userModelList.currentItem()
        path = item.data(Qt.ItemDataRole.UserRole) if item else None
        if not path:
            return
        if not self.confirm_removal(Path(path).name):
            return
        try:
            remove_user_model(Path(path), self.settings.user_models_dir())
        except (OSError, ValueError) as exc:
            QMessageBox.critical(self, "Remove model", f"Could not remove the model: {exc}")
            return
        log.info("removed user model %s", path)
        self._fill_user_models()

    def accept(self) -> None:
        s = self.settings
        s.set_value("engine/threads", self.threadsSpin.value())
        s.set_value("engine/memory_budget_mb", self.memorySpin.value())
        s.set_value("engine/text_precision", self.precisionCombo.currentData())
        s.set_value("engine/text_compile", self.compileCheck.isChecked())
        # Store a folder only when it differs from the default, so defaults follow
        # $REVERIE_DATA_DIR; the app applies them to core.paths at its next start.
        for key, field, default in (("paths/user_models", self.userModels, self._default_models),
                                    ("paths/autosave", self.autosave, self._default_autosave)):
            if field.path() == default:
                s.remove(key)
            else:
                s.set_value(key, str(field.path()))
        s.set_extra_model_dirs([Path(self.extraList.item(i).text())
                                for i in range(self.extraList.count())])
        from desktop_app.ui.widgets.server_dialog import save_servers  # noqa: PLC0415

        save_servers(s, self.servers())
        if not s.sync():  # a full disk or a read-only folder: say so, never silently
            QMessageBox.warning(self, "Preferences not saved", s.warning)
        super().accept()
