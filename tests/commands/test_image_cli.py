"""`reverie generate image`, `morph`, `edit` and `train image`: outputs and exit codes.

Uses a tiny seeded model folder (tests/ml/image/image_helpers.py) passed by path, so no
shipped model is needed.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from desktop_app.cli import main

sys.path.insert(0, str(Path(__file__).parents[1] / "ml" / "image"))
from image_helpers import add_tiny_flow_prior, make_tiny_model_dir  # noqa: E402


# The train command sets torch to one thread; the fixture puts the setting back after.
pytestmark = pytest.mark.usefixtures("one_torch_thread")


@pytest.fixture(scope="module")
def model(tmp_path_factory):
    return str(make_tiny_model_dir(tmp_path_factory.mktemp("m") / "tiny"))


def _png(path, mode="RGB", size=(40, 40)):
    Image.new(mode, size, 128 if mode in ("L", "P") else (120, 60, 30)).save(path)
    return str(path)


def test_generate_one_and_many_and_grid(model, tmp_path, capsys):
    # default: 256 px, smooth, as the Imagine room's export
    assert main(["generate", "image", "--model", model, "--seed", "3",
                 "--output", str(tmp_path / "one.png")]) == 0
    with Image.open(tmp_path / "one.png") as im:
        assert im.size == (256, 256)
        assert len(set(np.asarray(im).ravel().tolist())) > 2
    assert main(["generate", "image", "--model", model, "--seed", "3", "--size", "28",
                 "--output", str(tmp_path / "native.png")]) == 0
    with Image.open(tmp_path / "native.png") as im:
        assert im.size == (28, 28)
    assert main(["generate", "image", "--model", model, "--seed", "3", "--scale", "2",
                 "--output", str(tmp_path / "px.png")]) == 0
    with Image.open(tmp_path / "px.png") as im:   # pixel-exact: each pixel a 2x2 square
        a = np.asarray(im)
        assert im.size == (56, 56) and np.array_equal(a[::2, ::2], a[1::2, 1::2])
    assert main(["generate", "image", "--model", model, "--count", "3", "--size", "28",
                 "--output", str(tmp_path / "s.png")]) == 0
    assert sorted(p.name for p in tmp_path.glob("s-*.png")) == ["s-1.png", "s-2.png", "s-3.png"]
    # image i of --count is what --seed S+i-1 draws (the room's grid cells)
    assert main(["generate", "image", "--model", model, "--seed", "1", "--size", "28",
                 "--output", str(tmp_path / "seed1.png")]) == 0
    assert np.array_equal(np.asarray(Image.open(tmp_path / "s-2.png")),
                          np.asarray(Image.open(tmp_path / "seed1.png")))
    assert main(["generate", "image", "--model", model, "--count", "4", "--grid",
                 "--size", "28", "--output", str(tmp_path / "g.png")]) == 0
    with Image.open(tmp_path / "g.png") as im:
        assert im.size == (2 * 28 + 3 * 2, 2 * 28 + 3 * 2)
    assert not (tmp_path / "g-1.png").exists()


def test_generate_is_reproducible(model, tmp_path):
    for name in ("a.png", "b.png"):
        assert main(["generate", "image", "--model", model, "--seed", "9", "--temperature",
                     "0.7", "--size", "28", "--output", str(tmp_path / name)]) == 0
    a, b = (np.asarray(Image.open(tmp_path / n)) for n in ("a.png", "b.png"))
    assert np.array_equal(a, b)


def test_generate_category_and_guidance(tmp_path, capsys):
    folder = str(add_tiny_flow_prior(make_tiny_model_dir(tmp_path / "withprior")))
    out = {}
    for name, extra in (("a", ["--category", "animals"]), ("a2", ["--category", "animals"]),
                        ("f", ["--category", "flags"]),
                        ("g", ["--category", "animals", "--guidance", "5"]),
                        ("n", ["--category", "animals", "--style", "noto"])):
        assert main(["generate", "image", "--model", folder, "--seed", "4", "--size", "28",
                     *extra, "--output", str(tmp_path / f"{name}.png")]) == 0
        out[name] = np.asarray(Image.open(tmp_path / f"{name}.png"))
    assert np.array_equal(out["a"], out["a2"])
    for other in ("f", "g", "n"):
        assert not np.array_equal(out["a"], out[other])
    # a model without a learned prior cannot be asked for a category: one line, exit 2
    plain = str(make_tiny_model_dir(tmp_path / "plain"))
    capsys.readouterr()
    assert main(["generate", "image", "--model", plain, "--category", "food",
                 "--output", str(tmp_path / "x.png")]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "no learned prior" in err[0]


def test_morph_gif_webp_and_folder(model, tmp_path):
    assert main(["morph", "--model", model, "--from-seed", "1", "--to-seed", "2",
                 "--frames", "7", "--output", str(tmp_path / "m.gif")]) == 0
    with Image.open(tmp_path / "m.gif") as im:
        assert im.n_frames == 7 and im.size == (28, 28)
    img = _png(tmp_path / "start.png")
    assert main(["morph", "--model", model, "--from", img, "--to-seed", "2", "--frames",
                 "5", "--method", "lerp", "--output", str(tmp_path / "m.webp")]) == 0
    with Image.open(tmp_path / "m.webp") as im:
        assert im.n_frames == 5
    assert main(["morph", "--model", model, "--from-seed", "1", "--to-seed", "2",
                 "--frames", "4", "--output", str(tmp_path / "frames") + "/"]) == 0
    names = sorted(p.name for p in (tmp_path / "frames").iterdir())
    assert names == ["frame-001.png", "frame-002.png", "frame-003.png", "frame-004.png"]
    # the first frame is the start: seed 1 decoded, as generate image draws it
    assert main(["generate", "image", "--model", model, "--seed", "1", "--size", "28",
                 "--output", str(tmp_path / "s1.png")]) == 0
    assert np.array_equal(np.asarray(Image.open(tmp_path / "frames" / "frame-001.png")),
                          np.asarray(Image.open(tmp_path / "s1.png")))


def test_edit_moves_along_directions(model, tmp_path, capsys):
    img = _png(tmp_path / "in.png", "RGBA")
    out = tmp_path / "e.png"
    assert main(["edit", "--model", model, img, "--direction", "style=+1.5",
                 "--direction", "pc1=-1", "--output", str(out)]) == 0
    with Image.open(out) as im:
        assert im.size == (28, 28)
    assert main(["edit", "--model", model, img, "--direction", "smile=1",
                 "--output", str(out)]) == 2
    err = capsys.readouterr().err
    assert "no direction 'smile'" in err and "style" in err and "pc1" in err


@pytest.mark.parametrize("argv,code,needle", [
    (["generate", "image", "--count", "0", "--output", "x.png"], 2, "--count"),
    (["generate", "image", "--output", "x.bmp"], 2, ".png"),
    (["generate", "image", "--temperature", "-1", "--output", "x.png"], 2, "temperature"),
    (["generate", "image", "--temperature", "nan", "--output", "x.png"], 2, "temperature"),
    (["generate", "image", "--category", "dragons", "--output", "x.png"], 2, "animals"),
    (["generate", "image", "--style", "crayon", "--output", "x.png"], 2, "twemoji"),
    (["generate", "image", "--guidance", "99", "--output", "x.png"], 2, "--guidance"),
    (["generate", "image", "--size", "100000", "--output", "x.png"], 2, "--size"),
    (["generate", "image", "--size", "64", "--scale", "2", "--output", "x.png"], 2, "--scale"),
    (["morph", "--from-seed", "1", "--to-seed", "2", "--frames", "1", "--output", "x.gif"],
     2, "--frames"),
    (["morph", "--from-seed", "1", "--to-seed", "2", "--output", "x.png"], 2, ".gif"),
    (["edit", "IMG", "--direction", "smile", "--output", "x.png"], 2, "NAME=AMOUNT"),
    (["edit", "IMG", "--direction", "smile=abc", "--output", "x.png"], 2, "NAME=AMOUNT"),
])
def test_usage_errors(model, tmp_path, capsys, monkeypatch, argv, code, needle):
    monkeypatch.chdir(tmp_path)
    argv = [a if a != "IMG" else _png(tmp_path / "i.png") for a in argv]
    assert main(argv[:1 + (argv[0] == "generate")] + ["--model", model]
                + argv[1 + (argv[0] == "generate"):]) == code
    err = capsys.readouterr().err
    assert needle in err and err.count("\n") <= 2


def test_bad_files_fail_with_one_line(model, tmp_path, capsys, monkeypatch):
    (tmp_path / "broken.png").write_bytes(b"\x89PNG\r\n\x1a\n" + b"\0" * 20)
    (tmp_path / "text.jpg").write_text("hello")
    for bad in ("broken.png", "text.jpg", "missing.png"):
        assert main(["edit", "--model", model, str(tmp_path / bad), "--direction", "pc1=1",
                     "--output", str(tmp_path / "o.png")]) == 1
        assert bad in capsys.readouterr().err
    Image.new("RGB", (80, 80)).save(tmp_path / "bomb.png")
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 1000)
    assert main(["morph", "--model", model, "--from", str(tmp_path / "bomb.png"),
                 "--to-seed", "1", "--output", str(tmp_path / "o.gif")]) == 1
    assert "too large" in capsys.readouterr().err
    assert not (tmp_path / "o.gif").exists()


def test_unknown_model_is_a_usage_error(tmp_path, capsys):
    assert main(["generate", "image", "--model", "no-such-model",
                 "--output", str(tmp_path / "x.png")]) == 2
    assert "no image model named 'no-such-model'" in capsys.readouterr().err


def test_train_image_on_a_folder_end_to_end(tmp_path, capsys):
    rng = np.random.default_rng(0)
    data = tmp_path / "pics"
    data.mkdir()
    for i in range(12):
        arr = (rng.random((20, 30, 3)) * 255).astype(np.uint8)
        Image.fromarray(arr).save(data / f"p{i}.png")
    (data / "bad.jpg").write_text("nope")
    out = tmp_path / "run"
    argv = ["train", "image", "--data", str(data), "--out", str(out), "--size", "28",
            "--steps", "4", "--batch-size", "4", "--latent", "4", "--progress", "json",
            "--eval-every", "2", "--checkpoint-every", "2", "--held-out", "0.25"]
    assert main(argv) == 0
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    kinds = {line["kind"] for line in lines}
    assert {"start", "step", "eval", "checkpoint", "done"} <= kinds
    assert any("skipped 1 unreadable" in line.get("message", "") for line in lines)
    for name in ("config.json", "model.safetensors", "directions.json", "atlas.json",
                 "metrics.json"):
        assert (out / name).is_file(), name
    assert main(["generate", "image", "--model", str(out), "--output",
                 str(tmp_path / "x.png")]) == 0
    # resume to more steps continues from the checkpoint
    argv[argv.index("--steps") + 1] = "6"
    assert main(argv + ["--resume"]) == 0
    assert "resuming at step 4" in capsys.readouterr().out


def test_train_image_bad_data(tmp_path, capsys):
    (tmp_path / "empty").mkdir()
    assert main(["train", "image", "--data", str(tmp_path / "empty"), "--out",
                 str(tmp_path / "o")]) == 1
    assert "no usable images" in capsys.readouterr().err
    assert main(["train", "image", "--data", "builtin:nope", "--out", str(tmp_path / "o")]) == 1
    assert main(["train", "image", "--data", str(tmp_path), "--out", str(tmp_path / "o"),
                 "--steps", "0"]) == 2


def test_train_stage_options(model, tmp_path, capsys):
    folder = tmp_path / "imgs"
    folder.mkdir()
    for i in range(6):
        Image.new("L", (28, 28), 40 * i).save(folder / f"{i}.png")
    base = ["train", "image", "--data", str(folder), "--size", "28", "--out",
            str(tmp_path / "run"), "--steps", "2"]
    assert main(base + ["--stage", "prior"]) == 2
    assert "--init-from" in capsys.readouterr().err
    assert main(base + ["--stage", "paint", "--init-from", model]) == 2
    assert "decoder" in capsys.readouterr().err
    assert main(base + ["--stage", "prior", "--init-from", model]) == 2   # no emoji groups
    assert "Unicode emoji group" in capsys.readouterr().err


def test_train_decoder_stage_takes_another_learning_rate(model, tmp_path, monkeypatch):
    import types

    from desktop_app.ml.training import loop

    seen = {}

    def record(task, cfg, out, **kw):          # the run itself is tested in test_decoder_gan
        seen["cfg"] = cfg
        return types.SimpleNamespace(stopped=True)

    monkeypatch.setattr(loop, "train", record)
    folder = tmp_path / "imgs"
    folder.mkdir()
    for i in range(6):
        Image.new("L", (28, 28), 40 * i).save(folder / f"{i}.png")
    base = ["train", "image", "--data", str(folder), "--size", "28", "--out",
            str(tmp_path / "run"), "--steps", "2", "--stage", "decoder", "--init-from", model]
    assert main(base) == 1
    lr, floor = seen["cfg"].lr, seen["cfg"].min_lr          # the recipe's own rate
    assert main(base + ["--lr", str(lr * 2)]) == 1
    assert (seen["cfg"].lr, seen["cfg"].min_lr) == (pytest.approx(lr * 2),
                                                    pytest.approx(floor * 2))


def test_train_image_takes_progress_json_like_the_other_train_commands():
    import argparse

    from desktop_app.commands import train_image
    parser = argparse.ArgumentParser()
    train_image.add_arguments(parser)
    base = ["--data", "builtin:emoji", "--out", "o"]
    assert parser.parse_args(base).progress == "text"
    assert parser.parse_args(base + ["--progress", "json"]).progress == "json"
    assert parser.parse_args(base + ["--json"]).progress == "json"   # the older spelling


def test_train_joint_stage_fine_tunes_the_whole_vae_and_refinalizes(model, tmp_path, capsys):
    from desktop_app.commands import train_image
    from desktop_app.ml.image.model_dir import load_vae

    rng = np.random.default_rng(1)
    folder = tmp_path / "imgs"
    folder.mkdir()
    for i in range(12):
        pixels = (rng.random((28, 28)) * 255).astype(np.uint8)
        Image.fromarray(pixels, "L").save(folder / f"{i}.png")
    out = tmp_path / "joint"
    base = ["train", "image", "--data", str(folder), "--size", "28", "--out", str(out),
            "--steps", "3", "--batch-size", "4", "--lr", "1e-3", "--held-out", "0.25"]
    assert main(base + ["--stage", "joint", "--init-from", model, "--augment", "0.5"]) == 0
    text = capsys.readouterr().out
    assert "fine-tuning the whole VAE" in text and "augmented 50% of each batch" in text
    assert "starting from scratch" not in text
    for name in ("model.safetensors", "directions.json", "atlas.json", "metrics.json"):
        assert (out / name).is_file(), name
    old, old_cfg = load_vae(model)
    new, new_cfg = load_vae(out)
    assert new_cfg["latent_dim"] == old_cfg["latent_dim"]            # the model's own size
    assert new_cfg["beta"] == old_cfg["beta"]                        # and its own KL weight
    def moved(a, b):
        return any(not torch.equal(p, q) for p, q in zip(a.parameters(), b.parameters()))
    assert moved(old.encoder, new.encoder) and moved(old.decoder, new.decoder)   # both trained
    # a time budget ends the run early and still writes a finished model folder; without
    # --lr a joint fine-tune takes the fine-tuning rate, not a new VAE's
    budget = tmp_path / "budget"
    # (60 picoseconds: spent before the first step on any machine; 1e-6 min, 60 us, was
    # sometimes not, and the first step's learning rate then stood part-way down the cosine)
    argv = base + ["--stage", "joint", "--init-from", model, "--max-minutes", "1e-12",
                   "--progress", "json"]
    argv[argv.index("--out") + 1] = str(budget)
    del argv[argv.index("--lr"):argv.index("--lr") + 2]
    assert main(argv) == 0
    events = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert any("time budget" in e.get("message", "") for e in events)
    # (the budget is spent at once, so the schedule stands at its end: peak / 20)
    lrs = [e["lr"] for e in events if e["kind"] == "step"]
    assert lrs == [pytest.approx(train_image.LR["joint"] / 20)]
    assert (budget / "metrics.json").is_file() and (budget / "atlas.json").is_file()
    assert load_vae(budget)[1]["beta"] == old_cfg["beta"]
    # --beta gives the fine-tune another KL weight (more detail kept in the latents)
    assert main(base + ["--stage", "joint", "--init-from", model, "--beta", "0.5",
                        "--out", str(tmp_path / "half")]) == 0
    assert load_vae(tmp_path / "half")[1]["beta"] == 0.5
    capsys.readouterr()
    assert main(base + ["--stage", "prior", "--augment", "0.5", "--init-from", model]) == 2
    assert "--augment applies to" in capsys.readouterr().err
    assert main(base + ["--stage", "joint", "--init-from", model, "--latent", "9",
                        "--out", str(tmp_path / "j2")]) == 2
    assert "keeps the model's size" in capsys.readouterr().err
