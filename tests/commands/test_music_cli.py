"""`reverie generate music`, `reverie morph-melody` and `reverie train music` end to end."""

import json

import pytest

from desktop_app.cli import main
from desktop_app.core.midi import read_midi
from desktop_app.ml.music.tiny import tiny_lm_dir, tiny_vae_dir


@pytest.fixture(scope="module")
def lm(tmp_path_factory):
    return tiny_lm_dir(tmp_path_factory.mktemp("cli-lm"))


@pytest.fixture(scope="module")
def vae(tmp_path_factory):
    return tiny_vae_dir(tmp_path_factory.mktemp("cli-vae"))


def test_generate_json_and_file(lm, tmp_path, capsys):
    out = tmp_path / "song.mid"
    rc = main(["generate", "music", "--model", str(lm), "--seed", "4", "--bars", "6",
               "--key", "e Minor", "--meter", "6/8", "--tempo", "110", "--temperature", "0.9",
               "--top-k", "20", "--top-p", "0.9", "--instrument", "73", "--output", str(out),
               "--json"])
    assert rc == 0
    d = json.loads(capsys.readouterr().out)
    for field in ("notes", "key", "meter", "tempo", "seed", "model", "stats"):
        assert field in d
    assert d["seed"] == 4 and d["key"] == "E minor" and d["meter"] == "6/8" and d["tempo"] == 110
    assert set(d["stats"]) == {"in_key_ratio", "pitch_class_entropy", "pitch_range",
                               "notes_per_bar", "repeated_bar_share"}
    mel = read_midi(out, grid=1 / 24)
    assert [[n.pitch, n.start, n.duration] for n in mel.notes] == \
        [[p, pytest.approx(s, abs=1e-3), pytest.approx(du, abs=1e-3)] for p, s, du in d["notes"]]
    assert str(mel.meter) == "6/8" and mel.tempo == pytest.approx(110)


def test_variants_random_seed_printed_and_primer(lm, tmp_path, capsys):
    out = tmp_path / "v.mid"
    assert main(["generate", "music", "--model", str(lm), "--variants", "3", "--bars", "2",
                 "--output", str(out)]) == 0
    cap = capsys.readouterr()
    assert "seed:" in cap.err
    assert all((tmp_path / f"v-{i}.mid").is_file() for i in (1, 2, 3))
    assert main(["generate", "music", "--model", str(lm), "--primer", str(tmp_path / "v-1.mid"),
                 "--bars", "2", "--output", str(tmp_path / "c.mid"), "--seed", "1"]) == 0
    assert read_midi(tmp_path / "c.mid").n_bars >= 3


@pytest.mark.parametrize("args,allowed", [
    (["--key", "H major"], "mode"), (["--key", "D minorish"], "dorian"),
    (["--meter", "7/4"], "6/8"), (["--meter", "banana"], "denominator"),
    (["--tempo", "5"], "quarter notes per minute"), (["--bars", "0"], "from 1 to 64"),
    (["--bars", "500"], "from 1 to 64"), (["--instrument", "200"], "from 0 to 127"),
    (["--variants", "0"], "from 1 to 16"), (["--top-p", "7"], "from 0 to 1"),
    (["--temperature", "nan"], "from 0 to 10"),
])
def test_invalid_options_exit_2_saying_what_is_allowed(lm, tmp_path, capsys, args, allowed):
    rc = main(["generate", "music", "--model", str(lm), "--output", str(tmp_path / "x.mid"),
               *args])
    err = capsys.readouterr().err
    # argparse's checks add one short usage line above the error line
    assert rc == 2 and allowed in err and err.count("\n") <= 2 and "Traceback" not in err
    assert not (tmp_path / "x.mid").exists()


def test_bad_primer_exits_1(lm, tmp_path, capsys):
    bad = tmp_path / "bad.mid"
    bad.write_bytes(b"MThd\x00\x00")
    rc = main(["generate", "music", "--model", str(lm), "--primer", str(bad), "--output",
               str(tmp_path / "x.mid")])
    assert rc == 1 and "bad.mid" in capsys.readouterr().err


def test_morph_melody(lm, vae, tmp_path, capsys):
    for name, seed in (("a", "1"), ("b", "2")):
        main(["generate", "music", "--model", str(lm), "--seed", seed, "--bars", "4",
              "--output", str(tmp_path / f"{name}.mid")])
    capsys.readouterr()
    out = tmp_path / "morph"
    rc = main(["morph-melody", str(tmp_path / "a.mid"), str(tmp_path / "b.mid"), "--steps", "4",
               "--model", str(vae), "--output", str(out), "--json"])
    assert rc == 0
    lines = [json.loads(x) for x in capsys.readouterr().out.splitlines()]
    assert [d["step"] for d in lines] == [1, 2, 3, 4]
    assert sorted(p.name for p in out.iterdir()) == [f"morph-0{i}.mid" for i in (1, 2, 3, 4)]
    assert main(["morph-melody", str(tmp_path / "a.mid"), str(tmp_path / "b.mid"), "--steps",
                 "1", "--model", str(vae), "--output", str(out)]) == 2


def test_train_music_tiny(tmp_path, capsys):
    from desktop_app.ml.music import data as D
    if not (D.music_data_dir() / "melodies_miscFolk.jsonl.gz").is_file():
        pytest.skip("shared melody data not found")
    out = tmp_path / "run"
    rc = main(["train", "music", "--out", str(out), "--collections", "miscFolk", "--size",
               "test", "--steps", "4", "--eval-every", "0", "--checkpoint-every", "0",
               "--progress", "json", "--calibrate-tunes", "1"])
    assert rc == 0
    kinds = [json.loads(x)["kind"] for x in capsys.readouterr().out.splitlines()]
    assert kinds[0] == "start" and kinds[-1] == "done" and "eval" in kinds
    assert (out / "model.safetensors").is_file() and (out / "config.json").is_file()
    # the soft mode prior is calibrated for every mode after training (issue 20, item 17)
    prior = json.loads((out / "config.json").read_text())["mode_prior"]
    assert set(prior) == {"major", "minor", "dorian", "mixolydian", "lydian", "phrygian",
                          "locrian"}
    rc = main(["generate", "music", "--model", str(out), "--bars", "2", "--seed", "1",
               "--output", str(tmp_path / "t.mid")])
    assert rc == 0


def test_train_music_phrase_vae_writes_the_explore_atlas(tmp_path, capsys):
    """A user's phrase VAE gets the atlas Explore's melody map needs (issue 20, item 4)."""
    from desktop_app.core.melody import Key, Melody, Note
    from desktop_app.core.midi import write_midi
    from desktop_app.ml.music.phrase_atlas import load_atlas
    data = tmp_path / "tunes"
    data.mkdir()
    for k in range(6):
        notes = tuple(Note(start=i * 0.5, pitch=60 + (2 * i + k) % 12, duration=0.5)
                      for i in range(64))
        write_midi(Melody(notes=notes, key=Key(0, "major")), data / f"t{k}.mid")
    out = tmp_path / "vae"
    rc = main(["train", "music", "--model", "phrase-vae", "--data", str(data), "--out",
               str(out), "--size", "test", "--steps", "2", "--eval-every", "0",
               "--checkpoint-every", "0"])
    assert rc == 0, capsys.readouterr().err
    assert "phrase atlas" in capsys.readouterr().err
    cfg = json.loads((out / "config.json").read_text())
    mu, melodies, names, cats, held = load_atlas(out, cfg["latent"], cfg["max_steps"])
    assert len(mu) == len(melodies) >= 6 and set(cats["split"]) <= {"training", "held out"}
