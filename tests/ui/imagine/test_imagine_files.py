"""Imagine room files: PNG round trip of the latent, dropping and opening pictures (good and
bad), morph export (GIF / WebP / frames), upscaled export, clipboard, autosave and restore."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image
from PySide6.QtGui import QGuiApplication

from desktop_app.ui.imagine.png_meta import META_KEY, read_meta
from imagine_helpers import drop_file, expected_image, photo


def settle(panel, qtbot):
    qtbot.waitUntil(lambda: not panel._decode_pending and not panel._decode_in_flight)


def test_png_round_trip_restores_the_exact_latent(panel, make_panel, qtbot, tmp_path):
    panel.sliders.slider("smile").setValue(137)
    panel.sliders.slider("direction_2" if False else "pc2").setValue(-45)
    settle(panel, qtbot)
    saved_state, saved_latent = panel.history.state, panel.current_latent.copy()
    path = tmp_path / "face.png"
    assert panel.save_png_to(str(path))
    meta, problem = read_meta(path)
    assert problem == "" and meta.model == "tinyvae"
    assert np.array_equal(meta.base, saved_state.base)
    assert meta.amounts == {"smile": 1.37, "pc2": -0.45}

    fresh = make_panel()                        # another session, another engine
    fresh.request_model(fresh._requested_model)
    fresh.grid.click(5)
    assert fresh.open_picture(str(path))
    settle(fresh, qtbot)
    assert np.array_equal(fresh.history.state.base, saved_state.base)
    assert fresh.history.state.amounts == saved_state.amounts
    assert np.array_equal(fresh.current_latent, saved_latent)
    assert fresh.sliders.slider("smile").value() == 137
    assert "exact latent" in fresh.messageLabel.text()
    fresh.undoButton.click()                    # opening it was one undo step
    assert np.array_equal(fresh.history.state.base, fresh.grid.latent(5))


def test_png_of_another_model_opens_as_a_plain_picture(panel, make_panel, other_image_model,
                                                       tmp_path, qtbot):
    other = make_panel(model=other_image_model)
    other.request_model(str(other_image_model))
    path = tmp_path / "foreign.png"
    assert other.save_png_to(str(path))
    assert panel.open_picture(str(path))
    text = panel.messageLabel.text()
    assert "its latent belongs to the model 'othervae', not to 'tinyvae'" in text, text
    assert "opens as a plain picture" in text and "Encoded foreign.png" in text
    assert panel.own.mse is not None            # it was encoded as a picture
    foreign = read_meta(path)[0]
    assert not np.array_equal(panel.history.state.base, foreign.base)


def test_dropping_a_picture_on_the_view_encodes_it_for_editing(panel, qtbot, tmp_path):
    path = tmp_path / "holiday.jpg"
    Image.fromarray(photo((120, 90))).save(path, quality=90)
    drop_file(panel.imageView, path)
    assert panel.tabs.currentWidget() is panel.own
    assert panel.own.mse is not None and 0 <= panel.own.mse <= 1
    assert panel.own.originalView.pixels().shape == (64, 64, 3)
    assert "centre-cropped from 120×90" in panel.own.notesLabel.text()
    base = panel.history.state.base.copy()
    settle(panel, qtbot)
    _z, img = expected_image(panel.model_dir, base, {})
    assert np.array_equal(panel.imageView.pixels(), img)   # the reconstruction, now editable
    panel.sliders.slider("style").setValue(100)
    assert np.array_equal(panel.history.state.base, base)  # sliders edit the picture


def _bad_files(tmp_path):
    out = {}
    out["text.png"] = tmp_path / "text.png"
    out["text.png"].write_text("this is not a picture")
    good = tmp_path / "good.png"
    Image.fromarray(photo()).save(good)
    out["truncated.png"] = tmp_path / "truncated.png"
    out["truncated.png"].write_bytes(good.read_bytes()[:300])
    out["bomb.png"] = tmp_path / "bomb.png"
    Image.new("1", (20000, 20000)).save(out["bomb.png"])   # 400 Mpixel, a few kB on disk
    out["empty.gif"] = tmp_path / "empty.gif"
    out["empty.gif"].write_bytes(b"")
    return out


def test_bad_files_give_a_clear_message_and_change_nothing(panel, tmp_path):
    before = panel.history.state
    for name, path in _bad_files(tmp_path).items():
        assert panel.open_picture(str(path))
        text = panel.messageLabel.text()
        assert text.startswith(f"Could not open {name}"), text
        assert "too large" in text if name == "bomb.png" else True
        assert panel.history.state is before
        assert "Nothing was changed" in panel.own.notesLabel.text()
    panel.grid.click(1)                           # the room keeps working
    assert np.array_equal(panel.history.state.base, panel.grid.latent(1))


@pytest.mark.parametrize("kind", ["cmyk", "palette", "16bit", "alpha", "animated"])
def test_unusual_pictures_open_with_a_note(panel, tmp_path, kind):
    rgb = Image.fromarray(photo((64, 64)))
    path = tmp_path / f"{kind}.png"
    if kind == "cmyk":
        path = tmp_path / "cmyk.jpg"
        rgb.convert("CMYK").save(path)
    elif kind == "palette":
        rgb.convert("P").save(path)
    elif kind == "16bit":
        Image.fromarray((np.asarray(rgb.convert("L"), np.uint16) * 257)).save(path)
    elif kind == "alpha":
        rgba = rgb.convert("RGBA")
        rgba.putalpha(128)
        rgba.save(path)
    else:
        path = tmp_path / "anim.gif"
        rgb.save(path, save_all=True, append_images=[rgb.rotate(90), rgb.rotate(180)])
    assert panel.open_picture(str(path))
    notes = panel.own.notesLabel.text()
    expected = {"cmyk": "CMYK", "palette": "palette", "16bit": "16-bit",
                "alpha": "transparent", "animated": "first frame"}[kind]
    assert expected in notes, notes
    assert panel.own.mse is not None


def test_morph_exports_gif_webp_and_frames_with_the_right_count_and_size(panel, tmp_path):
    panel.grid.use_as.emit(0, "A")
    panel.grid.use_as.emit(7, "B")
    panel.morph.framesSpin.setValue(7)
    panel.morph.makeButton.click()
    assert len(panel.morph.frames) == 7
    assert np.array_equal(panel.morph.latents[0], panel.grid.latent(0))
    assert np.allclose(panel.morph.latents[-1], panel.grid.latent(7))
    panel.morph.show_frame(3)
    assert np.array_equal(panel.morph.preview.pixels(), panel.morph.frames[3])
    gif = tmp_path / "m.gif"
    assert panel.morph.export_to(str(gif), scale=2)
    with Image.open(gif) as im:
        assert (im.n_frames, im.size) == (7, (128, 128))
    panel.morph.pingPongCheck.setChecked(True)
    webp = tmp_path / "m.webp"
    assert panel.morph.export_to(str(webp))
    with Image.open(webp) as im:
        assert (im.n_frames, im.size) == (12, (64, 64))   # 7 there, 5 back
    folder = tmp_path / "frames"
    assert panel.morph.export_to(str(folder))
    assert sorted(p.name for p in folder.iterdir())[:2] == ["frame-001.png", "frame-002.png"]
    assert len(list(folder.iterdir())) == 12
    panel.morph.useFrameButton.click()                    # frame 3 becomes the image
    assert np.array_equal(panel.history.state.base, panel.morph.latents[3])


def test_morph_end_from_a_dropped_file(panel, tmp_path):
    path = tmp_path / "b.png"
    Image.fromarray(photo((64, 64), seed=3)).save(path)
    drop_file(panel.morph._views["B"], path)
    assert panel.morph.ends["B"].latent is not None
    assert panel.morph.ends["B"].source == "b.png"


def test_export_upscaled_pixel_exact_and_smooth_and_copy(panel, tmp_path, qtbot):
    settle(panel, qtbot)
    exact, smooth = tmp_path / "x8.png", tmp_path / "s4.png"
    assert panel.export_upscaled_to(str(exact), 8)
    assert panel.export_upscaled_to(str(smooth), 4, smooth=True)
    big = np.asarray(Image.open(exact).convert("RGB"))
    assert big.shape == (512, 512, 3)
    assert np.array_equal(big[::8, ::8], panel.current_pixels)        # crisp 8×8 squares
    assert np.array_equal(big[7::8, 7::8], panel.current_pixels)
    assert Image.open(smooth).size == (256, 256)
    assert read_meta(exact)[0] is not None and META_KEY in Image.open(exact).info
    panel.scaleCombo.setCurrentIndex(1)                                # 2×
    assert panel.copy_image()
    assert QGuiApplication.clipboard().image().width() == 128


def test_autosave_restores_latent_sliders_ends_and_history(panel, make_panel, qtbot):
    panel.grid.click(2)
    panel.sliders.slider("skin_tone").setValue(-210)
    panel.grid.use_as.emit(4, "A")
    panel.grid.use_as.emit(6, "B")
    settle(panel, qtbot)
    assert panel.autosave.save_now(force=True)
    state, latent = panel.history.state, panel.current_latent.copy()
    undo_count = panel.history.stack.count()

    again = make_panel()
    assert again.autosave.offer_restore() and again.autosave.banner.isVisibleTo(again)
    again.autosave.banner.restoreButton.click()
    settle(again, qtbot)
    assert np.array_equal(again.history.state.base, state.base)
    assert again.history.state.amounts == state.amounts
    assert np.array_equal(again.current_latent, latent)
    assert again.sliders.slider("skin_tone").value() == -210
    assert again.history.stack.count() == undo_count
    assert np.array_equal(again.morph.ends["A"].latent, panel.morph.ends["A"].latent)
    assert again.morph.ends["B"].pixels is not None
    again.undoButton.click()
    assert again.history.state.amounts == ()


def test_discarding_the_autosave_forgets_it(panel, make_panel):
    panel.autosave.save_now(force=True)
    again = make_panel()
    assert again.autosave.offer_restore()
    again.autosave.banner.discardButton.click()
    assert again.autosave.store.pending() is None


def test_png_with_damaged_latent_data_opens_as_a_plain_picture(panel, tmp_path):
    from PIL import PngImagePlugin

    info = PngImagePlugin.PngInfo()
    info.add_itxt(META_KEY, '{"base": "####"}')
    Image.fromarray(photo((64, 64))).save(tmp_path / "odd.png", pnginfo=info)
    assert panel.open_picture(str(tmp_path / "odd.png"))
    text = panel.messageLabel.text()
    assert "odd.png: its latent data is damaged" in text and "Encoded odd.png" in text


def test_a_damaged_autosave_is_not_offered_or_says_why(panel, make_panel):
    store = panel.autosave.store
    store.path.parent.mkdir(parents=True, exist_ok=True)
    store.path.write_text("{broken", encoding="utf-8")
    again = make_panel()
    assert not again.autosave.offer_restore()
    store.save({"model_dir": panel.model_dir, "history": {"state": {"base": "@@"}}})
    assert again.autosave.offer_restore()
    again.autosave.banner.restoreButton.click()
    assert "could not be restored" in again.messageLabel.text()
    assert again.current_pixels is not None          # the room still starts with a grid


def test_exports_to_an_impossible_place_say_why(panel, tmp_path):
    blocker = tmp_path / "a-file"
    blocker.write_text("x")
    assert not panel.save_png_to(str(blocker / "x.png"))
    assert panel.messageLabel.text().startswith("The image was not saved: cannot write")
    panel.grid.use_as.emit(0, "A")
    panel.grid.use_as.emit(1, "B")
    panel.morph.framesSpin.setValue(3)
    panel.make_morph()
    messages = []
    panel.morph.message.connect(messages.append)
    assert not panel.morph.export_to(str(blocker / "m.gif"))
    assert not panel.morph.export_to(str(blocker / "frames"))
    assert all(m.startswith("The morph was not exported") for m in messages)
    assert panel.morph.export_to(str(tmp_path / "ok.gif"))       # and then it still works
