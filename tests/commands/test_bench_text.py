"""``reverie bench text`` prints prompt and generation speed, peak RSS and the bound."""

from __future__ import annotations

import torch

from desktop_app import cli
from desktop_app.ml.text.tiny import tiny_llama_dir


def test_bench_text_reverie_only(tmp_path, capsys):
    tiny_llama_dir(tmp_path, vocab=64, mlp=48, layers=1, heads=2)
    code = cli.main(["bench", "text", "--model", str(tmp_path), "--prompt-tokens", "8",
                     "--new-tokens", "4"])
    out = capsys.readouterr().out
    assert code == 0, out
    assert "reverie auto" in out and "gen tok/s" in out and "peak RSS" in out
    line = next(ln for ln in out.splitlines() if ln.startswith("reverie auto"))
    assert float(line.split()[2]) > 0  # prompt tokens/s
    assert torch.get_num_threads() >= 1


def test_a_worker_without_transformers_reports_one_clear_line(tmp_path, capsys, monkeypatch):
    """`--compare` where transformers is absent (the app bundle leaves it out): the worker
    prints one ERROR line the parent shows, not a traceback."""
    import argparse
    import sys

    import pytest

    from desktop_app.ml.text import bench

    monkeypatch.setitem(sys.modules, "transformers", None)      # import raises ImportError
    args = argparse.Namespace(worker="transformers", model=str(tmp_path), prompt_tokens=8,
                              new_tokens=4, precision="fp32", threads=1)
    with pytest.raises(SystemExit):
        bench._worker(args)
    out = capsys.readouterr().out
    assert out.startswith("ERROR transformers is not installed") and "Traceback" not in out
