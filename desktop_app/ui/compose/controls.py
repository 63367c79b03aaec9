"""The Compose room's settings: key and mode, meter, tempo, bars, instrument, variations, steps.

Lives on the GUI thread. Names for automation: ``keyCombo`` (tonic), ``modeCombo``,
``meterCombo``, ``tempoSpin``, ``barsSpin`` (1-32), ``instrumentCombo`` (General MIDI 0-127),
``variationsSpin`` (1-8), ``stepsSpin`` (interpolation, 1-16), ``transposeSpin`` (±12),
``hardMaskCheck`` (only notes in the key).
"""

from __future__ import annotations

from PySide6.QtCore import QSignalBlocker, Signal
from PySide6.QtWidgets import (QCheckBox, QComboBox, QFormLayout, QHBoxLayout, QSpinBox,
                               QWidget)

from desktop_app.core.gm_programs import GM_PROGRAMS
from desktop_app.core.melody import METERS, MODES, Key, Melody, Meter

TONICS = ("C", "C#", "Db", "D", "Eb", "E", "F", "F#", "Gb", "G", "Ab", "A", "Bb", "B")
#: The meters the melody models know, the most common first in the menu.
METER_CHOICES = ("4/4", "3/4") + tuple(m for m in METERS if m not in ("4/4", "3/4"))


