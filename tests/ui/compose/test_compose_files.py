"""Compose files: .mid export read by an independent reader, .wav, bad imports, read-only
folders, drop-in, drag-out and the autosaved session."""

from __future__ import annotations

import errno
import os
import wave

import mido
import pretty_midi
import pytest
from PySide6.QtCore import QMimeData, QPointF, Qt, QUrl
from PySide6.QtGui import QDropEvent

from compose_melodies import scale_melody
from desktop_app.core import synth
from desktop_app.core.melody import Note
from desktop_app.core.midi import read_midi, write_midi
from desktop_app.ui.compose.drag_out import melody_mime_data


@pytest.mark.parametrize("key, meter, tempo, sig", [("D major", "3/4", 96.0, 2),
                                                     ("A minor", "6/8", 132.0, 12 + 9),
                                                     ("D dorian", "4/4", 75.0, 0)])
def test_exported_midi_is_read_the_same_by_pretty_midi(panel, tmp_path, key, meter, tempo, sig):
    mel = scale_melody(key, meter, tempo)
    panel.pianoRoll.set_melody(mel)
    panel.controls.instrumentCombo.setCurrentIndex(73)  # flute
    assert panel.export_midi(tmp_path / "out.mid"), panel.message()
    pm = pretty_midi.PrettyMIDI(str(tmp_path / "out.mid"))
    spq = 60.0 / tempo
    (inst,) = pm.instruments
    assert inst.program == 73 and not inst.is_drum
    got = [(n.pitch, round(n.start / spq, 3), round((n.end - n.start) / spq, 3), n.velocity)
           for n in inst.notes]
    assert got == [(n.pitch, n.start, n.duration, n.velocity) for n in mel.notes]
    times, tempi = pm.get_tempo_changes()
    assert list(times) == [0.0] and abs(tempi[0] - tempo) < 1e-3  # microseconds per quarter, rounded
    (ts,) = pm.time_signature_changes
    assert f"{ts.numerator}/{ts.denominator}" == meter
    (ks,) = pm.key_signature_changes
    assert ks.key_number == sig  # modes are written as their relative major


def test_export_into_a_read_only_folder_says_so_and_keeps_the_melody(panel, tmp_path,
                                                                    monkeypatch):
    mel = scale_melody()
    panel.pianoRoll.set_melody(mel)

    def refuse(src, dst):
        raise PermissionError(errno.EACCES, "Permission denied", str(dst))
    monkeypatch.setattr(os, "replace", refuse)  # what a read-only folder does (tests run as root)
    assert not panel.export_midi(tmp_path / "x.mid")
    assert "read-only" in panel.message() and "unchanged" in panel.message()
    assert not panel.export_wav(tmp_path / "x.wav")
    assert list(tmp_path.iterdir()) == []  # no half-written or temporary file
    assert panel.pianoRoll.melody() == mel


def test_export_with_an_empty_roll_says_so(panel, tmp_path):
    assert not panel.export_midi(tmp_path / "x.mid")
    assert "no melody to export" in panel.message()


def test_wav_export_renders_the_melody(panel, tmp_path):
    mel = scale_melody(tempo=120.0)
    panel.pianoRoll.set_melody(mel)
    panel.metronomeCheck.setChecked(True)
    assert panel.export_wav(tmp_path / "m.wav")
    with wave.open(str(tmp_path / "m.wav")) as w:
        assert w.getnframes() == synth.buffer_length(mel)


def _drum_only(path):
    mid = mido.MidiFile(type=1)
    track = mido.MidiTrack([mido.Message("note_on", channel=9, note=36, velocity=100),
                            mido.Message("note_off", channel=9, note=36, time=240)])
    mid.tracks.append(track)
    mid.save(str(path))


@pytest.mark.parametrize("make, expected", [
    (lambda p: p.write_bytes(b"MThd\x00\x00\x00\x06garbage"), "Could not import"),
    (lambda p: p.write_bytes(b"not midi at all"), "not a MIDI file"),
    (_drum_only, "only drum notes"),
    # issue 20 item 1: one note of 2**28 ticks (48 bytes) would be a 134-million-bar melody
    (lambda p: p.write_bytes(bytes.fromhex(
        "4d546864000000060000000100014d54726b0000001a00903c40ffffff7f803c40ffffff7f903e4001"
        "803e4000ff2f00")), "quarter notes"),
])
def test_bad_midi_imports_say_why_and_keep_the_melody(panel, tmp_path, make, expected):
    mel = scale_melody()
    panel.pianoRoll.set_melody(mel)
    path = tmp_path / "bad.mid"
    make(path)
    assert not panel.import_midi(path)
    assert expected in panel.message() and "unchanged" in panel.message()
    assert panel.pianoRoll.melody() == mel


