"""Smoke test: the real app in a real X window under Xvfb, screenshot, polite close, exit 0.

Starts its own Xvfb on a free display (``-displayfd``), runs ``python -m desktop_app`` with
``REVERIE_SMOKE_READY_FILE`` so the app reports its first paint, checks with ``xwininfo`` that
the window is mapped, grabs the screen with ImageMagick's ``import`` and checks the picture is
not blank, then sends SIGTERM (the app autosaves and closes without asking) and expects exit
status 0 with no "QThread: Destroyed" on stderr. Skipped only when Xvfb is not installed.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import pytest
from app_process import painted_app, stop, wait_for

pytestmark = [pytest.mark.xvfb, pytest.mark.slow]


@pytest.fixture
def xvfb():
    if shutil.which("Xvfb") is None:
        pytest.skip("Xvfb is not installed (apt-get install xvfb)")
    read_fd, write_fd = os.pipe()
    proc = subprocess.Popen(["Xvfb", "-displayfd", str(write_fd), "-screen", "0", "1280x800x24",
                             "-nolisten", "tcp"], pass_fds=(write_fd,),
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    os.close(write_fd)
    with os.fdopen(read_fd) as fh:
        number = fh.readline().strip()
    assert number, "Xvfb did not report a display number"
    yield f":{number}"
    proc.terminate()
    proc.wait(timeout=10)


def _window_mapped(display: str) -> bool:
    out = subprocess.run(["xwininfo", "-root", "-tree"], env={**os.environ, "DISPLAY": display},
                         capture_output=True, text=True, timeout=10).stdout
    return '"Reverie"' in out


def _screen_variance(png: Path) -> float:
    from PIL import Image, ImageStat

    with Image.open(png) as im:
        return max(ImageStat.Stat(im.convert("RGB")).var)


def test_app_starts_shows_a_window_and_closes_cleanly(xvfb, tmp_path):
    ready = tmp_path / "ready.json"
    env = {**os.environ, "DISPLAY": xvfb, "QT_QPA_PLATFORM": "xcb"}
    env.pop("WAYLAND_DISPLAY", None)
    with painted_app([sys.executable, "-m", "desktop_app"], env, ready, timeout=60) as proc:
        info = json.loads(ready.read_text())
        assert info["torch_imported"] is False, "torch was imported before the window showed"
        if shutil.which("xwininfo"):
            wait_for(lambda: _window_mapped(xvfb), 20, "the window to be mapped")
        screenshot_checked = shutil.which("import") is not None
        if screenshot_checked:
            shot = tmp_path / "screen.png"

            def drawn() -> bool:
                # The first paint may still be on its way to the X server: grab until drawn.
                subprocess.run(["import", "-display", xvfb, "-window", "root", str(shot)],
                               check=True, timeout=30, env=env)
                return _screen_variance(shot) > 50

            wait_for(drawn, 30, "a non-blank screenshot of the window")
        stderr = stop(proc, signal.SIGTERM)  # closing while the warm-up job may still run
    assert proc.returncode == 0, stderr[-2000:]
    assert "QThread: Destroyed" not in stderr
    assert "Traceback" not in stderr, stderr[-2000:]
    if not screenshot_checked:
        pytest.skip("window shown and closed cleanly, but the screenshot was not checked: "
                    "ImageMagick's `import` is missing (apt-get install imagemagick)")