class ComposeControls(QWidget):
    """Form of the room's musical settings (GUI thread)."""

    #: The key, mode, meter or tempo changed by the user (the melody should follow).
    melody_settings_changed = Signal()
    #: Anything changed (for autosave).
    changed = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        form = QFormLayout(self)
        form.setContentsMargins(0, 0, 0, 0)
        form.setVerticalSpacing(6)
        self.keyCombo = self._combo("keyCombo", "Key (tonic)", TONICS, "The tonic of the key")
        self.modeCombo = self._combo("modeCombo", "Mode", MODES, "Major, minor or a church mode")
        self.meterCombo = self._combo("meterCombo", "Meter", METER_CHOICES, "Time signature")
        self.tempoSpin = self._spin("tempoSpin", "Tempo", 20, 400, 120,
                                    "Tempo in quarter notes per minute")
        self.tempoSpin.setSuffix(" q/min")
        self.barsSpin = self._spin("barsSpin", "Bars", 1, 32, 16,
                                   "Length of each new melody (Continue: bars to add)")
        self.instrumentCombo = self._combo(
            "instrumentCombo", "Instrument",
            [f"{i}  {name}" for i, name in enumerate(GM_PROGRAMS)],
            "General MIDI instrument written into the MIDI file (and the preview's colour)")
        self.variationsSpin = self._spin("variationsSpin", "Variations", 1, 8, 4,
                                         "How many melodies Generate makes")
        self.stepsSpin = self._spin("stepsSpin", "Interpolation steps", 1, 16, 5,
                                    "Melodies from A to B, both ends included")
        self.transposeSpin = self._spin("transposeSpin", "Transpose", -12, 12, 0,
                                        "Semitones to move the melody by")
        self.hardMaskCheck = QCheckBox("Only notes in the key", self)
        self.hardMaskCheck.setObjectName("hardMaskCheck")
        self.hardMaskCheck.setAccessibleName("Only notes in the key")
        self.hardMaskCheck.setToolTip("Forbid notes outside the key and mode (otherwise the "
                                      "model may use a few, as folk tunes do)")
        self.hardMaskCheck.toggled.connect(lambda _on: self.changed.emit())
        for combo in (self.keyCombo, self.modeCombo, self.meterCombo):
            combo.currentIndexChanged.connect(self._on_melody_setting_changed)
        self.tempoSpin.valueChanged.connect(self._on_melody_setting_changed)
        for w in (self.barsSpin, self.variationsSpin, self.stepsSpin):
            w.valueChanged.connect(lambda _v: self.changed.emit())
        self.instrumentCombo.currentIndexChanged.connect(lambda _i: self.changed.emit())
        key_row = QWidget(self)
        row = QHBoxLayout(key_row)
        row.setContentsMargins(0, 0, 0, 0)
        row.addWidget(self.keyCombo)
        row.addWidget(self.modeCombo, 1)
        form.addRow("Key", key_row)
        for label, w in (("Meter", self.meterCombo), ("Tempo", self.tempoSpin),
                         ("Bars", self.barsSpin), ("Instrument", self.instrumentCombo),
                         ("Variations", self.variationsSpin)):
            form.addRow(label, w)
        form.addRow("", self.hardMaskCheck)
        self.instrumentCombo.setMaximumWidth(230)

    def _combo(self, name: str, label: str, items, tip: str) -> QComboBox:
        combo = QComboBox(self)
        combo.addItems(list(items))
        combo.setObjectName(name)
        combo.setAccessibleName(label)
        combo.setToolTip(tip)
        return combo

    def _spin(self, name: str, label: str, lo: int, hi: int, value: int, tip: str) -> QSpinBox:
        spin = QSpinBox(self)
        spin.setRange(lo, hi)
        spin.setValue(value)
        spin.setObjectName(name)
        spin.setAccessibleName(label)
        spin.setToolTip(tip)
        return spin

    # -- values ----------------------------------------------------------------------------

    def key(self) -> Key:
        return Key.parse(f"{self.keyCombo.currentText()} {self.modeCombo.currentText()}")

    def meter(self) -> Meter:
        return Meter.parse(self.meterCombo.currentText())

    def tempo(self) -> float:
        self.tempoSpin.interpretText()
        return float(self.tempoSpin.value())

    def program(self) -> int:
        return self.instrumentCombo.currentIndex()

    def show_melody(self, melody: Melody) -> None:
        """Show ``melody``'s key, meter and tempo without emitting change signals."""
        tonic = melody.key.tonic_name
        if tonic not in TONICS:
            tonic = Key(melody.key.tonic, melody.key.mode).tonic_name
        meter = str(melody.meter)
        if self.meterCombo.findText(meter) < 0:
            self.meterCombo.addItem(meter)
        for combo, text in ((self.keyCombo, tonic), (self.modeCombo, melody.key.mode),
                            (self.meterCombo, meter)):
            with QSignalBlocker(combo):
                combo.setCurrentIndex(max(0, combo.findText(text)))
        with QSignalBlocker(self.tempoSpin):
            self.tempoSpin.setValue(round(melody.tempo))

    def to_dict(self) -> dict:
        return {"key": self.key().name, "meter": self.meterCombo.currentText(),
                "tempo": self.tempoSpin.value(), "bars": self.barsSpin.value(),
                "program": self.program(), "variations": self.variationsSpin.value(),
                "steps": self.stepsSpin.value(), "hard_mask": self.hardMaskCheck.isChecked()}

    def load_dict(self, values: dict) -> None:
        """Restore :meth:`to_dict` values; unknown or bad ones are ignored."""
        try:
            key = Key.parse(str(values.get("key", "C major")))
            meter = Meter.parse(str(values.get("meter", "4/4")))
            tempo = float(values.get("tempo", 120))
            self.show_melody(Melody(key=key, meter=meter, tempo=min(max(tempo, 20), 400)))
        except Exception:  # noqa: BLE001 - a damaged snapshot keeps the defaults
            pass
        for spin, name in ((self.barsSpin, "bars"), (self.variationsSpin, "variations"),
                           (self.stepsSpin, "steps")):
            if isinstance(values.get(name), int):
                spin.setValue(values[name])
        self.hardMaskCheck.setChecked(bool(values.get("hard_mask", False)))
        if isinstance(values.get("program"), int) and 0 <= values["program"] <= 127:
            self.instrumentCombo.setCurrentIndex(values["program"])

    def _on_melody_setting_changed(self, *_args) -> None:
        self.melody_settings_changed.emit()
        self.changed.emit()
