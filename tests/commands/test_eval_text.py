"""``reverie eval text``: bits per byte of a model on the user's files (tiny GGUF models)."""

from __future__ import annotations

import json
import math
import sys
from pathlib import Path

import pytest
import torch

sys.path.insert(0, str(Path(__file__).parents[1] / "ml" / "text"))
from gguf_fixtures import CORPUS, write_tiny_gguf  # noqa: E402

from desktop_app.cli import main  # noqa: E402


@pytest.fixture(scope="module")
def model(tmp_path_factory):
    path = tmp_path_factory.mktemp("evalmodel") / "tiny.gguf"
    write_tiny_gguf(path, layers=1, hidden=64, inter=64, heads=2, kv_heads=1)
    return path


@pytest.fixture
def data(tmp_path):
    folder = tmp_path / "texts"
    (folder / "sub").mkdir(parents=True)
    (folder / "a.txt").write_text(" ".join(CORPUS[:4]), encoding="utf-8")
    (folder / "sub" / "b.md").write_text(" ".join(CORPUS[1:3]) * 3, encoding="utf-8")
    (folder / "ignored.bin").write_bytes(b"\xff\x00")
    return folder


def test_json_matches_a_direct_computation(model, data, capsys):
    assert main(["eval", "text", "--model", str(model), "--data", str(data), "--context", "32",
                 "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert set(out) >= {"bits_per_byte", "tokens", "bytes", "files", "model", "seconds"}
    assert out["files"] == 2 and out["model"]["name"] == "tiny"
    assert len(out["model"]["sha256"]) == 64
    # read as the trainers read text: Windows line ends (the fixture has one) as "\n"
    texts = [(data / n).read_bytes().decode().replace("\r\n", "\n") for n in ("a.txt", "sub/b.md")]
    assert out["bytes"] == sum(len(t.encode()) for t in texts)

    from desktop_app.ml.text.loader import load_text_model

    lm = load_text_model(model)
    nll, count = 0.0, 0
    sep = lm.tokenizer.token_id("<|endoftext|>")
    with torch.no_grad():  # every token scored once, windows of 32 moving by 16
        for text in texts:
            ids = [sep] + lm.tokenizer.encode(text)
            scored = 1
            start = 0
            while scored < len(ids):
                end = min(len(ids), start + 32)
                logp = torch.log_softmax(lm.model(torch.tensor([ids[start:end - 1]]))[0], -1)
                for pos in range(scored, end):
                    nll -= logp[pos - start - 1, ids[pos]].item()
                    count += 1
                scored, start = end, max(0, end - 16)
    assert out["tokens"] == count
    assert math.isclose(out["bits_per_byte"], nll / math.log(2) / out["bytes"], rel_tol=1e-6)


def test_plain_output_and_single_file(model, data, capsys):
    assert main(["eval", "text", "--model", str(model), "--data", str(data / "a.txt"),
                 "--context", "64"]) == 0
    line = capsys.readouterr().out.strip()
    assert line.startswith("tiny: ") and "bits per byte" in line and "1 file," in line


@pytest.mark.parametrize("args,code,words", [
    (["--data", "/no/such/place"], 2, "no such file"),
    (["--context", "100000"], 2, "limit of 256"),
    (["--context", "5"], 2, "from 16"),
])
def test_usage_errors(model, data, capsys, args, code, words):
    argv = ["eval", "text", "--model", str(model),
            *([] if "--data" in args else ["--data", str(data)]), *args]
    try:
        result = main(argv)
    except SystemExit as exc:  # argparse's own range check
        result = exc.code
    assert result == code
    err = capsys.readouterr().err
    assert words in err


def test_not_utf8_and_broken_model(model, tmp_path, capsys):
    bad = tmp_path / "latin1.txt"
    bad.write_bytes("café".encode("latin-1"))
    assert main(["eval", "text", "--model", str(model), "--data", str(bad)]) == 1
    assert "not UTF-8" in capsys.readouterr().err
    broken = tmp_path / "broken.gguf"
    broken.write_bytes(model.read_bytes()[:5000])
    good = tmp_path / "ok.txt"
    good.write_text("hello", encoding="utf-8")
    assert main(["eval", "text", "--model", str(broken), "--data", str(good)]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "broken.gguf" in err[0]


def test_windows_text_scores_as_the_trainers_read_it(model, tmp_path, capsys):
    """A byte-order mark and Windows line ends are read as training reads them (dropped, "\n"):
    the figure is the one a fine-tune's card gives for the same held-out file."""
    text = "The first line.\nThe second, longer line of the draft.\n\nA new paragraph.\n"
    (tmp_path / "unix.txt").write_bytes(text.encode())
    (tmp_path / "windows.txt").write_bytes(b"\xef\xbb\xbf" + text.replace("\n", "\r\n").encode())
    figures = []
    for name in ("unix.txt", "windows.txt"):
        assert main(["eval", "text", "--model", str(model), "--data", str(tmp_path / name),
                     "--context", "32", "--json"]) == 0
        out = json.loads(capsys.readouterr().out)
        figures.append((out["bits_per_byte"], out["bytes"], out["tokens"]))
    assert figures[1] == figures[0] and figures[0][1] == len(text.encode())


def test_a_word_or_opendocument_file_scores_as_its_words(model, tmp_path, capsys):
    """The .docx/.doc/.odt/.rtf/.epub LibreOffice wrote from metzengerstein.txt score exactly as the
    text does (one reader for training and evaluation); a broken one is one line."""
    writing = Path(__file__).parents[1] / "core" / "writing"
    figures = []
    for name in ("metzengerstein.txt", "metzengerstein.docx", "metzengerstein.doc",
                 "metzengerstein.odt", "metzengerstein.rtf", "metzengerstein.epub"):
        assert main(["eval", "text", "--model", str(model), "--data", str(writing / name),
                     "--context", "32", "--json"]) == 0
        out = json.loads(capsys.readouterr().out)
        figures.append((out["bits_per_byte"], out["bytes"], out["tokens"]))
    assert figures[1:] == [figures[0]] * 5
    (tmp_path / "broken.odt").write_bytes(b"not a zip")
    assert main(["eval", "text", "--model", str(model), "--data", str(tmp_path)]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "not a readable OpenDocument text" in err[0]
