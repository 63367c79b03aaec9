"""The phrase map (tiny phrase VAE, a few real tunes) and the word map (the built-in model)."""

from __future__ import annotations

import gzip
from pathlib import Path

import numpy as np
import pytest

from desktop_app.core.paths import builtin_models_dir
from desktop_app.ml.music import data as D

STORIES = builtin_models_dir() / "text" / "reverie-stories"


@pytest.fixture(scope="module")
def few_tunes(tmp_path_factory):
    """A copy of the first tunes of each public-domain collection (fast to load)."""
    src = D.music_data_dir()
    if not all((src / f"melodies_{c}.jsonl.gz").is_file() for c in D.PUBLIC_DOMAIN):
        pytest.skip("the shared melody data is not here")
    root = tmp_path_factory.mktemp("shared")
    out = root / "data" / "music"
    out.mkdir(parents=True)
    for c in D.PUBLIC_DOMAIN:
        with gzip.open(src / f"melodies_{c}.jsonl.gz", "rt", encoding="utf-8") as fh:
            lines = [next(fh) for _ in range(8)]
        with gzip.open(out / f"melodies_{c}.jsonl.gz", "wt", encoding="utf-8") as fh:
            fh.writelines(lines)
    return root


def test_phrase_map_hover_and_midi_path(make_view, few_tunes, tmp_path, monkeypatch):
    from desktop_app.core.midi import read_midi
    from desktop_app.ml.music.phrase_atlas import build_atlas
    from desktop_app.ml.music.tiny import tiny_vae_dir
    vae = tiny_vae_dir(tmp_path / "phrase-vae")
    assert build_atlas(vae, D.load_tunes(data_dir=few_tunes / "data" / "music")) >= 10
    # The map reads only the model folder: no melody data anywhere at run time.
    monkeypatch.setenv("REVERIE_SHARED_DIR", str(tmp_path / "nowhere"))
    v = make_view()
    v.load("music", str(vae))
    assert v.data is not None, v.status.text()
    n = len(v.data)
    assert n >= 10 and v.data.codes.shape == (n, 8) and len(v.data.melodies) == n
    assert {"meter", "mode", "collection", "split"} <= set(v.data.categories)
    v._on_point_hovered(2, 10, 10)
    assert v.hover.picture.pixmap().width() == 160          # the mini piano roll
    asked = []
    v.decodeRequested.connect(asked.append)
    v.select_point(3)
    np.testing.assert_array_equal(asked[-1], v.data.codes[3])
    v.path.drawButton.setChecked(True)
    for i in (0, 4):
        v.latentMap.click_at(*v.xy[i])
    assert v.path.exportButton.isEnabled()
    out = tmp_path / "path.mid"
    assert v.path.export_midi(out) == 2
    mel = read_midi(out)
    first, second = v.data.melodies[0], v.data.melodies[4]
    assert len(mel.notes) == len(first.notes) + len(second.notes)


BUILTIN_VAE = builtin_models_dir() / "music" / "phrase-vae"


@pytest.mark.skipif(not (BUILTIN_VAE / "atlas.json").is_file(), reason="no built-in phrase VAE")
def test_builtin_phrase_map_works_outside_the_development_tree(make_view, tmp_path, monkeypatch):
    """Issue 20 #13: the shipped atlas is all the map needs (no ../shared/data/music)."""
    monkeypatch.setenv("REVERIE_SHARED_DIR", str(tmp_path / "nowhere"))
    v = make_view()
    v.load("music", str(BUILTIN_VAE))
    assert v.data is not None, v.status.text()
    assert len(v.data) >= 1000 and v.data.codes.shape[1] == 64
    assert v.data.held_out[0] and "held out" in v.data.categories["split"]
    size = sum((BUILTIN_VAE / f).stat().st_size for f in ("atlas.json", "atlas.safetensors"))
    assert size < 3_000_000


def test_phrase_vae_without_an_atlas_or_with_a_damaged_one_says_so(make_view, tmp_path):
    import json

    from desktop_app.ml.music.tiny import tiny_vae_dir
    vae = tiny_vae_dir(tmp_path / "phrase-vae")
    v = make_view()
    v.load("music", str(vae))
    assert v.data is None and "no phrase atlas" in v.status.text()
    (vae / "atlas.json").write_text(json.dumps({"version": 1, "names": [], "categories": {}}))
    (vae / "atlas.safetensors").write_bytes(b"\x08\x00\x00\x00\x00\x00\x00\x00{}      ")
    v.load("music", str(vae))
    assert v.data is None and "damaged" in v.status.text() and "\n" not in v.status.text()


