"""Folder loading: every odd kind of picture becomes a clean square RGB/grey array, or a count."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from desktop_app.core.errors import DataError
from desktop_app.ml.image.datasets import load_folder, open_image, split
from desktop_app.ml.image.sources import load_dataset


def _rgb(size=(40, 30), color=(200, 30, 30)):
    return Image.new("RGB", size, color)


def test_alpha_is_composited_on_white(tmp_path):
    img = Image.new("RGBA", (20, 20), (255, 0, 0, 0))          # fully transparent red
    img.paste((0, 0, 255, 255), (5, 5, 15, 15))                # opaque blue square
    img.save(tmp_path / "a.png")
    arr = open_image(tmp_path / "a.png", 20, 3)
    assert arr.shape == (20, 20, 3)
    assert tuple(arr[0, 0]) == (255, 255, 255)
    assert tuple(arr[10, 10]) == (0, 0, 255)


def test_cmyk_palette_16bit_and_grey_modes(tmp_path):
    _rgb().convert("CMYK").save(tmp_path / "cmyk.jpg")
    _rgb().convert("P", palette=Image.Palette.ADAPTIVE).save(tmp_path / "pal.png")
    Image.fromarray((np.ones((30, 30)) * 40000).astype(np.uint16)).save(tmp_path / "deep.png")
    pal = Image.new("P", (10, 10), 0)
    pal.putpalette([255, 0, 0] + [0, 255, 0] * 255)
    pal.info["transparency"] = 0
    pal.save(tmp_path / "paltrans.png", transparency=0)
    _rgb().convert("LA").save(tmp_path / "la.png")
    s = load_folder(tmp_path, 16, 3)
    assert len(s) == 5 and s.pixels.shape == (5, 16, 16, 3) and s.pixels.dtype == np.uint8
    by = dict(zip(s.names, s.pixels))
    assert abs(int(by["cmyk.jpg"][8, 8, 0]) - 200) < 20                 # still red
    assert abs(int(by["deep.png"][8, 8, 0]) - round(40000 / 65535 * 255)) <= 2
    assert tuple(by["paltrans.png"][3, 3]) == (255, 255, 255)          # transparent -> white
    grey = load_folder(tmp_path, 16, 1)
    assert grey.pixels.shape == (5, 16, 16, 1)


def test_centre_crop_keeps_the_middle(tmp_path):
    img = Image.new("RGB", (90, 30), (0, 0, 0))
    img.paste((255, 255, 255), (30, 0, 60, 30))               # white middle third
    img.save(tmp_path / "wide.png")
    arr = open_image(tmp_path / "wide.png", 10, 3)
    assert arr.min() > 240                                    # only the middle survives


def test_animated_gif_uses_first_frame(tmp_path):
    frames = [Image.new("RGB", (12, 12), c) for c in ((255, 0, 0), (0, 255, 0), (0, 0, 255))]
    frames[0].save(tmp_path / "anim.gif", save_all=True, append_images=frames[1:])
    arr = open_image(tmp_path / "anim.gif", 12, 3)
    assert arr[6, 6, 0] > 200 and arr[6, 6, 1] < 50


def test_webp_and_jpeg(tmp_path):
    _rgb().save(tmp_path / "a.webp")
    _rgb().save(tmp_path / "b.jpeg")
    assert len(load_folder(tmp_path, 8, 3)) == 2


def test_truncated_and_non_image_files_are_skipped_and_counted(tmp_path):
    _rgb().save(tmp_path / "good.png")
    data = (tmp_path / "good.png").read_bytes()
    (tmp_path / "cut.png").write_bytes(data[: len(data) // 2])
    (tmp_path / "fake.jpg").write_text("not a picture")
    (tmp_path / "notes.txt").write_text("ignored: not an image suffix")
    s = load_folder(tmp_path, 8, 3)
    assert s.names == ["good.png"]
    assert s.skipped["unreadable"] == 2
    with pytest.raises(DataError, match="cut.png"):
        open_image(tmp_path / "cut.png", 8, 3)


def test_decompression_bomb_is_refused_with_a_clear_message(tmp_path, monkeypatch):
    _rgb((64, 64)).save(tmp_path / "big.png")
    _rgb((4, 4)).save(tmp_path / "small.png")
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 1000)     # 64*64 > 1000 (warn), > 2000 (error)
    with pytest.raises(DataError, match="too large"):
        open_image(tmp_path / "big.png", 8, 3)
    s = load_folder(tmp_path, 8, 3)
    assert s.names == ["small.png"] and s.skipped["too_large"] == 1


def test_empty_folder_and_missing_folder(tmp_path):
    with pytest.raises(DataError, match="no usable images"):
        load_folder(tmp_path, 8, 3)
    (tmp_path / "junk.png").write_bytes(b"\x89PNG broken")
    with pytest.raises(DataError, match="1 unreadable"):
        load_folder(tmp_path, 8, 3)
    with pytest.raises(DataError, match="not a folder"):
        load_folder(tmp_path / "nope", 8, 3)
    with pytest.raises(DataError, match="unknown built-in"):
        load_dataset("builtin:cats")


def test_split_is_seeded_and_disjoint():
    tr, ho = split(100, 0.1, seed=5)
    assert len(ho) == 10 and len(tr) == 90 and not set(tr) & set(ho)
    assert np.array_equal(ho, split(100, 0.1, seed=5)[1])
    tr2, ho2 = split(2, 0.1, seed=0)
    assert len(tr2) == 1 and len(ho2) == 1


@pytest.mark.parametrize("name, subgroup, score", [
    ("grinning face", "face-smiling", 1.0),
    ("slightly frowning face", "face-concerned", -1.0),
    ("loudly crying face", "face-concerned", -1.0),
    ("face with tears of joy", "face-smiling", 1.0),
    ("neutral face", "face-neutral-skeptical", 0.0),
    ("skull", "face-negative", None),                  # not a mouth that smiles or frowns
    ("smiling face with horns", "face-negative", None),  # purple devil: colour, not smile
    ("face with medical mask", "face-unwell", None),
    ("grinning cat", "cat-face", None),
    ("cat face with tears of joy", "cat-face", None),
    ("red apple", "food-fruit", None),
])
def test_smile_scores_read_the_mouth_from_the_unicode_name(name, subgroup, score):
    from desktop_app.ml.image.emoji_data import smile_score
    got = smile_score(name, subgroup)
    assert (np.isnan(got) if score is None else got == score)


@pytest.mark.parametrize("name, older", [
    ("older man", 1.0), ("older woman", 1.0), ("man", 0.0), ("woman: red hair", 0.0),
    ("person: white hair", 0.0), ("man firefighter", None), ("baby", None), ("boy", None),
])
def test_older_contrasts_older_people_with_plain_adult_portraits(name, older):
    from desktop_app.ml.image.emoji_data import person_labels
    got = person_labels(name, 0)["older"]
    assert (np.isnan(got) if older is None else got == older)
