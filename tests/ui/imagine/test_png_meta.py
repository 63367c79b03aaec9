"""PNG latent metadata (Qt-free): exact round trip, damaged or foreign data, animations."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image, PngImagePlugin

from desktop_app.core.animation import save_animation
from desktop_app.core.errors import UsageError
from desktop_app.ui.imagine.png_meta import (META_KEY, LatentMeta, meta_problem, ping_pong,
                                             read_meta, save_png)


def _meta(dim=16, seed=0):
    rng = np.random.default_rng(seed)
    base = rng.standard_normal(dim).astype(np.float32)
    base[0] = np.float32(1e-38)           # denormal-ish values survive too
    return LatentMeta("emoji", "abc123", base, {"smile": 1.37}, base * 2, {"seed": 5})


def test_round_trip_is_bit_exact(tmp_path):
    meta = _meta()
    save_png(tmp_path / "a.png", np.zeros((64, 64, 3), np.uint8), meta, scale=4)
    back, problem = read_meta(tmp_path / "a.png")
    assert problem == ""
    assert back.base.tobytes() == meta.base.tobytes()
    assert back.latent.tobytes() == meta.latent.tobytes()
    assert back.amounts == {"smile": 1.37} and back.settings == {"seed": 5}
    assert Image.open(tmp_path / "a.png").size == (256, 256)
    assert meta_problem(back, "emoji", "abc123", 16) == ""
    assert "belongs to the model 'emoji'" in meta_problem(back, "fashion", "zzz", 16)
    assert "16 values" in meta_problem(back, "fashion", "zzz", 32)


@pytest.mark.parametrize("text", ["not json", '{"base": "!!!"}', '{"base": "AAA="}',
                                  '{"base": "AADAfw=="}'])   # the last is a NaN
def test_damaged_metadata_is_reported_not_raised(tmp_path, text):
    info = PngImagePlugin.PngInfo()
    info.add_itxt(META_KEY, text)
    Image.new("RGB", (8, 8)).save(tmp_path / "d.png", pnginfo=info)
    meta, problem = read_meta(tmp_path / "d.png")
    assert meta is None and "damaged" in problem


def test_plain_and_non_png_files_have_no_metadata(tmp_path):
    Image.new("RGB", (8, 8)).save(tmp_path / "p.png")
    (tmp_path / "x.png").write_text("nope")
    Image.new("RGB", (8, 8)).save(tmp_path / "j.jpg")
    for name in ("p.png", "x.png", "j.jpg", "missing.png"):
        assert read_meta(tmp_path / name) == (None, "")


def test_animation_frame_counts_and_ping_pong(tmp_path):
    frames = [np.full((8, 8, 3), i * 30, np.uint8) for i in range(5)]
    assert len(ping_pong(frames)) == 8
    save_animation(tmp_path / "a.gif", ping_pong(frames), scale=2)
    with Image.open(tmp_path / "a.gif") as im:
        assert (im.n_frames, im.size) == (8, (16, 16))
    with pytest.raises(UsageError):
        save_animation(tmp_path / "a.bmp", frames)
    with pytest.raises(UsageError):
        save_png(tmp_path / "b.png", frames[0], scale=3)
