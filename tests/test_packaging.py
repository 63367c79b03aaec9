"""Packaging files are valid: desktop entry, AppStream metainfo, icons, PyInstaller spec."""

from __future__ import annotations

import ast
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PKG = ROOT / "packaging"
APP_ID = "io.github.reverie.Reverie"


@pytest.mark.skipif(shutil.which("desktop-file-validate") is None,
                    reason="desktop-file-validate missing (apt-get install desktop-file-utils)")
def test_desktop_file_validates():
    result = subprocess.run(["desktop-file-validate", str(PKG / f"{APP_ID}.desktop")],
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "error" not in result.stdout.lower()


@pytest.mark.skipif(shutil.which("appstreamcli") is None,
                    reason="appstreamcli missing (apt-get install appstream)")
def test_metainfo_validates():
    result = subprocess.run(["appstreamcli", "validate", "--no-net",
                             str(PKG / f"{APP_ID}.metainfo.xml")],
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stdout + result.stderr


def test_ids_agree():
    from desktop_app import APP_ID as code_id

    assert code_id == APP_ID
    meta = (PKG / f"{APP_ID}.metainfo.xml").read_text()
    assert f"<id>{APP_ID}</id>" in meta and f"{APP_ID}.desktop" in meta
    assert f"Icon={APP_ID}" in (PKG / f"{APP_ID}.desktop").read_text()


@pytest.mark.parametrize("size", [16, 22, 24, 32, 48, 64, 128, 256, 512])
def test_icon_png_sizes_exist(size):
    from PIL import Image

    path = PKG / "icons" / "hicolor" / f"{size}x{size}" / "apps" / f"{APP_ID}.png"
    with Image.open(path) as im:
        assert im.size == (size, size)
        assert im.convert("RGBA").getextrema()[3][1] == 255  # not fully transparent


def test_svgs_render(qapp):
    from PySide6.QtSvg import QSvgRenderer

    svgs = [PKG / "icons" / f"{APP_ID}.svg", *(ROOT / "resources" / "icons").glob("*.svg")]
    assert len(svgs) >= 9
    for svg in svgs:
        assert QSvgRenderer(str(svg)).isValid(), svg


def test_pyinstaller_spec_is_python_and_bundles_models_and_resources():
    text = (PKG / "reverie.spec").read_text()
    ast.parse(text)
    assert '"resources"' in text and '"models"' in text
    assert (PKG / "reverie_launcher.py").is_file()


def _launcher():
    import importlib.util
    spec = importlib.util.spec_from_file_location("reverie_launcher", PKG / "reverie_launcher.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)          # not __main__: defines run_module_argv only
    return mod


def test_bundle_launcher_answers_dash_m_for_reverie_modules(capsys, monkeypatch):
    """The Train room and `bench text` start `sys.executable -m desktop_app ...`; in the bundle
    sys.executable is the launcher, so it must run that module like Python would."""
    launcher = _launcher()
    monkeypatch.setattr(sys, "argv", list(sys.argv))
    assert launcher.run_module_argv(["reverie", "models"]) is False
    with pytest.raises(SystemExit) as done:
        launcher.run_module_argv(["reverie", "-m", "desktop_app", "models"])
    assert done.value.code in (0, None)
    assert "folk-melodies" in capsys.readouterr().out
    with pytest.raises(SystemExit, match="Reverie's own modules only"):
        launcher.run_module_argv(["reverie", "-m", "http.server"])
