"""Issue 20's classes of hostile input, checked in-process (the CLI/start-up replay of the same
classes is tests/hostile/). One test or more per class."""

from __future__ import annotations

import json
import math

import pytest

from desktop_app.core import synth
from desktop_app.core.autosave import AutosaveStore
from desktop_app.core.documents import WritingSession
from desktop_app.core.errors import DataError, ReverieError, UsageError
from desktop_app.core.melody import MAX_QUARTERS, Melody, Note
from desktop_app.core.midi import read_midi
from desktop_app.core.model_registry import describe_model
from desktop_app.core.untrusted import (child_file, float_in, int_in, loads_json, read_json,
                                        slider_amounts)

LONG_NOTE = bytes.fromhex("4d546864000000060000000100014d54726b0000001a00903c40ffffff7f803c40"
                          "ffffff7f903e4001803e4000ff2f00")


# -- bounded JSON -------------------------------------------------------------------------------
def test_deep_json_is_refused_without_recursion():
    with pytest.raises(DataError, match="deeper"):
        loads_json("[" * 100_000 + "]" * 100_000, source="x.json")
    assert loads_json('{"a": "[[[[[[[[[[[[[[[[[[["}', source="x", max_depth=2) == {
        "a": "[[[[[[[[[[[[[[[[[[["}  # brackets inside strings do not count


def test_nan_infinity_and_size_are_refused(tmp_path):
    for text in ('{"a": NaN}', '{"a": Infinity}', '[-Infinity]'):
        with pytest.raises(DataError):
            loads_json(text, source="x")
    big = tmp_path / "big.json"
    big.write_text("[" + "1," * 1000 + "1]")
    with pytest.raises(DataError, match="too large"):
        read_json(big, max_bytes=100)


def test_typed_fields():
    assert int_in(4.0, "n", 1, 8) == 4
    for bad in (True, "4", 9, 0, None, 1.5, math.inf):
        with pytest.raises(DataError):
            int_in(bad, "n", 1, 8)
    for bad in (math.nan, math.inf, 1e308, "1", False):
        with pytest.raises(DataError):
            float_in(bad, "x", -3, 3)
    with pytest.raises(DataError):
        slider_amounts({"smile": 1e308})
    assert slider_amounts({"smile": 1.5}) == {"smile": 1.5}


def test_child_file_stays_inside_the_folder(tmp_path):
    (tmp_path / "m").mkdir()
    assert child_file(tmp_path / "m", "a.safetensors") == tmp_path / "m" / "a.safetensors"
    (tmp_path / "m" / "link.safetensors").symlink_to(tmp_path / "outside")
    for bad in ("../outside.safetensors", "/etc/passwd", "sub/../../x", 5, "link.safetensors"):
        with pytest.raises(DataError):
            child_file(tmp_path / "m", bad)


# -- item 1 / 8: MIDI sizes, tempo 0 ------------------------------------------------------------
def test_a_note_of_two_to_the_28_ticks_is_refused_before_it_becomes_a_melody(tmp_path):
    path = tmp_path / "long.mid"
    path.write_bytes(LONG_NOTE)
    with pytest.raises(DataError, match="quarter notes"):
        read_midi(path)


def test_tempo_zero_reads_with_the_default_tempo(tmp_path):
    import mido
    mid = mido.MidiFile(type=0, ticks_per_beat=480)
    track = mido.MidiTrack([mido.MetaMessage("set_tempo", tempo=0)])
    for i in range(4):
        track += [mido.Message("note_on", note=60 + i, velocity=80, time=0),
                  mido.Message("note_off", note=60 + i, velocity=0, time=480)]
    mid.tracks.append(track)
    mid.save(tmp_path / "t0.mid")
    assert read_midi(tmp_path / "t0.mid").tempo == 120.0


def test_melody_sizes_are_bounded_and_finite():
    with pytest.raises(DataError):
        Melody(notes=(Note(start=MAX_QUARTERS, pitch=60, duration=1.0),))
    with pytest.raises(ValueError):
        Note(start=math.nan, pitch=60, duration=1.0)
    with pytest.raises(ValueError):
        Note(start=0.0, pitch=60, duration=math.inf)


