"""``reverie train text`` end to end on a tiny model: JSON progress, resume, HF export, bad input."""

from __future__ import annotations

import json

import pytest
import torch

from desktop_app.cli import main
from desktop_app.ml import checkpoints as ck
from training_helpers import write_corpus

FAST = ["--size", "test", "--batch-size", "4", "--eval-batches", "2", "--log-every", "2",
        "--threads", "1", "--vocab-size", "300", "--context", "32", "--warmup", "2"]


def _json_lines(out: str) -> list[dict]:
    return [json.loads(line) for line in out.splitlines() if line.startswith("{")]


def test_json_progress_resume_and_hf_folder(tmp_path, capsys):
    data = write_corpus(tmp_path / "data")
    out = tmp_path / "run"
    argv = ["train", "text", "--data", str(data), "--out", str(out), "--steps", "8",
            "--eval-every", "4", "--sample-every", "4", "--checkpoint-every", "4",
            "--progress", "json", *FAST]
    assert main(argv) == 0
    events = _json_lines(capsys.readouterr().out)
    kinds = {e["kind"] for e in events}
    assert {"prepare", "start", "step", "eval", "sample", "checkpoint", "done"} <= kinds
    step = next(e for e in events if e["kind"] == "step")
    assert {"step", "loss", "lr", "tokens_per_s", "eta_s"} <= set(step)
    assert any("val_loss" in e for e in events)
    assert any(e.get("checkpoint", "").endswith("step-00000008") for e in events)
    for name in ("config.json", "model.safetensors", "tokenizer.json", "tokenizer_config.json",
                 "generation_config.json"):
        assert (out / name).is_file(), name

    # the same command again refuses to overwrite; with --resume it continues to more steps
    assert main(argv) == 2
    assert "--resume" in capsys.readouterr().err
    argv[argv.index("--steps") + 1] = "12"
    assert main([*argv, "--resume"]) == 0
    events = _json_lines(capsys.readouterr().out)
    assert next(e for e in events if e["kind"] == "start")["step"] == 8
    assert events[-1]["kind"] == "done" and events[-1]["step"] == 12

    # a different configuration is refused with a clear message
    assert main([*argv, "--resume", "--lr", "0.05"]) == 1
    assert "different configuration" in capsys.readouterr().err


def test_transformers_loads_the_folder_with_the_same_logits(tmp_path, capsys):
    transformers = pytest.importorskip("transformers")
    from desktop_app.ml.text.llama import LlamaConfig, LlamaForCausalLM

    data = write_corpus(tmp_path / "data")
    out = tmp_path / "run"
    assert main(["train", "text", "--data", str(data), "--out", str(out), "--steps", "6",
                 "--eval-every", "0", "--sample-every", "0", *FAST]) == 0
    capsys.readouterr()
    hf = transformers.AutoModelForCausalLM.from_pretrained(str(out), dtype=torch.float32).eval()
    tok = transformers.AutoTokenizer.from_pretrained(str(out))
    text = "Anna found a golden key, but nobody knew why."
    ids = tok(text, return_tensors="pt").input_ids
    from tokenizers import Tokenizer
    assert ids[0].tolist() == Tokenizer.from_file(str(out / "tokenizer.json")).encode(text).ids
    assert tok.decode(ids[0]) == text
    ours = LlamaForCausalLM(LlamaConfig.from_hf(ck.load_json(out / "config.json"))).eval()
    ours.load_state_dict(ck.load_tensors(out / "model.safetensors"))
    with torch.no_grad():
        a, b = hf(ids).logits, ours(ids)
    assert a.shape == b.shape == (1, ids.shape[1], ours.config.vocab_size)
    torch.testing.assert_close(a, b, atol=1e-4, rtol=1e-4)
    assert b.std() > 0.01  # a trained model, not a constant


def test_empty_folder_is_a_clear_error(tmp_path, capsys):
    (tmp_path / "empty").mkdir()
    code = main(["train", "text", "--data", str(tmp_path / "empty"), "--out",
                 str(tmp_path / "o"), *FAST])
    assert code == 1
    err = capsys.readouterr().err
    assert err.startswith("reverie: error: no files found") and err.count("\n") == 1


def test_binary_and_non_utf8_files_only(tmp_path, capsys):
    d = tmp_path / "junk"
    d.mkdir()
    (d / "a.bin").write_bytes(bytes(range(256)) * 4)
    (d / "b.txt").write_bytes("caf\xe9 latin-1 text".encode("latin-1"))
    assert main(["train", "text", "--data", str(d), "--out", str(tmp_path / "o"), *FAST]) == 1
    err = capsys.readouterr().err
    assert "no usable text" in err and "binary file" in err and "not UTF-8" in err


def test_unusable_files_are_skipped_with_a_count(tmp_path, capsys):
    d = write_corpus(tmp_path / "data")
    (d / "image.png").write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00" * 10)
    (d / "old.txt").write_bytes(b"\xff\xfe bad bytes")
    assert main(["train", "text", "--data", str(d), "--out", str(tmp_path / "o"), "--steps",
                 "2", "--eval-every", "0", "--sample-every", "0", *FAST]) == 0
    assert "skipped 2 unusable files (binary file, not UTF-8 text)" in capsys.readouterr().out


def test_val_list_naming_a_missing_file(tmp_path, capsys):
    d = write_corpus(tmp_path / "data")
    lst = tmp_path / "val.txt"
    lst.write_text("data/story1.txt\nnot-there.txt\n")
    assert main(["train", "text", "--data", str(d), "--val-list", str(lst), "--out",
                 str(tmp_path / "o"), *FAST]) == 1
    assert "not-there.txt" in capsys.readouterr().err


def test_val_list_holds_out_whole_files(tmp_path):
    from desktop_app.ml.text.train_data import load_corpus

    d = write_corpus(tmp_path / "data", n_files=5)
    lst = tmp_path / "val.txt"
    lst.write_text("# held out\ndata/story1.txt\nstory3.txt\n")
    c = load_corpus([d], lst)
    assert sorted(n for n, _ in c.val) == ["story1.txt", "story3.txt"]
    assert sorted(n for n, _ in c.train) == ["story0.txt", "story2.txt", "story4.txt"]


@pytest.mark.slow
@pytest.mark.timeout(180)
def test_ctrl_c_stops_after_saving_a_checkpoint(tmp_path):
    import os
    import signal
    import subprocess
    import sys

    from desktop_app.ml.training import state

    data = write_corpus(tmp_path / "data")
    out = tmp_path / "run"
    cmd = [sys.executable, "-m", "desktop_app", "train", "text", "--data", str(data), "--out",
           str(out), "--steps", "100000", "--eval-every", "0", "--sample-every", "0",
           "--checkpoint-every", "100000", "--progress", "json", *FAST]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env={**os.environ, "OMP_NUM_THREADS": "1"})
    try:
        for line in proc.stdout:  # blocks until the first training step is reported
            if '"kind": "step"' in line:
                break
        proc.send_signal(signal.SIGINT)
        rest, err = proc.communicate(timeout=120)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == 130, err
    events = _json_lines(rest)
    assert events[-1]["kind"] == "stopped"
    stopped_at = events[-1]["step"]
    assert any(e["kind"] == "checkpoint" for e in events)
    assert state.latest_step(out) == stopped_at > 0
    assert "--resume" in err
    assert (out / "model.safetensors").is_file()
