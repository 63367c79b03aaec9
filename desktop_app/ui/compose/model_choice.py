"""The Compose room's melody-model picker: the built-in folk-melody model and every melody
model the Train room made (or a model folder in Preferences), chosen by name.

A mixin of :class:`~desktop_app.ui.compose.panel.ComposePanel` (GUI thread). The choice is
kept as a model *name* (in the autosave too) and turned into a folder only through the model
scan, so a name read back from disk never becomes a path on its own. Only melody transformers
are listed: the phrase VAE is also a music model, but it morphs phrases and cannot generate.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QSignalBlocker

from desktop_app.core import paths
from desktop_app.core.model_registry import ModelInfo

MELODY_ARCHITECTURE = "melody-transformer"   # config.json's "architecture" of a melody model


class ModelChoiceMixin:
    """Fills ``modelPicker`` from the scan and keeps ``model_dir`` on the chosen model."""

    _chosen_name: str | None = None     # the model the person chose, by name ...
    _chosen_source: str | None = None   # ... and source ("user", "built-in", "extra")

    def melody_models(self) -> list[ModelInfo]:
        """The melody models of the last scan, in its order (the user's first)."""
        return [m for m in self.model_scan().of_kind("music")
                if m.architecture == MELODY_ARCHITECTURE]

    def _resolve_melody_model(self, models: list[ModelInfo]) -> str | None:
        """The folder of the chosen model among ``models``, else the built-in one, else any
        usable one."""
        usable = [m for m in models if not m.problem]
        for wanted in ((self._chosen_name, self._chosen_source), (self._chosen_name, None),
                       (paths.MELODY_MODEL, "built-in"), (paths.MELODY_MODEL, None)):
            found = next((m for m in usable if m.name == wanted[0]
                          and wanted[1] in (None, m.source)), None)
            if found is not None:
                return str(found.path)
        return str(usable[0].path) if usable else None

    def fill_model_picker(self, models: list[ModelInfo] | None = None) -> None:
        """List ``models`` (default: the melody models of the scan) with the one in use
        chosen."""
        picker = self.modelPicker
        with QSignalBlocker(picker):
            picker.clear()
            for m in self.melody_models() if models is None else models:
                label = m.name + ("" if m.source == "built-in" else
                                  " (yours)" if m.source == "user" else " (folder)")
                picker.addItem(label + (" — unusable" if m.problem else ""), str(m.path))
                picker.setItemData(picker.count() - 1, m.problem or _tip(m), 3)  # tooltip
            current = self.model_dir
            index = picker.findData(current) if current else -1
            if current and index < 0:   # a folder given to the room directly (a test, the CLI)
                picker.addItem(f"{Path(current).name} (folder)", current)
                index = picker.count() - 1
            picker.setCurrentIndex(index)
        picker.setEnabled(picker.count() > 0)

    def _on_model_picker_activated(self, index: int) -> None:
        folder = self.modelPicker.itemData(index)
        model = next((m for m in self.melody_models() if str(m.path) == folder), None)
        if model is not None and model.problem:
            self.show_message(f"{model.name} cannot be used: {model.problem}")
            self.fill_model_picker()
            return
        self.choose_melody_model(folder, model)

    def choose_melody_model(self, folder: str | None, model: ModelInfo | None) -> None:
        """Generate and Continue use ``folder`` from now on (``model``: the scan's entry for
        it, None for a folder the scan does not know)."""
        if not folder or folder == self.model_dir:
            return
        name = model.name if model else None
        self._chosen_name, self._chosen_source = name, model.source if model else None
        self._auto_models = (model is not None, self._auto_models[1])
        self.model_dir = folder
        self.set_model_message("")   # fills the picker
        self.show_message(f"New melodies come from {name or Path(folder).name}.", error=False)
        self.schedule_autosave()

    def open_model(self, folder: str) -> bool:
        """Choose the scanned melody model at ``folder`` (the Train room's "Compose with it");
        False when the scan does not know it as a usable melody model."""
        try:
            wanted = Path(folder).resolve()
        except (OSError, ValueError):
            return False
        model = next((m for m in self.melody_models()
                      if not m.problem and Path(m.path).resolve() == wanted), None)
        if model is None:
            return False
        self.choose_melody_model(str(model.path), model)
        return True


def _tip(m: ModelInfo) -> str:
    where = {"user": "trained in the Train room", "built-in": "built in"}.get(m.source,
                                                                           "from a model folder")
    return f"{m.name}: a melody model, {where} ({m.path})"