def test_audio_length_is_bounded_before_allocating():
    melody = Melody(notes=(Note(start=2000.0, pitch=60, duration=1.0),), tempo=20.0)
    with pytest.raises(UsageError, match="minutes"):
        synth.render(melody)


def test_a_training_folder_skips_a_bad_file_with_a_note(tmp_path):
    from desktop_app.ml.music.data import midi_folder_tunes
    (tmp_path / "long.mid").write_bytes(LONG_NOTE)
    good = Melody(notes=tuple(Note(start=float(i), pitch=60 + i, duration=1.0)
                              for i in range(8)))
    from desktop_app.core.midi import write_midi
    write_midi(good, tmp_path / "good.mid")
    skipped: list[str] = []
    tunes = midi_folder_tunes(tmp_path, skipped)
    assert len(tunes) == 1 and len(skipped) == 1 and "long.mid" in skipped[0]


# -- item 2 / 12: autosaves and session files ---------------------------------------------------
def _write_state(**kw) -> dict:
    state = {"session": {"format": "reverie-session", "version": 1, "text": "abc",
                         "history": []}, "path": "/x/y.reverie", "modified": True, "cursor": 2}
    state.update(kw)
    return state


@pytest.mark.parametrize("bad", [{"path": 5}, {"cursor": "abc"}, {"cursor": 99},
                                 {"cursor": 1e999}, {"modified": "yes"}, {"session": []}])
def test_a_damaged_autosave_is_set_aside_with_a_message(tmp_path, bad):
    store = AutosaveStore("write", folder=tmp_path)
    store.path.write_text(json.dumps({"pid": 1, "state": _write_state(**bad)}))
    assert store.pending() is None
    assert "could not be restored" in store.problem
    assert not store.path.exists() and store.path.with_name("write.json.corrupt").exists()


def test_a_good_autosave_is_offered(tmp_path):
    store = AutosaveStore("write", folder=tmp_path)
    store.path.write_text(json.dumps({"pid": 1, "state": _write_state()}))
    assert store.pending()["cursor"] == 2 and not store.problem


def test_compose_and_imagine_autosaves_are_checked(tmp_path):
    compose = AutosaveStore("compose", folder=tmp_path)
    compose.path.write_text(json.dumps({"state": {"melody": {
        "notes": [[60, 0.0, 1e300, 90]], "key": "C major", "meter": "4/4", "tempo": 120}}}))
    assert compose.pending() is None and compose.problem
    melody = {"notes": [[60, 0.0, 1.0, 90]], "key": "C major", "meter": "4/4", "tempo": 120}
    for model in (["a list"], "x" * 100_000):   # the melody model's name: short text only
        compose.path.write_text(json.dumps({"state": {"melody": melody, "model": model}}))
        assert compose.pending() is None and "model" in compose.problem
    compose.path.write_text(json.dumps({"state": {"melody": melody, "model": "my-tunes"}}))
    assert compose.pending()["model"] == "my-tunes"
    imagine = AutosaveStore("imagine", folder=tmp_path)
    imagine.path.write_text(json.dumps({"state": {"history": {"state": {
        "amounts": {"smile": 1e308}}}, "seeds": [2**40]}}))
    assert imagine.pending() is None and imagine.problem


@pytest.mark.parametrize("version", [-7, 0, True, "1", None])
def test_a_session_version_must_be_a_real_one(version):
    with pytest.raises(DataError):
        WritingSession.from_json({"format": "reverie-session", "version": version, "text": ""})


# -- item 3: one bad model folder ----------------------------------------------------------------
def test_a_deep_config_is_a_problem_of_its_folder_not_of_the_scan(tmp_path):
    folder = tmp_path / "deep"
    folder.mkdir()
    (folder / "config.json").write_text("[" * 100_000 + "]" * 100_000)
    header = json.dumps({"w": {"dtype": "F32", "shape": [1], "data_offsets": [0, 4]}}).encode()
    (folder / "model.safetensors").write_bytes(len(header).to_bytes(8, "little") + header
                                               + b"\0" * 4)
    info = describe_model(folder, "text", "user")
    assert "deeper" in info.problem


def test_errors_are_reverie_errors():
    assert issubclass(DataError, ReverieError)