def test_a_midi_file_with_tempo_0_imports_at_the_default_tempo(panel, tmp_path):
    """Issue 20 item 8: set_tempo 0 divided by zero in the import (69 bytes: set_tempo 0, then
    four quarter notes C D E F#; made by tests/hostile/hostile_inputs.py ``midi``)."""
    (tmp_path / "t0.mid").write_bytes(bytes.fromhex(
        "4d546864000000060000000101e04d54726b0000002f00ff510300000000903c508360803c0000903e50"
        "8360803e0000904050836080400000904250836080420000ff2f00"))
    assert panel.import_midi(tmp_path / "t0.mid")
    melody = panel.pianoRoll.melody()
    assert [n.pitch for n in melody.notes] == [60, 62, 64, 66] and melody.tempo == 120.0


def test_dropping_a_midi_file_imports_it_undoably(panel, tmp_path):
    mine = scale_melody("C major")
    panel.pianoRoll.set_melody(mine)
    other = scale_melody("D major", "3/4", 100.0).transpose(-12)
    write_midi(other, tmp_path / "primer.mid")
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(tmp_path / "primer.mid"))])
    event = QDropEvent(QPointF(10, 10), Qt.DropAction.CopyAction, mime,
                       Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier)
    panel.dropEvent(event)
    got = panel.pianoRoll.melody()
    assert [(n.pitch, n.start) for n in got.notes] == [(n.pitch, n.start) for n in other.notes]
    assert panel.controls.meterCombo.currentText() == "3/4"
    assert panel.controls.tempoSpin.value() == 100
    panel.pianoRoll.undo()
    assert panel.pianoRoll.melody() == mine


def test_drag_out_carries_a_file_url_to_the_melody(panel):
    mel = scale_melody("D major")
    panel.pianoRoll.set_melody(mel)
    drag = panel.dragOutHandle.make_drag()
    mime = drag.mimeData()
    assert mime.hasUrls()
    (url,) = mime.urls()
    assert url.isLocalFile() and url.toLocalFile().endswith(".mid")
    back = read_midi(url.toLocalFile())
    assert [(n.pitch, n.start, n.duration) for n in back.notes] == \
        [(n.pitch, n.start, n.duration) for n in mel.notes]


def test_drag_out_with_nothing_says_so(panel, tmp_path):
    assert panel.dragOutHandle.make_drag() is None
    assert "no melody to drag" in panel.message()
    mime = melody_mime_data(scale_melody(), folder=tmp_path)
    assert mime.urls()[0].toLocalFile().startswith(str(tmp_path))


def test_transpose_and_key_change_are_undoable(panel):
    mel = scale_melody("C major")
    panel.pianoRoll.set_melody(mel)
    panel.controls.transposeSpin.setValue(-12)
    panel.transposeButton.click()
    assert panel.pianoRoll.melody().pitches == [p - 12 for p in mel.pitches]
    panel.transpose(12)
    panel.transpose(12)
    assert panel.pianoRoll.melody().pitches == [p + 12 for p in mel.pitches]
    panel.controls.modeCombo.setCurrentText("dorian")
    assert panel.pianoRoll.melody().key.name == "C dorian"
    panel.pianoRoll.undo()
    assert panel.pianoRoll.melody().key.name == "C major"
    assert panel.controls.modeCombo.currentText() == "major"  # the controls follow undo
    for _ in range(3):
        panel.pianoRoll.undo()
    assert panel.pianoRoll.melody() == mel


def test_session_is_autosaved_and_restored(make_panel):
    first = make_panel()
    first.randomness.seedSpin.setValue(77)
    first.controls.variationsSpin.setValue(2)
    first.controls.barsSpin.setValue(2)
    first.generateButton.click()
    first.pianoRoll.edit(first.pianoRoll.melody().notes + (Note(start=0.0, pitch=30,
                                                                duration=0.5),), "Add")
    first.loopCheck.setChecked(True)
    first.controls.instrumentCombo.setCurrentIndex(40)
    first.autosave.save_now()
    second = make_panel()
    assert second.pianoRoll.melody() == first.pianoRoll.melody()
    assert second.variationsList.melodies() == first.variationsList.melodies()
    assert second.loopCheck.isChecked() and second.controls.program() == 40
    assert second.controls.barsSpin.value() == 2


def test_damaged_autosave_is_reported_not_fatal(make_panel):
    from desktop_app.core.autosave import AutosaveStore
    AutosaveStore("compose").save({"melody": {"notes": [["x"]]}})
    panel = make_panel()
    assert "could not be restored" in panel.message()
    assert panel.pianoRoll.melody().notes == ()


def test_tempo_steps_follow_the_melody_and_undo_in_one_step(panel):
    mel = scale_melody(tempo=96.0)
    panel.pianoRoll.set_melody(mel)
    for _ in range(4):
        panel.controls.tempoSpin.stepUp()
    assert panel.pianoRoll.melody().tempo == 100.0
    panel.pianoRoll.undo()
    assert panel.pianoRoll.melody() == mel and panel.controls.tempoSpin.value() == 96
