"""The shared Randomness controls: seed (dice + lock), temperature, top-k, top-p, min-p, presets,
and for image rooms the noise (the temperature of the image prior's starting noise) and the
guidance strength.

One instance serves the whole window (lives on the GUI thread); every generating room reads it.
Each room shows only the controls that apply to it (:meth:`RandomnessControls.show_fields`,
called by the window with the room's ``randomness_fields``): the text and music rooms show
the presets, temperature, top-k, top-p and min-p (:data:`TEXT_FIELDS`); Imagine shows the seed,
noise and guidance (:data:`IMAGE_FIELDS`). Values of hidden controls are kept.

Seed rules (issue 2): the seed box holds the seed the *next* generation uses. After a
generation finishes, :meth:`generation_finished` shows "last seed: N"; with the lock off it
puts a fresh random seed in the box, with the lock on the box keeps its value, so the same
settings and seed reproduce the same result.
"""

from __future__ import annotations

import random

from PySide6.QtCore import QSignalBlocker, Qt, Signal
from PySide6.QtGui import QIcon
from PySide6.QtWidgets import (QDoubleSpinBox, QFormLayout, QFrame, QGridLayout, QHBoxLayout,
                               QLabel, QPushButton, QSpinBox, QToolButton, QVBoxLayout, QWidget)

from desktop_app.core import paths
from desktop_app.core.sampling import PRESET_DESCRIPTIONS, SamplerSettings, preset

SEED_MAX = 2_147_483_647
PRESET_NAMES = ("Precise", "Balanced", "Creative", "Wild")
#: Controls a room can show (the seed row is always shown).
TEXT_FIELDS = ("presets", "temperature", "top_k", "top_p", "min_p")
IMAGE_FIELDS = ("noise", "guidance")
ALL_FIELDS = TEXT_FIELDS + IMAGE_FIELDS
NOISE_DEFAULT, GUIDANCE_DEFAULT = 1.0, 4.0


def _icon(name: str) -> QIcon:
    return QIcon(str(paths.resources_dir() / "icons" / f"{name}.svg"))


