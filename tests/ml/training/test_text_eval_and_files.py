"""Bits-per-byte scoring, safetensors helpers and the text data loader's edge cases."""

from __future__ import annotations

import math

import pytest
import torch
import torch.nn.functional as F

from desktop_app.core.errors import DataError, ModelLoadError
from desktop_app.ml import checkpoints as ck
from desktop_app.ml.text.tiny import tiny_llama
from desktop_app.ml.training.text_eval import _windows, score_documents


@pytest.mark.parametrize("n,context,stride", [(2, 8, 4), (9, 8, 4), (50, 8, 4), (50, 8, 1),
                                              (50, 8, 7), (17, 16, 8)])
def test_sliding_windows_score_every_target_once(n, context, stride):
    scored = []
    for start, end, first in _windows(n, context, stride):
        assert end - start <= context and start < first <= end
        scored.extend(range(first, end))
    assert scored == list(range(1, n))


def _tiny_model(vocab=40, seed=0):
    return tiny_llama(seed, vocab=vocab, hidden=16, mlp=32, layers=1, heads=2).eval()


def test_score_documents_equals_direct_nll_when_the_context_fits():
    model = _tiny_model()
    docs = [[0, 5, 7, 9, 3, 2, 8], [0, 1, 1, 2], [0, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4]]
    res = score_documents(model, docs, [10, 3, 12], context=64, batch=2)
    direct = 0.0
    with torch.no_grad():
        for ids in docs:
            x = torch.tensor([ids])
            direct += float(F.cross_entropy(model(x[:, :-1])[0], x[0, 1:], reduction="sum"))
    assert res.nll_nats == pytest.approx(direct, rel=1e-5)
    assert res.tokens == sum(len(d) - 1 for d in docs) and res.bytes == 25
    assert res.bits_per_byte == pytest.approx(direct / math.log(2) / 25, rel=1e-5)


class _LogitsOnly(torch.nn.Module):
    """A model that only gives whole logits (no ``logits_from_hidden``), as outside code may."""

    def __init__(self, inner):
        super().__init__()
        self.inner = inner

    def forward(self, ids):
        return self.inner(ids)


def test_long_windows_are_scored_a_few_positions_at_a_time(monkeypatch):
    """Scoring makes the logits of at most SCORE_ROWS positions at once (a 2,048-token window
    of a 49k vocabulary is 400 MB of them), with the same figure as all at once, for a model
    with a head of its own and for one that only returns logits."""
    from desktop_app.ml.training import text_eval
    model = _tiny_model()
    docs = [[0] + [(7 * i) % 40 for i in range(1, 30)], [0, 3, 4, 5]]
    whole = score_documents(model, docs, [29, 3], context=64, batch=2)
    widths = []
    head = model.logits_from_hidden
    monkeypatch.setattr(model, "logits_from_hidden",
                        lambda h: widths.append(h.shape[1]) or head(h))
    monkeypatch.setattr(text_eval, "SCORE_ROWS", 8)
    pieces = score_documents(model, docs, [29, 3], context=64, batch=2)
    assert widths and max(widths) == 8 and sum(widths) == 29 + 3
    assert pieces.nll_nats == pytest.approx(whole.nll_nats, rel=1e-6)
    assert pieces.tokens == whole.tokens == 29 + 3
    other = score_documents(_LogitsOnly(_tiny_model()), docs, [29, 3], context=64, batch=2)
    assert other.nll_nats == pytest.approx(whole.nll_nats, rel=1e-6)


def test_short_context_scores_more_nats_than_long_context_on_a_pattern():
    # a random model sees nothing; this only checks the sliding path runs and counts tokens
    model = _tiny_model()
    ids = [0] + [1, 2, 3] * 30
    res = score_documents(model, [ids], [90], context=8, stride=3)
    assert res.tokens == 90 and math.isfinite(res.nll_nats)


def test_safetensors_round_trip_header_and_damage(tmp_path):
    t = {"a": torch.arange(6, dtype=torch.float32).view(2, 3), "b": torch.ones(4)}
    t["c"] = t["b"]  # shared storage is written as two tensors
    path = tmp_path / "w.safetensors"
    ck.save_tensors(path, t, metadata={"format": "pt"})
    header, meta = ck.read_header(path)
    assert header["a"] == ("F32", [2, 3]) and meta == {"format": "pt"}
    back = ck.load_tensors(path)
    assert torch.equal(back["a"], t["a"]) and torch.equal(back["c"], t["b"])
    data = path.read_bytes()
    path.write_bytes(data[: len(data) - 8])
    with pytest.raises(ModelLoadError, match="truncated"):
        ck.load_tensors(path)
    path.write_bytes(b"\x80" + b"\x00" * 20)
    with pytest.raises(ModelLoadError, match="not a valid safetensors"):
        ck.read_header(path)
    with pytest.raises(ModelLoadError, match="missing"):
        ck.load_tensors(tmp_path / "nope.safetensors")


