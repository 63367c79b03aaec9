"""The ``reverie`` command line: help, ``models`` (table and JSON), usage errors exit 2."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from safetensors.numpy import save_file

ROOT = Path(__file__).resolve().parents[1]


def reverie(*args, env_extra=None, timeout=120):
    env = {**os.environ, **(env_extra or {})}
    return subprocess.run([sys.executable, "-m", "desktop_app", *args], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=timeout)


@pytest.fixture
def install(tmp_path):
    """A fake install root with one text and one music model."""
    root = tmp_path / "install"
    for kind, name, shape, licence in (("text", "story-gpt", (16, 32), "MIT"),
                                       ("music", "folk-tiny", (8, 8), "CC-BY-4.0")):
        folder = root / "models" / kind / name
        folder.mkdir(parents=True)
        save_file({"w": np.zeros(shape, np.float32)}, str(folder / "model.safetensors"))
        (folder / "config.json").write_text(json.dumps({"license": licence}))
    return root


def test_help_lists_subcommands():
    result = reverie("--help")
    assert result.returncode == 0
    for word in ("models", "gui", "usage: reverie"):
        assert word in result.stdout


def test_help_imports_neither_qt_nor_torch():
    code = ("import sys\nfrom desktop_app.cli import main\n"
            "try:\n    main(['--help'])\nexcept SystemExit:\n    pass\n"
            "bad = [m for m in ('torch', 'PySide6.QtWidgets') if m in sys.modules]\n"
            "print('LOADED', bad)\n")
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True,
                         timeout=60).stdout
    assert "LOADED []" in out


def test_models_table(install):
    result = reverie("models", env_extra={"REVERIE_INSTALL_ROOT": str(install)})
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0].split()[:5] == ["NAME", "KIND", "PARAMETERS", "SIZE", "LICENCE"]
    rows = {line.split()[0]: line.split() for line in lines[1:]}
    assert rows["story-gpt"][1:3] == ["text", "512"]
    assert rows["folk-tiny"][1:3] == ["music", "64"]
    assert "CC-BY-4.0" in rows["folk-tiny"]


def test_models_json_and_kind_filter(install):
    result = reverie("models", "--json", "--kind", "text",
                     env_extra={"REVERIE_INSTALL_ROOT": str(install)})
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    assert [(m["name"], m["kind"], m["parameters"], m["licence"]) for m in data] == [
        ("story-gpt", "text", 512, "MIT")]
    assert data[0]["size_bytes"] > 512 * 4


def test_models_with_missing_models_folder_warns_and_succeeds(tmp_path):
    result = reverie("models", env_extra={"REVERIE_INSTALL_ROOT": str(tmp_path / "nowhere")})
    assert result.returncode == 0
    assert "models folder" in result.stderr and "missing" in result.stderr
    assert "No models found" in result.stderr


def test_unknown_subcommand_exits_2_with_usage():
    result = reverie("frobnicate")
    assert result.returncode == 2
    assert result.stderr.startswith("usage: reverie") and "invalid choice" in result.stderr


def test_unknown_option_exits_2_with_usage():
    result = reverie("models", "--bogus")
    assert result.returncode == 2
    assert "usage:" in result.stderr and "--bogus" in result.stderr


EXIT_PROBE = """
import atexit, sys, types
sys.modules["desktop_app.ml.training.ddp"] = types.SimpleNamespace(joined_a_group=lambda: {joined})
atexit.register(lambda: print("finalized"))
from desktop_app import cli
sys.argv = ["reverie", "frobnicate"]
sys.exit(cli.main({argv}))
"""


@pytest.mark.parametrize("joined,argv,finalized", [
    (True, None, False),    # a torchrun rank on the command line: os._exit, the status kept
    (False, None, True),    # no process group: the usual exit
    (True, ["frobnicate"], True),   # main() called from Python (tests, the app): it returns
])
def test_a_process_group_run_skips_finalization(joined, argv, finalized):
    """After a run under torchrun the command skips the interpreter's finalization, where Gloo's
    threads can abort a finished run (SIGABRT), and keeps the command's exit status."""
    result = subprocess.run([sys.executable, "-c", EXIT_PROBE.format(joined=joined, argv=argv)],
                            cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert result.returncode == 2 and "invalid choice" in result.stderr
    assert ("finalized" in result.stdout) == finalized
