"""The Melody type: keys, meters, transposition, scale membership, bars."""

import pytest

from desktop_app.core.errors import UsageError
from desktop_app.core.melody import Key, Melody, Meter, Note


@pytest.mark.parametrize("text,tonic,mode", [
    ("D major", 2, "major"), ("f# Minor", 6, "minor"), ("Bb dorian", 10, "dorian"),
    ("bb DORIAN", 10, "dorian"), ("E mixolydian", 4, "mixolydian"), ("C", 0, "major"),
    ("Ab lydian", 8, "lydian"), ("e phrygian", 4, "phrygian"), ("B locrian", 11, "locrian"),
    ("A aeolian", 9, "minor"),
])
def test_key_parse(text, tonic, mode):
    k = Key.parse(text)
    assert (k.tonic, k.mode) == (tonic, mode)


@pytest.mark.parametrize("text", ["H major", "D majestic", "", "C## major", "major", "D major x"])
def test_bad_key_says_what_is_allowed(text):
    with pytest.raises(UsageError) as e:
        Key.parse(text)
    assert "dorian" in str(e.value) and "mode" in str(e.value)


def test_key_scales_and_signatures():
    assert Key.parse("D major").pitch_classes == {2, 4, 6, 7, 9, 11, 1}
    assert Key.parse("A minor").contains(68)          # G# leading tone counts in minor
    assert not Key.parse("A dorian").contains(68)
    assert Key.parse("D dorian").midi_key_signature() == "C"
    assert Key.parse("G mixolydian").midi_key_signature() == "C"
    assert Key.parse("E minor").midi_key_signature() == "Em"
    assert Key.parse("F lydian").midi_key_signature() == "C"
    assert Key.parse("A dorian").midi_key_signature() == "G"
    assert Key.parse("Bb major").name == "Bb major"


@pytest.mark.parametrize("text", ["5/3", "0/4", "4", "x/8", "4/0"])
def test_bad_meter(text):
    with pytest.raises(UsageError, match="denominator"):
        Meter.parse(text)


def test_meter_lengths():
    assert Meter.parse("6/8").bar_quarters == 3.0
    assert Meter.parse("2/2").bar_quarters == 4.0


def _tune():
    notes = [Note(start=i * 0.5, pitch=(62, 64, 66, 67)[i % 4], duration=0.5) for i in range(12)]
    return Melody(notes=tuple(notes), key=Key.parse("D major"), meter=Meter.parse("3/4"),
                  tempo=100, title="t")


def test_transpose_bars_and_scale():
    m = _tune()
    assert m.n_bars == 2 and [len(b) for b in m.bars()] == [6, 6]
    up = m.transpose(2)
    assert up.key.name == "E major" and up.pitches == [p + 2 for p in m.pitches]
    assert all(m.in_scale(p) for p in m.pitches)
    assert m.slice_bars(1, 1).notes[0].start == 0.0


def test_frozen_and_validated():
    m = _tune()
    with pytest.raises(Exception):
        m.tempo = 3  # type: ignore[misc]
    with pytest.raises(UsageError, match="tempo"):
        Melody(tempo=5)
    with pytest.raises(ValueError):
        Note(start=0, pitch=130, duration=1)
