"""MIDI export/import: file structure, round trips, an independent reader, audio, bad files."""

import shutil
import subprocess
from pathlib import Path

import mido
import pytest

from desktop_app.core.errors import DataError, UsageError
from desktop_app.core.melody import Key, Melody, Meter, Note
from desktop_app.core.midi import melody_to_midi, read_midi, write_midi


def _melody(key="D dorian", meter="6/8", tempo=96.0):
    pitches = [62, 64, 65, 67, 69, 71, 72, 74, 72, 69, 67, 62]
    durs = [0.5, 0.5, 0.5, 1.0, 0.5, 1.5, 0.25, 0.25, 1.0, 0.5, 1.0, 3.0]
    notes, t = [], 0.0
    for p, d in zip(pitches, durs):
        notes.append(Note(start=t, pitch=p, duration=d, velocity=80 + p % 7))
        t += d
    return Melody(notes=tuple(notes), key=Key.parse(key), meter=Meter.parse(meter), tempo=tempo,
                  title="A tune")


def test_export_structure(tmp_path):
    path = write_midi(_melody(), tmp_path / "a.mid", program=73)
    mid = mido.MidiFile(path)
    assert mid.type == 1 and mid.ticks_per_beat == 480 and len(mid.tracks) == 2
    conductor = [m for m in mid.tracks[0]]
    kinds = [m.type for m in conductor]
    assert kinds == ["track_name", "set_tempo", "time_signature", "key_signature", "end_of_track"]
    assert all(m.time == 0 for m in conductor)
    assert conductor[0].name == "A tune"
    assert round(mido.tempo2bpm(conductor[1].tempo), 3) == 96.0
    assert (conductor[2].numerator, conductor[2].denominator) == (6, 8)
    assert conductor[3].key == "C"  # D dorian is written with C major's signature
    track = list(mid.tracks[1])
    assert track[0].type == "track_name" and track[1].type == "program_change"
    assert track[1].program == 73 and track[-1].type == "end_of_track"
    notes = [m for m in track if m.type in ("note_on", "note_off")]
    assert all(m.channel != 9 for m in notes)
    now = 0
    last_kind_at: dict[int, str] = {}
    for m in track:
        now += m.time
        if m.type in ("note_on", "note_off"):
            # at any tick, no note_off may follow a note_on
            assert not (m.type == "note_off" and last_kind_at.get(now) == "note_on")
            last_kind_at[now] = m.type


def test_refuses_bad_program():
    with pytest.raises(UsageError):
        melody_to_midi(_melody(), program=128)
    with pytest.raises(UsageError):
        melody_to_midi(_melody(), channel=9)


@pytest.mark.parametrize("key,meter", [("D dorian", "6/8"), ("E minor", "3/4"),
                                       ("Bb major", "4/4"), ("F# minor", "2/4")])
def test_round_trip(tmp_path, key, meter):
    m = _melody(key, meter, 132.5)
    back = read_midi(write_midi(m, tmp_path / "r.mid"))
    assert [(n.pitch, n.start, n.duration, n.velocity) for n in back.notes] == \
        [(n.pitch, n.start, n.duration, n.velocity) for n in m.notes]
    assert str(back.meter) == meter and back.tempo == pytest.approx(132.5, abs=1e-3)
    expect = m.key if m.key.mode in ("major", "minor") else Key(m.key.relative_major_tonic)
    assert (back.key.tonic, back.key.mode) == (expect.tonic, expect.mode)


def test_independent_reader_pretty_midi(tmp_path):
    pretty_midi = pytest.importorskip("pretty_midi")
    m = _melody("A minor", "3/4", 90.0)
    pm = pretty_midi.PrettyMIDI(str(write_midi(m, tmp_path / "p.mid", program=40)))
    spq = 60.0 / 90.0
    assert len(pm.instruments) == 1
    inst = pm.instruments[0]
    assert inst.program == 40 and not inst.is_drum
    got = [(n.pitch, round(n.start / spq, 4), round((n.end - n.start) / spq, 4))
           for n in inst.notes]
    assert got == [(n.pitch, n.start, n.duration) for n in m.notes]
    _, tempi = pm.get_tempo_changes()
    assert list(tempi.round(3)) == [90.0]
    ts = pm.time_signature_changes
    assert [(t.numerator, t.denominator) for t in ts] == [(3, 4)]
    ks = pm.key_signature_changes
    assert [pretty_midi.key_number_to_key_name(k.key_number) .lower() for k in ks] == ["a minor"]


