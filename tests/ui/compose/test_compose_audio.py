"""Audio preview: no output → the room says so and still exports; playback feeds the synth's
PCM, moves the playhead, loops, and stops cleanly when the device disappears (fake sink)."""

from __future__ import annotations

from PySide6.QtMultimedia import QAudio

from compose_melodies import scale_melody
from desktop_app.core import synth
from desktop_app.ui.widgets.audio_player import NO_OUTPUT, AudioPlayer


def test_without_an_audio_output_the_room_says_so_and_still_exports(make_panel, tmp_path):
    player = AudioPlayer(default_device=lambda: None)
    panel = make_panel(player=player)
    assert not panel.playButton.isEnabled()
    assert panel.audioMessage.text() == NO_OUTPUT and not panel.audioMessage.isHidden()
    panel.pianoRoll.set_melody(scale_melody())
    assert not panel.play(panel.pianoRoll.melody())
    assert "No audio output" in panel.message()
    assert panel.export_midi(tmp_path / "still.mid") and panel.export_wav(tmp_path / "still.wav")


def test_play_feeds_the_synth_buffer_and_moves_the_playhead(make_panel, fake_audio):
    panel = make_panel(player=fake_audio["player"])
    mel = scale_melody(tempo=120.0)  # 2 bars of 4/4 = 4 s
    panel.pianoRoll.set_melody(mel)
    assert panel.playButton.isEnabled() and panel.audioMessage.isHidden()
    panel.playButton.click()
    (sink,) = fake_audio["sinks"]
    assert panel.player.is_playing() and panel.playButton.text().endswith("Stop")
    assert sink.fmt.sampleRate() == 44_100 and sink.fmt.channelCount() == 1
    assert sink.buffer.size() == 8192  # the first chunk of int16 PCM
    sink.processed_us = 1_500_000       # 1.5 s in at 120 q/min = quarter 3
    panel.player._tick()
    assert abs(panel.pianoRoll.playhead() - 3.0) < 1e-6
    for _ in range(200):                # feed the rest of the buffer
        panel.player._tick()
    assert sink.buffer.size() == 2 * synth.buffer_length(mel)
    sink.processed_us = 10_000_000      # past the end: playback stops by itself
    panel.player._tick()
    assert not panel.player.is_playing() and sink.stopped
    assert panel.pianoRoll.playhead() is None and panel.playButton.text().endswith("Play")