def test_validate_state_dict_names_the_tensor():
    exp = {"w": torch.zeros(2, 2), "b": torch.zeros(2)}
    with pytest.raises(ModelLoadError, match="'b' is missing"):
        ck.validate_state_dict(exp, {"w": torch.zeros(2, 2)}, "f")
    with pytest.raises(ModelLoadError, match="'w' has shape"):
        ck.validate_state_dict(exp, {"w": torch.zeros(3, 2), "b": torch.zeros(2)}, "f")
    with pytest.raises(ModelLoadError, match="unexpected tensor 'x'"):
        ck.validate_state_dict(exp, {**exp, "x": torch.zeros(1)}, "f")


def test_atomic_json_write_keeps_old_file_on_failure(tmp_path, monkeypatch):
    path = tmp_path / "s.json"
    ck.save_json(path, {"v": 1})

    def boom(*a, **k):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(ck.os, "replace", boom)
    with pytest.raises(OSError):
        ck.save_json(path, {"v": 2})
    assert ck.load_json(path) == {"v": 1}
    assert [p.name for p in tmp_path.iterdir()] == ["s.json"]


def test_single_small_file_is_split_at_its_tail(tmp_path):
    from desktop_app.ml.text.train_data import load_corpus

    f = tmp_path / "one.txt"
    f.write_text("\n".join(f"line {i} of a small story." for i in range(100)), encoding="utf-8")
    c = load_corpus([f])
    (name, train), = c.train
    (_, val), = c.val
    assert train + val == f.read_text() and len(val) < len(train) / 5
    assert c.describe().startswith("1 training file (") and "skipped" not in c.describe()
    with pytest.raises(DataError, match="does not exist"):
        load_corpus([tmp_path / "missing"])


def test_a_folder_of_word_and_opendocument_files_trains_on_their_words(tmp_path):
    """What the Train room's check counts is what the trainer reads (one reader)."""
    import shutil
    from pathlib import Path

    from desktop_app.core.train_data_check import check_folder
    from desktop_app.ml.text.train_data import load_corpus

    writing = Path(__file__).parents[2] / "core" / "writing"
    for name in ("metzengerstein.docx", "metzengerstein.odt"):
        shutil.copy(writing / name, tmp_path / name)
    (tmp_path / "broken.docx").write_bytes(b"PK\x03\x04 not a zip")
    corpus = load_corpus([tmp_path], unwrap=False)
    words = (writing / "metzengerstein.txt").read_text(encoding="utf-8")
    assert [train + val for (_, train), (_, val) in zip(corpus.train, corpus.val)] == [words] * 2
    assert [r for _, r in corpus.skipped] == ["not a readable Word document (File is not a zip "
                                              "file)"]
    assert corpus.describe().startswith("2 training files (")
    assert corpus.describe().endswith("; skipped 1 unusable file (not a readable Word "
                                      "document (File is not a zip file))")
    report = check_folder("text", tmp_path, fine_tune=True)
    assert sorted(report.usable) == ["metzengerstein.docx", "metzengerstein.odt"]
    assert report.data_bytes == 2 * len(words.encode("utf-8"))   # the words, not the zip
    assert dict(report.skipped) == {"broken.docx": corpus.skipped[0][1]}
    assert not report.warnings or all(".docx" not in w for w in report.warnings)


def test_in_a_scrivener_project_only_the_documents_text_is_read(tmp_path):
    """Scrivener 3 keeps each document in Files/Data/<id>/content.rtf (Scrivener 2 in
    Files/Docs/<n>.rtf); the binder's XML, notes and synopses are not the manuscript."""
    import shutil
    from pathlib import Path

    from desktop_app.core.scrivener import SCRIVENER_EXTRA
    from desktop_app.core.train_data_check import check_folder
    from desktop_app.ml.text.train_data import load_corpus

    rtf = Path(__file__).parents[2] / "core" / "writing" / "metzengerstein.rtf"
    project = tmp_path / "My Novel.scriv"
    for rel in ("Files/Data/1A2B/content.rtf", "Files/Data/1A2B/notes.rtf",
                "Files/Docs/3.rtf", "Files/Docs/3_notes.rtf"):
        (project / rel).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(rtf, project / rel)
    (project / "Files" / "Data" / "1A2B" / "synopsis.txt").write_text("A count, a horse.")
    (project / "My Novel.scrivx").write_text('<?xml version="1.0"?><ScrivenerProject/>' * 50)
    report = check_folder("text", tmp_path, fine_tune=True)
    assert sorted(report.usable) == ["My Novel.scriv/Files/Data/1A2B/content.rtf",
                                     "My Novel.scriv/Files/Docs/3.rtf"]
    assert sorted(dict(report.skipped).values()) == [SCRIVENER_EXTRA] * 4
    corpus = load_corpus([tmp_path], unwrap=False)
    assert len(corpus.train) == 2 and len(corpus.skipped) == 4
    assert "ScrivenerProject" not in "".join(t for _, t in corpus.train + corpus.val)


def test_a_validation_list_too_large_is_refused_unread(tmp_path, monkeypatch):
    import pytest

    from desktop_app.core.errors import DataError
    from desktop_app.ml.text import train_data
    monkeypatch.setattr(train_data, "_MAX_VAL_LIST_BYTES", 100)
    (tmp_path / "a.txt").write_text("Some words of mine. " * 20)
    val = tmp_path / "val.txt"
    val.write_text("a.txt\n" * 50)
    with pytest.raises(DataError, match="larger than"):
        train_data.load_corpus([tmp_path / "a.txt"], val_list=val)
