"""The Write room's "Advanced" sampler section: every stage of ``SamplerSettings``.

GUI thread only. It edits the same settings the shared Randomness controls hold (through
``randomness.set_settings``), so the four basic controls and these stay in step. The stage
order is a list the user reorders by dragging; unticking a stage leaves it out of the chain.
Users can save the current settings as their own named preset (kept as JSON in the user data
folder, written atomically) and apply or delete them later.
"""

from __future__ import annotations

import json
import re

from PySide6.QtCore import QSignalBlocker, Qt, Signal
from PySide6.QtWidgets import (QAbstractItemView, QComboBox, QDoubleSpinBox, QFormLayout,
                               QGroupBox, QHBoxLayout, QInputDialog, QLabel, QLineEdit, QListWidget,
                               QListWidgetItem, QPushButton, QSpinBox, QVBoxLayout, QWidget)

from desktop_app.core import paths
from desktop_app.core.atomic import atomic_write_json
from desktop_app.core.errors import DataError, ReverieError
from desktop_app.core.sampling import STAGES, SamplerSettings
from desktop_app.core.untrusted import loads_json, read_json

STAGE_LABELS = {
    "penalties": "Repetition penalties", "dry": "DRY (don't repeat yourself)", "top_k": "Top-k",
    "typical_p": "Typical-p", "top_p": "Top-p", "min_p": "Min-p", "xtc": "XTC (exclude top choices)",
    "temperature": "Temperature",
}
STAGE_TIPS = {
    "penalties": "Makes tokens already used in the recent text less likely.",
    "dry": "Penalises continuing a sequence that already appeared, to stop loops.",
    "top_k": "Keeps only the k most likely tokens.",
    "typical_p": "Keeps tokens whose surprise is close to the average surprise.",
    "top_p": "Keeps the most likely tokens until their probabilities add up to p.",
    "min_p": "Drops tokens less likely than min-p times the most likely one.",
    "xtc": "Sometimes removes the most obvious choices to make the text less predictable.",
    "temperature": "Sharpens (below 1) or flattens (above 1) the distribution.",
}
# field name -> (label, tooltip, minimum, maximum, step, decimals or None for an int)
FIELDS = {
    "typical_p": ("Typical-p", "Keep tokens of about average surprise, up to this mass (1 = off).",
                  0.0, 1.0, 0.01, 2),
    "repeat_penalty": ("Repeat penalty", "Divide the scores of recently used tokens by this "
                       "(1 = off).", 0.0, 5.0, 0.05, 2),
    "repeat_last_n": ("Repeat window", "How many recent tokens the penalties look at (-1 = all, "
                      "0 = off).", -1, 100_000, 16, None),
    "frequency_penalty": ("Frequency penalty", "Subtract this times the number of times a token "
                          "was used (0 = off).", -2.0, 2.0, 0.05, 2),
    "presence_penalty": ("Presence penalty", "Subtract this once from every token already used "
                         "(0 = off).", -2.0, 2.0, 0.05, 2),
    "dry_multiplier": ("DRY multiplier", "Strength of the penalty on repeating a sequence "
                       "(0 = off).", 0.0, 5.0, 0.05, 2),
    "dry_base": ("DRY base", "How fast the DRY penalty grows with the repeated length.",
                 1.0, 4.0, 0.05, 2),
    "dry_allowed_length": ("DRY allowed length", "Repeats up to this many tokens are not "
                           "penalised.", 0, 100, 1, None),
    "dry_penalty_last_n": ("DRY window", "How many recent tokens DRY scans (-1 = all, 0 = off).",
                           -1, 100_000, 64, None),
    "xtc_probability": ("XTC probability", "Chance per token that XTC removes the top choices "
                        "(0 = off).", 0.0, 1.0, 0.05, 2),
    "xtc_threshold": ("XTC threshold", "Tokens above this probability count as top choices "
                      "(above 0.5 = off).", 0.0, 1.0, 0.01, 2),
}
_NAME = re.compile(r"^[\w .'-]{1,40}$")


def presets_path():
    return paths.user_data_dir() / "presets" / "write_presets.json"


def load_user_presets() -> dict[str, SamplerSettings]:
    """The user's saved presets; a damaged file or entry is skipped, never fatal."""
    try:
        data = read_json(presets_path())  # bounded (size, depth): a damaged file is skipped
    except DataError:
        return {}
    out = {}
    if isinstance(data, dict):
        for name, values in data.items():
            try:
                out[str(name)] = SamplerSettings.from_dict(values)
            except (ReverieError, TypeError, ValueError):
                continue
    return out


def save_user_presets(presets: dict[str, SamplerSettings]) -> None:
    atomic_write_json(presets_path(), {name: {**s.to_dict(), "seed": None}
                                       for name, s in presets.items()})


