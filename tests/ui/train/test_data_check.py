"""The data check before a run: usable and skipped files with reasons, split, too little data."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from desktop_app.core.melody import Melody, Note
from desktop_app.core.midi import write_midi
from desktop_app.core.train_data_check import MIN_TEXT_BYTES, check_folder


def test_missing_empty_and_file_instead_of_folder(tmp_path):
    assert "does not exist" in check_folder("text", tmp_path / "nope").error
    (tmp_path / "empty").mkdir()
    assert "empty" in check_folder("text", tmp_path / "empty").error
    (tmp_path / "a.txt").write_text("hello")
    assert "not a folder" in check_folder("image", tmp_path / "a.txt").error
    assert "not a folder" in check_folder("music", tmp_path / "a.txt").error
    assert "Too little text" in check_folder("text", tmp_path / "a.txt").error   # read, small
    # whatever is typed into the field: a name too long is one line, not an OSError
    long_name = check_folder("text", tmp_path / ("x" * 5000)).error
    assert "cannot be used (File name too long)" in long_name and len(long_name) < 300
    assert "Choose a folder" in check_folder("text", "").error


def test_mixed_text_folder_counts_usable_and_skipped_with_reasons(tmp_path):
    (tmp_path / "a.txt").write_text("Once upon a time. " * 1000, encoding="utf-8")
    (tmp_path / "b.md").write_text("# Notes\n" + "more words here. " * 400, encoding="utf-8")
    (tmp_path / "latin1.txt").write_bytes("caf\xe9 au lait".encode("latin-1"))
    (tmp_path / "blank.txt").write_text("   \n")
    Image.new("RGB", (8, 8)).save(tmp_path / "photo.png")
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "c.txt").write_text("deep " * 2000)
    (tmp_path / ".hidden.txt").write_text("secret " * 100)
    r = check_folder("text", tmp_path)
    assert sorted(r.usable) == ["a.txt", "b.md", "sub/c.txt"]
    reasons = dict(r.skipped)
    assert reasons == {"blank.txt": "empty", "latin1.txt": "not UTF-8 text",
                       "photo.png": "an image, not text"}
    assert r.ok and r.train_count == 3 and r.heldout_count == 3
    assert "last 10% of each file" in r.summary() and "3 skipped" in r.summary()
    (tmp_path / "blank2.txt").write_text("\n")
    assert "4 skipped: empty (2 files); " in check_folder("text", tmp_path).summary()
    (tmp_path / "blank2.txt").unlink()
    assert r.summary().startswith("3 usable text files, ")
    (tmp_path / "one").mkdir()
    (tmp_path / "one" / "a.txt").write_text("word " * 2000)
    assert check_folder("text", tmp_path / "one").summary().startswith("1 usable text file, ")


def test_too_little_text_says_how_much_is_needed(tmp_path):
    (tmp_path / "short.txt").write_text("A short poem.\n" * 10)
    r = check_folder("text", tmp_path)
    assert not r.ok and "Too little text" in r.error and "20.0 kB" in r.error
    assert MIN_TEXT_BYTES == 20_000


def test_many_text_files_hold_out_every_twentieth(tmp_path):
    for i in range(40):
        (tmp_path / f"{i:02d}.txt").write_text("word " * 200)
    r = check_folder("text", tmp_path)
    assert (r.train_count, r.heldout_count) == (38, 2)
    assert r.heldout_bytes == 2 * 1000                  # the two held-out files' text
    (tmp_path / "few").mkdir()
    (tmp_path / "few" / "a.txt").write_text("word " * 2000)
    assert check_folder("text", tmp_path / "few").heldout_bytes == 1000   # its last 10 %


def test_images_of_wildly_different_sizes_and_unreadable_ones(tmp_path):
    for i in range(12):
        side = 16 if i % 2 else 900
        Image.new("RGB", (side * (3 if i == 1 else 1), side), (i * 20, 0, 0)).save(
            tmp_path / f"{i}.png")
    (tmp_path / "broken.jpg").write_bytes(b"not really a jpeg")
    (tmp_path / "notes.txt").write_text("hi")
    r = check_folder("image", tmp_path)
    assert len(r.usable) == 12 and r.ok
    assert dict(r.skipped) == {"broken.jpg": "unreadable image",
                               "notes.txt": "a text file, not an image"}
    assert any("vary widely" in w for w in r.warnings)
    assert any("twice as wide" in w for w in r.warnings)
    assert r.heldout_count == 1 and r.train_count == 11


def test_too_few_images(tmp_path):
    for i in range(3):
        Image.new("L", (20, 20)).save(tmp_path / f"{i}.png")
    r = check_folder("image", tmp_path)
    assert "Too few images: 3 found, at least 10" in r.error


def _tune(path, notes):
    write_midi(Melody(notes=tuple(notes)), path)


def test_midi_with_no_melody_and_too_few_melodies(tmp_path):
    import mido
    empty = mido.MidiFile()
    empty.tracks.append(mido.MidiTrack([mido.MetaMessage("end_of_track", time=0)]))
    empty.save(tmp_path / "silent.mid")
    drums = mido.MidiFile()
    drums.tracks.append(mido.MidiTrack([mido.Message("note_on", channel=9, note=36, time=0),
                                        mido.Message("note_off", channel=9, note=36, time=480)]))
    drums.save(tmp_path / "drums.mid")
    (tmp_path / "garbage.mid").write_bytes(b"MThd garbage")
    (tmp_path / "tune.abc").write_text("X:1\nK:C\nCDEF|")
    _tune(tmp_path / "short.mid", [Note(start=0, pitch=60, duration=1)])
    for i in range(3):
        _tune(tmp_path / f"ok{i}.mid", [Note(start=float(t), pitch=60 + t % 5, duration=1)
                                        for t in range(12)])
    r = check_folder("music", tmp_path)
    reasons = dict(r.skipped)
    assert reasons["silent.mid"] == "no melody" and reasons["drums.mid"] == "no melody"
    assert reasons["garbage.mid"] == "unreadable MIDI"
    assert "music21" in reasons["tune.abc"]
    assert reasons["short.mid"].startswith("too short")
    assert len(r.usable) == 3 and "Too few melodies: 3 usable, at least 8" in r.error
    assert r.heldout_count >= 1


@pytest.mark.parametrize("kind", ["text", "image", "music"])
def test_an_image_only_folder_for_each_kind(tmp_path, kind):
    rng = np.random.default_rng(0)
    for i in range(12):
        Image.fromarray(rng.integers(0, 255, (20, 20, 3), dtype=np.uint8)).save(
            tmp_path / f"{i}.png")
    r = check_folder(kind, tmp_path)
    assert r.ok == (kind == "image")
    if kind != "image":
        assert r.error and len(r.skipped) == 12