def test_renders_with_fluidsynth(tmp_path):
    sf = next((p for p in (Path("/usr/share/sounds/sf2/TimGM6mb.sf2"),
                           Path("/usr/share/sounds/sf2/FluidR3_GM.sf2")) if p.is_file()), None)
    if shutil.which("fluidsynth") is None or sf is None:
        pytest.skip("fluidsynth or a SoundFont is not installed")
    mid = write_midi(_melody(), tmp_path / "f.mid")
    wav = tmp_path / "f.wav"
    subprocess.run(["fluidsynth", "-ni", "-F", str(wav), "-r", "22050", str(sf), str(mid)],
                   check=True, capture_output=True, timeout=60)
    import wave
    with wave.open(str(wav)) as w:
        frames = w.readframes(w.getnframes())
        assert w.getnframes() / w.getframerate() > 5.0  # 12 quarter notes at 96/min = 7.5 s
    assert any(b != 0 for b in frames[: len(frames) // 2])


def _save(mid: mido.MidiFile, path: Path) -> Path:
    mid.save(str(path))
    return path


def _file(tracks, type_=1):
    mid = mido.MidiFile(type=type_, ticks_per_beat=480)
    for msgs in tracks:
        mid.tracks.append(mido.MidiTrack(msgs))
    return mid


def _notes(channel=0, pitches=(60, 62, 64), step=480):
    out = []
    for p in pitches:
        out += [mido.Message("note_on", channel=channel, note=p, velocity=90, time=0),
                mido.Message("note_off", channel=channel, note=p, velocity=0, time=step)]
    return out


def test_import_top_voice_quantised_and_picks_melodic_track(tmp_path):
    chords = []
    for i, (lo, hi) in enumerate([(48, 72), (50, 74), (52, 76)]):
        chords += [mido.Message("note_on", note=lo, velocity=80, time=0 if i == 0 else 7),
                   mido.Message("note_on", note=hi, velocity=80, time=5),
                   mido.Message("note_off", note=lo, velocity=0, time=460),
                   mido.Message("note_off", note=hi, velocity=0, time=0)]
    drums = _notes(channel=9, pitches=(36,) * 10, step=240)
    bass = _notes(pitches=(40, 41))
    path = _save(_file([[mido.MetaMessage("set_tempo", tempo=500000)], bass, chords, drums]),
                 tmp_path / "c.mid")
    mel = read_midi(path)
    assert [(n.pitch, n.start, n.duration) for n in mel.notes] == \
        [(72, 0.0, 1.0), (74, 1.0, 1.0), (76, 2.0, 1.0)]
    assert [n.pitch for n in read_midi(path, track=1).notes] == [40, 41]
    with pytest.raises(DataError, match="track 3"):
        read_midi(path, track=3)


@pytest.mark.parametrize("maker,match", [
    (lambda p: p.write_bytes(b"not a midi file at all"), "not a MIDI file"),
    (lambda p: p.write_bytes(b"MThd\x00\x00\x00\x06\x00\x01\x00\x02\x01\xe0MTrk\x00\x00\x01\x00"
                             b"\x00\x90\x3c"), "truncated|readable"),
    (lambda p: p.write_bytes(b"MThd\x00\x00\x00\x06\x00\x01\x00\x01\x01\xe0MTrk\x00\x00\x00\x04"
                             b"\x00\xf7\xff\xff"), "readable|truncated"),
    (lambda p: _save(_file([_notes()], type_=2), p), "type-2"),
    (lambda p: _save(_file([_notes(channel=9)]), p), "only drum"),
    (lambda p: _save(_file([[mido.MetaMessage("track_name", name="x")]]), p), "no notes"),
    (lambda p: _save(_file([[mido.MetaMessage("set_tempo", tempo=500000),
                             mido.MetaMessage("set_tempo", tempo=400000, time=480)], _notes()]), p),
     "tempo"),
    (lambda p: _save(_file([_notes()] * 3000), p), "3000 tracks"),
    (lambda p: None, "cannot read"),
])
def test_bad_files_raise_data_error(tmp_path, maker, match):
    path = tmp_path / "bad.mid"
    maker(path)
    with pytest.raises(DataError, match=match):
        read_midi(path)


def test_no_key_signature_estimates_the_key(tmp_path):
    path = _save(_file([_notes(pitches=(69, 71, 72, 74, 76, 72, 69, 68, 69))]), tmp_path / "k.mid")
    mel = read_midi(path)
    assert (mel.key.tonic, mel.key.mode) == (9, "minor")
    assert str(mel.meter) == "4/4" and mel.tempo == 120.0


from hypothesis import given, settings  # noqa: E402
from hypothesis import strategies as hs  # noqa: E402


@settings(max_examples=40, deadline=None)
@given(hs.lists(hs.tuples(hs.integers(0, 127), hs.integers(1, 16), hs.integers(0, 4),
                          hs.integers(1, 127)), min_size=1, max_size=30),
       hs.sampled_from(["C major", "f# minor", "Bb dorian", "E phrygian", "G mixolydian"]),
       hs.sampled_from(["4/4", "3/4", "6/8", "2/2", "12/8"]),
       hs.floats(20, 400).map(lambda t: round(t, 2)))
def test_round_trip_property(tmp_path_factory, rows, key, meter, tempo):
    notes, t = [], 0.0
    for pitch, dur16, gap16, vel in rows:
        t += gap16 / 4
        notes.append(Note(start=t, pitch=pitch, duration=dur16 / 4, velocity=vel))
        t += dur16 / 4
    m = Melody(notes=tuple(notes), key=Key.parse(key), meter=Meter.parse(meter), tempo=tempo)
    path = tmp_path_factory.mktemp("prop") / "p.mid"
    back = read_midi(write_midi(m, path))
    assert back.notes == m.notes and back.meter == m.meter
    assert back.tempo == pytest.approx(tempo, rel=1e-5)


def test_titles_outside_latin1_are_written_not_refused(tmp_path):
    import mido

    from desktop_app.core.melody import Melody
    from desktop_app.core.midi import midi_text, write_midi
    assert midi_text("Reel – “The Lark” 龍") == 'Reel - "The Lark" ?'
    melody = Melody(notes=(), title="Reel – “The Lark” 龍")
    path = write_midi(melody, tmp_path / "t.mid")
    names = [m.name for m in mido.MidiFile(path).tracks[0] if m.type == "track_name"]
    assert names == ['Reel - "The Lark" ?']