def test_loop_wraps_the_playhead_and_keeps_feeding(make_panel, fake_audio):
    panel = make_panel(player=fake_audio["player"])
    panel.pianoRoll.set_melody(scale_melody(tempo=120.0))
    panel.loopCheck.setChecked(True)
    panel.metronomeCheck.setChecked(True)
    panel.playButton.click()
    sink = fake_audio["sinks"][0]
    body = 2 * synth.buffer_length(panel.pianoRoll.melody(), tail=False)
    for _ in range(body // 8192 + 5):
        panel.player._tick()
    assert sink.buffer.size() > body  # wrapped round
    sink.processed_us = 5_000_000    # 5 s into a 4 s loop: quarter 2
    panel.player._tick()
    assert abs(panel.pianoRoll.playhead() - 2.0) < 1e-6
    panel.playButton.click()          # Stop
    assert not panel.player.is_playing()


def test_device_disappearing_mid_playback_stops_with_a_message(make_panel, fake_audio):
    panel = make_panel(player=fake_audio["player"])
    mel = scale_melody()
    panel.pianoRoll.set_melody(mel)
    panel.playButton.click()
    fake_audio["outputs"].clear()
    panel.player._on_outputs_changed()
    assert not panel.player.is_playing()
    assert "disappeared" in panel.message() and "unchanged" in panel.message()
    assert panel.pianoRoll.melody() == mel
    assert not panel.playButton.isEnabled()  # no output left: Play is off and says why


def test_sink_error_mid_playback_stops_with_a_message(make_panel, fake_audio):
    panel = make_panel(player=fake_audio["player"])
    panel.pianoRoll.set_melody(scale_melody())
    panel.playButton.click()
    sink = fake_audio["sinks"][0]
    sink.err = QAudio.Error.IOError
    sink.stateChanged.emit(QAudio.State.StoppedState)
    assert not panel.player.is_playing()
    assert "failed or was disconnected" in panel.message()


def test_audition_plays_a_variation_without_replacing_the_melody(make_panel, fake_audio):
    panel = make_panel(player=fake_audio["player"])
    panel.randomness.seedSpin.setValue(3)
    panel.controls.variationsSpin.setValue(2)
    panel.controls.barsSpin.setValue(2)
    panel.generateButton.click()
    current = panel.pianoRoll.melody()
    panel.variationsList.audition_requested.emit(1)
    assert panel.player.is_playing()
    panel.player._tick()
    assert panel.pianoRoll.melody() == current
    assert panel.pianoRoll.playhead() is None  # the roll's playhead is for its own melody


class _Port:
    def __init__(self, fail_after: int | None = None) -> None:
        self.sent, self.closed, self.fail_after = [], False, fail_after

    def send(self, msg) -> None:
        if self.fail_after is not None and len(self.sent) >= self.fail_after:
            raise OSError("device unplugged")
        self.sent.append(msg)

    def close(self) -> None:
        self.closed = True


def test_midi_out_sends_notes_on_time_and_offs_before_ons(qtbot):
    from desktop_app.ui.compose.midi_out import MidiOutPlayer
    port = _Port()
    player = MidiOutPlayer(open_port=lambda name: port)
    mel = scale_melody(tempo=120.0)  # one note every 0.5 s, each 0.5 s long
    assert player.play(mel, "Fake synth", program=73)
    assert [m.type for m in port.sent] == ["program_change", "note_on"]
    player.tick(now_s=0.5)
    assert [m.type for m in port.sent[2:]] == ["note_off", "note_on"]  # off first at 0.5 s
    player.tick(now_s=10.0)
    assert sum(m.type == "note_on" for m in port.sent) == 8
    assert not player.is_playing() and port.closed
    assert port.sent[-1].type == "control_change" and port.sent[-1].control == 123


def test_midi_out_port_failure_is_a_message(qtbot):
    from desktop_app.ui.compose.midi_out import MidiOutPlayer
    player = MidiOutPlayer(open_port=lambda name: _Port(fail_after=3))
    errors = []
    player.error.connect(errors.append)
    player.play(scale_melody(tempo=120.0), "Fake synth")
    player.tick(now_s=2.0)
    assert not player.is_playing()
    assert errors and "stopped working" in errors[0]
    bad = MidiOutPlayer(open_port=lambda name: (_ for _ in ()).throw(OSError("no such port")))
    bad.error.connect(errors.append)
    assert not bad.play(scale_melody(), "Gone")
    assert "Could not open" in errors[-1]


def test_editing_while_playing_carries_on_from_the_playhead_with_the_new_notes(make_panel,
                                                                               fake_audio):
    from desktop_app.core.melody import Note
    panel = make_panel(player=fake_audio["player"])
    mel = scale_melody(tempo=120.0)
    panel.pianoRoll.set_melody(mel)
    panel.playButton.click()
    first = fake_audio["sinks"][0]
    first.processed_us = 1_500_000
    panel.player._tick()                                   # playhead at quarter 3
    panel.pianoRoll.edit(mel.notes + (Note(start=3.5, pitch=80, duration=0.5),), "Add")
    assert first.stopped and len(fake_audio["sinks"]) == 2
    second = fake_audio["sinks"][1]
    panel.player._tick()
    assert abs(panel.pianoRoll.playhead() - 3.0) < 1e-3
    # It fed the new buffer from quarter 3 on: 1.5 s of 44.1 kHz int16 were skipped.
    for _ in range(200):
        panel.player._tick()
    assert second.buffer.size() == 2 * (synth.buffer_length(panel.pianoRoll.melody())
                                         - 66_150)
    panel.pianoRoll.edit((), "Delete all")
    assert not panel.player.is_playing()
