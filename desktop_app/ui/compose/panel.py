"""The Compose room: generate melodies, hear them, edit them on a piano roll, export MIDI.

Lives on the GUI thread and talks to the engine only through jobs and events:
``GenerateMelodyJob`` (Generate: the variations stream in as ``MelodyReady`` events; the first
one goes straight into the piano roll), ``ContinueMelodyJob`` (Continue the melody in the
roll, which may be an imported .mid primer) and ``InterpolateMelodiesJob`` (A → B through the
phrase VAE). All three share :class:`RoomPanel`'s one running job, Stop and seed contract.
Files and autosave are in :mod:`desktop_app.ui.compose.files`; the layout in
:mod:`desktop_app.ui.compose.layout`.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QApplication

from desktop_app.core import paths
from desktop_app.core.errors import UsageError
from desktop_app.core.events import Cancelled, Event, Failed, Finished, MelodyReady, Started
from desktop_app.core.music import ContinueMelodyJob, GenerateMelodyJob, InterpolateMelodiesJob
from desktop_app.core.melody import describe
from desktop_app.ui.compose.files import FilesMixin
from desktop_app.ui.compose.layout import build_layout
from desktop_app.ui.compose.midi_out import MidiOutPlayer
from desktop_app.ui.compose.model_choice import ModelChoiceMixin
from desktop_app.ui.autosave import AutosaveController, Policy
from desktop_app.ui.compose.piano_roll import SETTINGS_EDIT
from desktop_app.ui.room_base import RoomPanel

AUTOSAVE_DELAY_MS = 1500
MELODY_MODEL, PHRASE_MODEL = paths.MELODY_MODEL, paths.PHRASE_MODEL


def _find_model(name: str) -> str | None:
    try:
        return str(paths.resolve_model_dir(name, "music"))
    except UsageError:
        return None


class ComposePanel(FilesMixin, ModelChoiceMixin, RoomPanel):
    """The Compose room (objectName ``composePanel``)."""

    room_id = "compose"
    title = "Compose"
    tagline = "Generate melodies, listen to them, edit them and export MIDI."
    model_kind = "music"
    generates = True
    available = True

    def __init__(self, engine, randomness, parent=None, *, model_dir: str | None = None,
                 vae_dir: str | None = None, player=None,
                 restore: bool = True) -> None:
        super().__init__(engine, randomness, parent)
        self._auto_models = (model_dir is None, vae_dir is None)
        self.model_dir = model_dir   # set from the scan (the picker's choice) when None
        self.vae_dir = vae_dir or _find_model(PHRASE_MODEL)
        self._player = None  # the AudioPlayer; QtMultimedia loads when the room is first shown
        self.midi_player = MidiOutPlayer(self)
        self._mode = "generate"
        self._job_base_seed: int | None = None
        self._captions: list[str] = []
        self._a = self._b = None
        self._last_dir = str(Path.home())
        self._audition = False
        build_layout(self)
        # The room's state is its work (never asked about on close): every quit keeps it and
        # it comes back as it was, without a question.
        self.autosave = AutosaveController(
            self, "compose", snapshot=self.state, apply=self.apply_state,
            report=lambda text: self.show_message(text), policy=Policy.KEEP,
            delay_ms=AUTOSAVE_DELAY_MS)
        self._connect()
        self._check_models()
        self._shown_once = False
        if player is not None:
            self._attach_player(player)
        if restore:
            self.autosave.offer_restore()
        self._on_melody_changed(self.pianoRoll.melody())
        app = QApplication.instance()
        if app is not None:
            app.aboutToQuit.connect(self._on_app_about_to_quit)

    def _connect(self) -> None:
        r = self.pianoRoll
        r.melody_changed.connect(self._on_melody_changed)
        r.message.connect(self.show_message)
        r.play_toggled.connect(self.toggle_play)
        r.undo_stack.canUndoChanged.connect(self.undoButton.setEnabled)
        r.undo_stack.canRedoChanged.connect(self.redoButton.setEnabled)
        self.undoButton.clicked.connect(r.undo)
        self.redoButton.clicked.connect(r.redo)
        self.controls.melody_settings_changed.connect(self._on_melody_settings_changed)
        self.controls.barsSpin.valueChanged.connect(r.set_min_bars)
        self.controls.changed.connect(self.schedule_autosave)
        self.variationsList.chosen.connect(self.choose_variation)
        self.variationsList.audition_requested.connect(self.audition)
        self.continueButton.clicked.connect(self.continue_melody)
        self.interpolateButton.clicked.connect(self.interpolate)
        self.setAButton.clicked.connect(lambda: self.set_endpoint("a"))
        self.setBButton.clicked.connect(lambda: self.set_endpoint("b"))
        self.transposeButton.clicked.connect(
            lambda: self.transpose(self.controls.transposeSpin.value()))
        self.playButton.clicked.connect(self.toggle_play)
        self.loopCheck.toggled.connect(lambda on: self._player and self._player.set_loop(on))
        self.loopCheck.toggled.connect(lambda _on: self.schedule_autosave())
        self.metronomeCheck.toggled.connect(lambda _on: self.schedule_autosave())
        self.midi_player.error.connect(self.show_message)
        self.midi_player.playing_changed.connect(self._on_player_playing_changed)
        self.outputCombo.currentIndexChanged.connect(lambda _i: self._refresh_audio())
        self.importButton.clicked.connect(self.choose_import)
        self.exportMidiButton.clicked.connect(self.export)
        self.exportWavButton.clicked.connect(lambda: self._export_dialog(".wav"))
        self.dragOutHandle.message.connect(self.show_message)
        self.running_changed.connect(lambda _running: self._update_run_buttons())
        self.modelPicker.activated.connect(self._on_model_picker_activated)

    # -- audio (built when the room is first shown: QtMultimedia costs start-up time) -------

    @property
    def player(self):
        if self._player is None:
            from desktop_app.ui.widgets.audio_player import AudioPlayer
            self._attach_player(AudioPlayer(self))
        return self._player

    def _attach_player(self, player) -> None:
        self._player = player
        player.set_loop(self.loopCheck.isChecked())
        player.position_changed.connect(self._on_player_position_changed)
        player.playing_changed.connect(self._on_player_playing_changed)
        player.error.connect(self.show_message)
        player.outputs_changed.connect(self._refresh_audio)
        self._refresh_audio()

    def showEvent(self, event) -> None:  # noqa: N802 - Qt override
        super().showEvent(event)
        if not self._shown_once:
            self._shown_once = True
            QTimer.singleShot(0, self._on_first_shown)

    def _on_app_about_to_quit(self) -> None:
        if self._player is not None:
            self._player.stop()
        self.midi_player.stop()

    def _on_first_shown(self) -> None:
        from desktop_app.ui.compose import midi_out
        names = midi_out.output_names()
        self.outputCombo.addItems([f"MIDI: {name}" for name in names])
        self.outputCombo.setVisible(bool(names))
        self._refresh_audio()

    # -- messages and models ---------------------------------------------------------------

    def show_message(self, text: str, error: bool = True) -> None:
        self.messageLabel.setText(text)
        self.messageLabel.setProperty("error", error)
        self.messageLabel.setStyleSheet("color: #d9534f;" if error else "")
        self.messageLabel.setVisible(bool(text))

    def message(self) -> str:
        return "" if self.messageLabel.isHidden() else self.messageLabel.text()

    def set_model_message(self, message: str) -> None:
        """The main window's scan result; the room adds what it finds missing itself."""
        models = self.melody_models()   # one scan (a room built alone scans the folders)
        if self._auto_models[0]:
            self.model_dir = self._resolve_melody_model(models)
        if self._auto_models[1]:
            self.vae_dir = _find_model(PHRASE_MODEL)
        if not message and self.model_dir is None:
            message = (f"The melody model is not installed (models/music/{MELODY_MODEL}), so "
                       f"Generate and Continue are off. You can still import, edit, play and "
                       f"export melodies.")
        super().set_model_message(message)
        self.fill_model_picker(models)
        self._update_run_buttons()

    def model_in_use(self) -> str | None:
        return self.model_dir

    def open_from_map(self, kind: str, payload: dict) -> None:
        """A phrase from the map goes into the piano roll (one undo step); a melody model (the
        Train room's "Compose with it") becomes the one Generate uses."""
        if payload.get("melody") is not None:
            self.pianoRoll.set_melody(payload["melody"], "Open phrase from the map")
        elif payload.get("model") and not self.open_model(str(payload["model"])):
            self.show_message(f"{Path(str(payload['model'])).name} is not a melody model this "
                              f"room can use.")

    def _check_models(self) -> None:
        self.set_model_message("")
        self.interpolateButton.setToolTip(
            "Morph A into B through the phrase model; the steps appear in the variations list"
            if self.vae_dir else f"The phrase model (models/music/{PHRASE_MODEL}) is not "
            f"installed")

    def _midi_port(self) -> str | None:
        text = self.outputCombo.currentText()
        return text.removeprefix("MIDI: ") if self.outputCombo.currentIndex() > 0 else None

    def _refresh_audio(self) -> None:
        from desktop_app.ui.widgets.audio_player import NO_OUTPUT
        ok = self.player.output_available() or self._midi_port() is not None
        self.audioMessage.setText("" if ok else NO_OUTPUT)
        self.audioMessage.setVisible(not ok)
        self.playButton.setEnabled(ok or self.player.is_playing())
        self.playButton.setToolTip("Play / Stop the preview" if ok else NO_OUTPUT)

    # -- jobs ------------------------------------------------------------------------------

    def build_job(self, sampler, seed: int):
        if self.model_dir is None:
            self.show_message(self.model_message())
            return None
        c = self.controls
        self._mode, self._job_base_seed = "generate", seed
        return GenerateMelodyJob(model_dir=self.model_dir, key=c.key().name, meter=str(c.meter()),
                                 bars=c.barsSpin.value(), tempo=c.tempo(),
                                 variants=c.variationsSpin.value(), seed=seed,
                                 sampler=replace(sampler, seed=seed),
                                 hard_mask=c.hardMaskCheck.isChecked())

    def _submit(self, job, seed: int | None) -> None:
        """Run ``job`` as this room's one job (Stop, the seed contract: RoomPanel.run)."""
        self._clear_results()
        self.run(job, seed)

    def continue_melody(self) -> None:
        melody = self.pianoRoll.melody()
        if self.is_running() or self.model_dir is None:
            return
        if not melody.notes:
            self.show_message("There is nothing to continue: generate a melody, import a .mid "
                              "primer or add notes first.")
            return
        seed = self.randomness.seed_for_next_generation()
        sampler = self.randomness.settings()
        self._mode, self._job_base_seed = "continue", seed
        self._submit(ContinueMelodyJob(
            model_dir=self.model_dir, primer=melody, bars=self.controls.barsSpin.value(),
            variants=self.controls.variationsSpin.value(), seed=seed,
            sampler=replace(sampler, seed=seed),
            hard_mask=self.controls.hardMaskCheck.isChecked()), seed)

    def set_endpoint(self, which: str) -> None:
        melody = self.pianoRoll.melody()
        if not melody.notes:
            self.show_message("The piano roll is empty: put a melody in it first.")
            return
        setattr(self, f"_{which}", melody)
        label = self.aLabel if which == "a" else self.bLabel
        label.setText(f"{which.upper()}: {melody.n_bars} bars, {len(melody.notes)} notes")
        label.setToolTip(describe(melody))

    def interpolate(self) -> None:
        if self.is_running() or self.vae_dir is None:
            return
        a = self._a or self.pianoRoll.melody()
        if not a.notes or self._b is None or not self._b.notes:
            self.show_message("Set melody A and melody B first: put each in the piano roll "
                              "and press “Set A” / “Set B”.")
            return
        self._mode, self._job_base_seed = "interpolate", None
        self._submit(InterpolateMelodiesJob(model_dir=self.vae_dir, a=a, b=self._b,
                                            steps=self.controls.stepsSpin.value(),
                                            hard_mask=self.controls.hardMaskCheck.isChecked()),
                     None)

    def on_job_event(self, event: Event) -> None:
        if isinstance(event, Started):
            self._clear_results()
        elif isinstance(event, MelodyReady):
            self._on_melody_ready(event.index, event.melody)
        elif isinstance(event, Finished):
            notice = getattr(event.result, "notice", "")
            if notice:
                self.show_message(f"Note: {notice}", error=False)
            self.schedule_autosave()  # debounced: no disk flush while the user listens
        elif isinstance(event, Failed):
            self.show_message(f"{event.message}. The melody you were editing is unchanged.")
        elif isinstance(event, Cancelled):
            kept = len(self.variationsList.melodies())
            self.show_message(f"Stopped; {kept} result(s) kept.", error=False)

    def _clear_results(self) -> None:
        if not self.variationsList.melodies() and not self.message():
            return
        self.variationsList.clear()
        self._captions = []
        self.show_message("")

    def generate(self):
        """Generate (Ctrl+Enter): clears the list at once, then RoomPanel's seed flow."""
        if not self.is_running() and self.model_dir is not None:
            self._clear_results()
        return super().generate()

    def _on_melody_ready(self, index: int, melody) -> None:
        if self._mode == "interpolate":
            steps = self.controls.stepsSpin.value()
            caption = "A" if index == 0 else "B" if index == steps - 1 and steps > 1 else \
                f"Step {index + 1}/{steps}"
        else:
            caption = f"{index + 1} · seed {self._job_base_seed + index}"
        self._captions.append(caption)
        self.variationsList.add_melody(melody, caption)
        if index == 0 and self._mode != "interpolate":
            self.variationsList.setCurrentRow(0)
            self.pianoRoll.set_melody(melody, "Generate" if self._mode == "generate"
                                      else "Continue")
            self.pianoRoll.centre_on_melody()

    def choose_variation(self, index: int) -> None:
        melody = self.variationsList.melody(index)
        self.variationsList.setCurrentRow(index)
        caption = self._captions[index] if index < len(self._captions) else str(index + 1)
        self.pianoRoll.set_melody(melody, f"Use {caption}")
        self.pianoRoll.centre_on_melody()

    # -- editing ---------------------------------------------------------------------------

    def transpose(self, semitones: int) -> None:
        melody = self.pianoRoll.melody()
        if semitones == 0 or not melody.notes:
            return
        try:
            moved = melody.transpose(semitones)
        except ValueError:
            self.show_message(f"Transposing by {semitones:+d} would move notes outside the "
                              f"MIDI range.")
            return
        self.pianoRoll.set_melody(moved, f"Transpose {semitones:+d}")

    def _on_melody_settings_changed(self) -> None:
        c, melody = self.controls, self.pianoRoll.melody()
        changed = replace(melody, key=c.key(), meter=c.meter(), tempo=c.tempo())
        if changed != melody:
            self.pianoRoll.set_melody(changed, SETTINGS_EDIT)

    def _on_melody_changed(self, melody) -> None:
        if self._player is not None and self._player.is_playing() and not self._audition:
            # Hear the edit at once: carry on from where the playhead is, with the new notes.
            if melody.notes:
                self.play(melody, start_quarters=self.pianoRoll.playhead() or 0.0)
            else:
                self._player.stop()
        self.controls.show_melody(melody)
        self.melodyLabel.setText(describe(melody) if melody.notes else
                                 "Empty — press Generate, import a .mid, or click to add notes")
        self.schedule_autosave()

    # -- playback --------------------------------------------------------------------------

    def toggle_play(self) -> None:
        if self.player.is_playing() or self.midi_player.is_playing():
            self.player.stop()
            self.midi_player.stop()
            return
        self.play(self.pianoRoll.melody())

    def play(self, melody, audition: bool = False, start_quarters: float = 0.0) -> bool:
        if not melody.notes:
            self.show_message("There is nothing to play yet.")
            return False
        self._audition = audition
        if self._midi_port() is not None:
            return self.midi_player.play(melody, self._midi_port(),
                                         program=self.controls.program())
        return self.player.play(melody, program=self.controls.program(),
                                metronome=self.metronomeCheck.isChecked(),
                                loop=self.loopCheck.isChecked(),
                                start_quarters=start_quarters)

    def audition(self, index: int) -> None:
        self.play(self.variationsList.melody(index), audition=True)

    def _on_player_position_changed(self, quarters) -> None:
        self.pianoRoll.set_playhead(None if self._audition else quarters)

    def _on_player_playing_changed(self, playing: bool) -> None:
        self.playButton.setText("■  Stop" if playing else "▶  Play")
        self.playButton.setAccessibleName("Stop the preview" if playing else "Play the preview")
        if not playing:
            self._refresh_audio()

    def _update_run_buttons(self) -> None:
        running = self.is_running()
        self.generateButton.setEnabled(not running and self.model_dir is not None)
        self.continueButton.setEnabled(not running and self.model_dir is not None)
        self.interpolateButton.setEnabled(not running and self.vae_dir is not None)