class AdvancedSampling(QWidget):
    """Every sampler knob plus the stage order (objectName ``advancedSampling``)."""

    message = Signal(str)

    def __init__(self, randomness, parent=None) -> None:
        super().__init__(parent)
        self.setObjectName("advancedSampling")
        self.setAccessibleName("Advanced sampler settings")
        self.randomness = randomness
        self.spins: dict[str, QSpinBox | QDoubleSpinBox] = {}
        form = QFormLayout()
        form.setVerticalSpacing(4)
        for name, (label, tip, lo, hi, step, decimals) in FIELDS.items():
            spin = QDoubleSpinBox(self) if decimals is not None else QSpinBox(self)
            if decimals is not None:
                spin.setDecimals(decimals)
            spin.setRange(lo, hi)
            spin.setSingleStep(step)
            spin.setObjectName(f"{_camel(name)}Spin")
            spin.setAccessibleName(label)
            spin.setToolTip(tip)
            spin.valueChanged.connect(self._on_control_changed)
            form.addRow(label, spin)
            self.spins[name] = spin
        self.breakers = QLineEdit(self)
        self.breakers.setObjectName("dryBreakersEdit")
        self.breakers.setToolTip("DRY sequence breakers, as a JSON list of strings: a repeat "
                                 "never continues across these.")
        self.breakers.editingFinished.connect(self._on_control_changed)
        form.addRow("DRY breakers", self.breakers)

        self.order = QListWidget(self)
        self.order.setObjectName("stageOrderList")
        self.order.setAccessibleName("Sampler stage order")
        self.order.setToolTip("Drag to reorder the stages; untick a stage to leave it out. The "
                              "token is drawn after the last stage.")
        self.order.setDragDropMode(QAbstractItemView.DragDropMode.InternalMove)
        self.order.setDefaultDropAction(Qt.DropAction.MoveAction)
        self.order.setFixedHeight(8 * self.order.fontMetrics().height() + 24)
        self.order.model().rowsMoved.connect(self._on_control_changed)
        self.order.itemChanged.connect(self._on_control_changed)

        self.preset_box = QComboBox(self)
        self.preset_box.setObjectName("userPresetCombo")
        self.preset_box.setToolTip("Your own presets")
        apply_btn = QPushButton("Apply", self)
        save_btn = QPushButton("Save as preset…", self)
        save_btn.setObjectName("savePresetButton")
        save_btn.setToolTip("Save all the current sampler settings as a named preset")
        delete_btn = QPushButton("Delete", self)
        apply_btn.clicked.connect(lambda: self.apply_user_preset(self.preset_box.currentText()))
        save_btn.clicked.connect(self._on_save_clicked)
        delete_btn.clicked.connect(lambda: self.delete_user_preset(self.preset_box.currentText()))
        preset_row = QHBoxLayout()
        for w in (self.preset_box, apply_btn, delete_btn):
            preset_row.addWidget(w)

        self.serverNote = QLabel("", self)  # which settings the serving engine lacks
        self.serverNote.setObjectName("serverSettingsNote")
        self.serverNote.setWordWrap(True)
        self.serverNote.hide()
        self.unavailable: dict[str, str] = {}
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.addWidget(self.serverNote)
        stages_box = QGroupBox("Every sampler stage", self)
        stages_box.setLayout(form)
        order_box = QGroupBox("Stage order: drag to reorder, untick to skip", self)
        order_layout = QVBoxLayout(order_box)
        order_layout.addWidget(self.order)
        presets_box = QGroupBox("Your presets", self)
        presets_layout = QVBoxLayout(presets_box)
        presets_layout.addLayout(preset_row)
        presets_layout.addWidget(save_btn)
        for box in (stages_box, order_box, presets_box):
            layout.addWidget(box)
        layout.addStretch(1)
        self.user_presets = load_user_presets()
        self._reload_preset_box()
        self._syncing = False
        randomness.changed.connect(self.sync_from_randomness)
        self.sync_from_randomness()

    # -- reading / writing -----------------------------------------------------------------
    def sync_from_randomness(self) -> None:
        """Show the values the Randomness controls hold (after a preset, a load, ...)."""
        if self._syncing:
            return
        s = self.randomness.settings()
        self._syncing = True
        try:
            for name, spin in self.spins.items():
                with QSignalBlocker(spin):
                    spin.setValue(getattr(s, name))
            with QSignalBlocker(self.breakers):
                self.breakers.setText(json.dumps(list(s.dry_sequence_breakers), ensure_ascii=False))
            with QSignalBlocker(self.order), QSignalBlocker(self.order.model()):
                self.order.clear()
                for stage in list(s.order) + [x for x in STAGES if x not in s.order]:
                    item = QListWidgetItem(STAGE_LABELS[stage])
                    item.setData(Qt.ItemDataRole.UserRole, stage)
                    item.setToolTip(STAGE_TIPS[stage])
                    item.setFlags(item.flags() | Qt.ItemFlag.ItemIsUserCheckable
                                  | Qt.ItemFlag.ItemIsDragEnabled)
                    item.setCheckState(Qt.CheckState.Checked if stage in s.order
                                       else Qt.CheckState.Unchecked)
                    self.order.addItem(item)
        finally:
            self._syncing = False

    def stage_order(self) -> tuple[str, ...]:
        items = [self.order.item(i) for i in range(self.order.count())]
        return tuple(it.data(Qt.ItemDataRole.UserRole) for it in items
                     if it.checkState() == Qt.CheckState.Checked)

    def edited_settings(self) -> SamplerSettings:
        """The Randomness settings with every advanced value shown here applied."""
        values = {name: spin.value() for name, spin in self.spins.items()}
        for name, (*_rest, decimals) in FIELDS.items():
            values[name] = int(values[name]) if decimals is None else round(values[name], 4)
        try:
            breakers = loads_json(self.breakers.text() or "[]", source="DRY breakers",
                                  max_bytes=65_536)
            if not isinstance(breakers, list) or not all(isinstance(b, str) for b in breakers):
                raise ValueError
        except (ValueError, DataError):
            breakers = list(self.randomness.settings().dry_sequence_breakers)
            self.message.emit('DRY breakers must be a JSON list of strings, e.g. ["\\n", ":"]')
        return self.randomness.settings().replace(
            **values, dry_sequence_breakers=tuple(breakers), order=self.stage_order())

    def _on_control_changed(self, *_args) -> None:
        if self._syncing:
            return
        try:
            settings = self.edited_settings()
        except ReverieError as exc:
            self.message.emit(str(exc))
            return
        self._syncing = True
        try:
            self.randomness.set_settings(settings)
        finally:
            self._syncing = False

    # -- a serving engine's limits ---------------------------------------------------------
    def set_unavailable(self, unsupported: dict[str, str], server: str = "") -> None:
        """Grey out the settings ``server`` has no equivalent for (setting -> why), with the
        reason in each tooltip; an empty dict (a local model) makes everything available."""
        self.unavailable = dict(unsupported)
        for name, spin in self.spins.items():
            reason = unsupported.get(name)
            spin.setEnabled(reason is None)
            spin.setToolTip(FIELDS[name][1] if reason is None else
                            f"Not available on {server}: {reason}. The value is not sent.")
        for widget, name, tip in (
                (self.breakers, "dry_sequence_breakers", "DRY sequence breakers, as a JSON "
                 "list of strings: a repeat never continues across these."),
                (self.order, "order", "Drag to reorder the stages; untick a stage to leave it "
                 "out. The token is drawn after the last stage.")):
            reason = unsupported.get(name)
            widget.setEnabled(reason is None)
            widget.setToolTip(tip if reason is None else f"Not available on {server}: {reason}.")
        if unsupported:
            names = sorted({FIELDS[n][0] if n in FIELDS else {"order": "stage order",
                            "dry_sequence_breakers": "DRY breakers"}.get(n, n)
                            for n in unsupported})
            self.serverNote.setText(f"<b>{server}</b> has no equivalent for: "
                                    f"{', '.join(names)}. They are greyed out and not sent.")
        self.serverNote.setVisible(bool(unsupported))

    # -- user presets ----------------------------------------------------------------------
    def _reload_preset_box(self) -> None:
        self.preset_box.clear()
        self.preset_box.addItems(sorted(self.user_presets))

    def _on_save_clicked(self) -> None:
        name, ok = QInputDialog.getText(self, "Save preset", "Name of the preset:")
        if ok:
            self.save_user_preset(name.strip())

    def save_user_preset(self, name: str) -> bool:
        if not _NAME.match(name):
            self.message.emit("A preset name is 1–40 letters, digits, spaces, dots or dashes.")
            return False
        self.user_presets[name] = self.randomness.settings().replace(seed=None)
        try:
            save_user_presets(self.user_presets)
        except ReverieError as exc:
            self.message.emit(f"The preset was not saved: {exc}")
            return False
        self._reload_preset_box()
        self.preset_box.setCurrentText(name)
        self.message.emit(f"Saved the preset “{name}”.")
        return True

    def apply_user_preset(self, name: str) -> None:
        if name in self.user_presets:
            self.randomness.set_settings(self.user_presets[name])
            self.message.emit(f"Applied your preset “{name}”.")

    def delete_user_preset(self, name: str) -> None:
        if self.user_presets.pop(name, None) is not None:
            try:
                save_user_presets(self.user_presets)
            except ReverieError as exc:
                self.message.emit(str(exc))
            self._reload_preset_box()


def _camel(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(part.capitalize() for part in rest)