class RandomnessControls(QFrame):
    """Seed and sampling controls shared by every room. GUI thread only."""

    #: Emitted whenever a value changes (the user edits, a preset, a new seed).
    changed = Signal()
    #: Emitted when the image noise or guidance changes (image rooms re-sample their grid).
    image_sampling_changed = Signal()

    def __init__(self, parent: QWidget | None = None, *, rng: random.Random | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("randomnessControls")
        self.setAccessibleName("Randomness")
        self._rng = rng or random.SystemRandom()
        self._last_seed: int | None = None
        self._preset_name = "Balanced"
        self._build()
        self.set_settings(preset("Balanced"))
        self.seedSpin.setValue(self.new_seed())

    # -- building --------------------------------------------------------------------------

    def _spin(self, name: str, label: str, tip: str, lo, hi, step, decimals=None):
        spin = QDoubleSpinBox(self) if decimals is not None else QSpinBox(self)
        if decimals is not None:
            spin.setDecimals(decimals)
        spin.setRange(lo, hi)
        spin.setSingleStep(step)
        spin.setObjectName(name)
        spin.setAccessibleName(label)
        spin.setToolTip(tip)
        spin.valueChanged.connect(self._on_value_changed)
        return spin

    def _build(self) -> None:
        outer = QVBoxLayout(self)
        outer.setContentsMargins(12, 12, 12, 12)
        outer.setSpacing(10)
        title = QLabel("Randomness", self)
        title.setObjectName("panelTitle")
        outer.addWidget(title)

        presets = QGridLayout()
        presets.setSpacing(6)
        self.preset_buttons: dict[str, QPushButton] = {}
        for i, name in enumerate(PRESET_NAMES):
            button = QPushButton(name, self)
            button.setObjectName(f"preset{name}Button")
            button.setAccessibleName(f"{name} preset")
            button.setToolTip(PRESET_DESCRIPTIONS.get(name, name))
            button.clicked.connect(lambda _=False, n=name: self.apply_preset(n))
            presets.addWidget(button, i // 2, i % 2)
            self.preset_buttons[name] = button
        outer.addLayout(presets)

        form = QFormLayout()
        form.setHorizontalSpacing(10)
        form.setVerticalSpacing(8)
        form.setLabelAlignment(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter)
        self.seedSpin = self._spin("seedSpin", "Seed", "The seed the next generation uses "
                                   "(0 – 2,147,483,647).", 0, SEED_MAX, 1)
        self.diceButton = QToolButton(self)
        self.diceButton.setObjectName("seedDiceButton")
        self.diceButton.setIcon(_icon("dice"))
        self.diceButton.setAccessibleName("New random seed")
        self.diceButton.setToolTip("Put a new random seed in the box")
        self.diceButton.clicked.connect(self._on_dice_clicked)
        self.lockButton = QToolButton(self)
        self.lockButton.setObjectName("seedLockButton")
        self.lockButton.setCheckable(True)
        self.lockButton.setAccessibleName("Lock seed")
        self.lockButton.toggled.connect(self._on_lock_toggled)
        self._on_lock_toggled(False)
        seed_row = QHBoxLayout()
        seed_row.setSpacing(4)
        seed_row.addWidget(self.seedSpin, 1)
        seed_row.addWidget(self.diceButton)
        seed_row.addWidget(self.lockButton)
        form.addRow("Seed", seed_row)
        self.lastSeedLabel = QLabel("last seed: –", self)
        self.lastSeedLabel.setObjectName("lastSeedLabel")
        self.lastSeedLabel.setAccessibleName("Last seed used")
        self.lastSeedLabel.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        form.addRow("", self.lastSeedLabel)

        self.temperatureSpin = self._spin(
            "temperatureSpin", "Temperature", "Higher is more random; 0 always takes the most "
            "likely choice.", 0.0, 5.0, 0.05, decimals=2)
        self.topKSpin = self._spin("topKSpin", "Top-k", "Keep only the k most likely choices "
                                   "(0 = off).", 0, 100_000, 5)
        self.topPSpin = self._spin("topPSpin", "Top-p", "Keep the most likely choices whose "
                                   "probabilities add up to p (1 = off).", 0.0, 1.0, 0.01, 2)
        self.minPSpin = self._spin("minPSpin", "Min-p", "Drop choices less likely than min-p × "
                                   "the best one (0 = off).", 0.0, 1.0, 0.01, 2)
        self.noiseSpin = self._spin(
            "noiseSpin", "Noise", "How far from the typical picture the starting noise goes "
            "(the temperature of the image prior): below 1 is cleaner and more typical, above "
            "1 stranger.", 0.0, 2.0, 0.05, decimals=2)
        self.guidanceSpin = self._spin(
            "guidanceSpin", "Guidance", "How strongly the chosen category (with Any, the one "
            "each seed draws) steers the picture: 1 plain, higher more typical of the category, "
            "0 ignores it.", 0.0, 8.0, 0.25,
            decimals=2)
        self.noiseSpin.setValue(NOISE_DEFAULT)
        self.guidanceSpin.setValue(GUIDANCE_DEFAULT)
        for spin in (self.noiseSpin, self.guidanceSpin):
            spin.valueChanged.connect(lambda _v: self.image_sampling_changed.emit())
        self._form = form
        self._rows = {"temperature": self.temperatureSpin, "top_k": self.topKSpin,
                      "top_p": self.topPSpin, "min_p": self.minPSpin,
                      "noise": self.noiseSpin, "guidance": self.guidanceSpin}
        labels = {"temperature": "Temperature", "top_k": "Top-k", "top_p": "Top-p",
                  "min_p": "Min-p", "noise": "Noise", "guidance": "Guidance"}
        for key, spin in self._rows.items():
            form.addRow(labels[key], spin)
        outer.addLayout(form)
        outer.addStretch(1)
        self._fields: tuple[str, ...] = ()
        self.show_fields(TEXT_FIELDS)

    def show_fields(self, fields) -> None:
        """Show the seed plus ``fields`` (names from :data:`ALL_FIELDS`); hide the rest."""
        wanted = tuple(f for f in ALL_FIELDS if f in set(fields or TEXT_FIELDS))
        self._fields = wanted
        for button in self.preset_buttons.values():
            button.setVisible("presets" in wanted)
        for key, spin in self._rows.items():
            self._form.setRowVisible(spin, key in wanted)

    def shown_fields(self) -> tuple[str, ...]:
        return self._fields

    def noise(self) -> float:
        """The image prior's noise temperature (image rooms)."""
        return round(float(self.noiseSpin.value()), 4)

    def guidance(self) -> float:
        """Classifier-free guidance strength (image rooms)."""
        return round(float(self.guidanceSpin.value()), 4)

    # -- values ----------------------------------------------------------------------------

    def settings(self) -> SamplerSettings:
        """The sampler settings shown, including the seed the next generation uses."""
        return self._base.replace(
            temperature=round(self.temperatureSpin.value(), 4),
            top_k=int(self.topKSpin.value()), top_p=round(self.topPSpin.value(), 4),
            min_p=round(self.minPSpin.value(), 4), seed=int(self.seedSpin.value()))

    def set_settings(self, settings: SamplerSettings, *, include_seed: bool = False) -> None:
        """Show ``settings``' values (its seed too when ``include_seed``)."""
        self._base = settings
        pairs = [(self.temperatureSpin, settings.temperature), (self.topKSpin, settings.top_k),
                 (self.topPSpin, settings.top_p), (self.minPSpin, settings.min_p)]
        if include_seed and settings.seed is not None:
            pairs.append((self.seedSpin, settings.seed))
        for spin, value in pairs:
            with QSignalBlocker(spin):
                spin.setValue(value)
        self.changed.emit()

    def apply_preset(self, name: str) -> None:
        """Set temperature / top-k / top-p / min-p (and any other fields) from a preset."""
        settings = preset(name)
        self._preset_name = next((k for k in PRESET_NAMES if k.lower() == name.lower()), name)
        self.set_settings(settings)

    def is_locked(self) -> bool:
        return self.lockButton.isChecked()

    def set_locked(self, locked: bool) -> None:
        self.lockButton.setChecked(locked)

    def new_seed(self) -> int:
        return self._rng.randint(0, SEED_MAX)

    def seed_for_next_generation(self) -> int:
        """The seed in the box: the one the generation about to start must use."""
        self.seedSpin.interpretText()
        return int(self.seedSpin.value())

    def generation_finished(self, seed_used: int) -> None:
        """Record the seed a finished generation used; roll a new one unless locked."""
        self._last_seed = int(seed_used)
        self.lastSeedLabel.setText(f"last seed: {seed_used}")
        if not self.is_locked():
            self.seedSpin.setValue(self.new_seed())

    def last_seed(self) -> int | None:
        return self._last_seed

    # -- persistence (plain dicts; the main window stores them) ----------------------------

    def to_dict(self) -> dict:
        s = self.settings()
        return {"seed": s.seed, "temperature": s.temperature, "top_k": s.top_k,
                "top_p": s.top_p, "min_p": s.min_p, "lock": self.is_locked(),
                "preset": self._preset_name, "noise": self.noise(), "guidance": self.guidance()}

    def load_dict(self, values: dict) -> None:
        """Restore values saved by :meth:`to_dict`; out-of-range values are clamped by the boxes."""
        if values.get("preset") in PRESET_NAMES:
            self._preset_name = values["preset"]
            self._base = preset(self._preset_name)
        spins = {"seed": self.seedSpin, "temperature": self.temperatureSpin,
                 "top_k": self.topKSpin, "top_p": self.topPSpin, "min_p": self.minPSpin,
                 "noise": self.noiseSpin, "guidance": self.guidanceSpin}
        for key, spin in spins.items():
            if key in values:
                with QSignalBlocker(spin):
                    spin.setValue(values[key])
        if "lock" in values:
            self.set_locked(bool(values["lock"]))
        self.changed.emit()

    # -- handlers --------------------------------------------------------------------------

    def _on_value_changed(self, _value) -> None:
        self.changed.emit()

    def _on_dice_clicked(self) -> None:
        self.seedSpin.setValue(self.new_seed())

    def _on_lock_toggled(self, locked: bool) -> None:
        self.lockButton.setIcon(_icon("lock" if locked else "unlock"))
        self.lockButton.setToolTip("Seed locked: every generation uses this seed" if locked
                                   else "Seed unlocked: a new random seed after each generation")
        self.changed.emit()