def test_music_model_that_is_not_a_phrase_vae_says_what_the_map_needs(make_view, tmp_path):
    from desktop_app.ml.music.tiny import tiny_lm_dir
    v = make_view()
    v.load("music", str(tiny_lm_dir(tmp_path / "lm")))
    assert v.data is None and "the map needs the phrase VAE" in v.status.text()


@pytest.mark.skipif(not STORIES.is_dir(), reason="the built-in story model is not installed")
def test_word_map_neighbours_analogy_and_empty_space(make_view):
    v = make_view()
    v.load("text", str(STORIES))
    assert v.data is not None, v.status.text()
    words = v.data.names
    assert all(w.isalpha() for w in words) and len(words) > 500
    assert v.analogy.isVisibleTo(v)
    i = [k for k, w in enumerate(words) if w.lower() == "king"][0]
    v.select_point(i)
    assert v.neighbours.neighboursList.count() == 12
    v.analogy.a.setText("king")
    v.analogy.b.setText("man")
    v.analogy.c.setText("woman")
    found = v.analogy.solve()
    assert len(found) == 8 and all(w.lower() not in ("king", "man", "woman") for w, _ in found)
    v.analogy.a.setText("zzzz")
    assert v.analogy.solve() == [] and "not in the map's vocabulary" in v.analogy.message.text()
    asked = []
    v.decodeRequested.connect(asked.append)
    x, y = v.xy[i] + 0.01
    v.decode_at(float(x), float(y))
    np.testing.assert_allclose(asked[-1], v.linear.inverse((x, y)))
    assert "nearest item" in v.info.text()
    v.path.drawButton.setChecked(True)
    j = [k for k, w in enumerate(words) if w.lower() == "queen"][0]
    for k in (i, j):
        v.latentMap.click_at(*v.xy[k])
    walk = v.path.word_walk()
    assert walk[0].lower() == "king" and walk[-1].lower() == "queen"


def test_a_long_message_never_widens_the_window(window, qtbot):
    """Issue 20 #13: a long unbreakable path in a message widened the window past the screen.

    The status bar hides its state label while a temporary message shows, so the widening
    came when that message cleared and the label, holding the path, asked for its full width
    (6,470 px here before the label elided)."""
    from desktop_app.core.events import Failed, Started
    window.resize(1000, 700)
    window.show()
    window.show_room("explore")
    view = window.current_panel().view
    long_path = "/very" * 200 + "/melodies_oneills1850.jsonl.gz"
    view.set_status(f"missing melody data {long_path}; set REVERIE_SHARED_DIR")
    window.engine.event.emit(Started(job_id=999, label="Map"))
    window.engine.event.emit(Failed(job_id=999, message=f"cannot read {long_path}"))
    window.status.clearMessage()          # the temporary message times out
    qtbot.wait(10)
    assert window.status.stateLabel.isVisible() and long_path[:40] in window.status.state_text()
    assert view.status.minimumSizeHint().width() < 400
    assert window.minimumSizeHint().width() < 1000
    assert window.width() <= 1000


def test_switching_the_map_type_forgets_the_old_map(make_view, tmp_path):
    """Issue 20 #14: neighbours, "Open in …", hover card and star belonged to the old map."""
    from desktop_app.ml.music.tiny import tiny_vae_dir
    v = make_view()
    v.show()
    v.load("music", str(tiny_vae_dir(tmp_path / "no-atlas")))   # fails: no atlas; v.data stays None
    rng = np.random.default_rng(0)
    from desktop_app.core.explore import MapData
    a = MapData("text", "a", rng.normal(size=(30, 4)).astype(np.float32),
                tuple(f"w{i}" for i in range(30)), {})
    v.set_map(a)
    v.select_point(3)
    v.latentMap.set_current((0.0, 0.0))
    v._on_point_hovered(2, 10, 10)
    assert v.neighbours.neighboursList.count() > 0 and v.openButton.isEnabled()
    b = MapData("text", "b", rng.normal(size=(20, 4)).astype(np.float32),
                tuple(f"v{i}" for i in range(20)), {})
    v.set_map(b)
    assert v.neighbours.neighboursList.count() == 0
    assert not v.openButton.isEnabled() and v.openButton.text() == "Open in its room"
    assert not v.hover.isVisible()
    assert len(v.latentMap._current.data) == 0
