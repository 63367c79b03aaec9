"""SIGTERM / SIGINT with unsaved text: autosave, no "save changes?" dialog, exit 0 (issue 20 #6).

Runs the real entry point (``desktop_app.cli.main([])`` → ``app.main``) in a subprocess on the
offscreen platform, types unsaved text into the Write room after the window shows, sends the
signal, and expects exit status 0 (before the fix the process sat forever on the modal
dialog) and the text in the Write room's autosave. A person closing the window is still asked:
``tests/ui/test_main_window.py`` covers the dialog path.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
TEXT = "Words nobody saved, typed just before the logout."

DRIVER = f"""
import sys
from desktop_app.ui import main_window as mw

_show = mw.MainWindow.show

def show(self):
    _show(self)
    self.show_room("write")
    panel = self.current_panel()
    panel.editor.textCursor().insertText({TEXT!r})
    assert panel.has_unsaved_changes()

mw.MainWindow.show = show
from desktop_app.cli import main
sys.exit(main([]))
"""


def _wait_for(predicate, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.05)
    raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what}")


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
def test_signal_autosaves_and_exits_0_without_a_dialog(tmp_path, sig):
    ready = tmp_path / "ready.json"
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen", "XDG_CONFIG_HOME": str(tmp_path / "cfg"),
           "XDG_DATA_HOME": str(tmp_path / "data"), "REVERIE_SMOKE_READY_FILE": str(ready)}
    for name in ("REVERIE_DATA_DIR", "REVERIE_AUTOSAVE_DIR", "REVERIE_USER_MODELS_DIR"):
        env.pop(name, None)
    proc = subprocess.Popen([sys.executable, "-c", DRIVER], cwd=ROOT, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        _wait_for(lambda: ready.exists() or proc.poll() is not None, 120, "the first paint")
        assert proc.poll() is None, proc.communicate()[1][-2000:]
        proc.send_signal(sig)
        # A hang on the dialog would run into this timeout; a clean close takes ~1 s.
        _, stderr = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    assert proc.returncode == 0, stderr[-2000:]
    assert "Traceback" not in stderr, stderr[-2000:]
    saved = json.loads((tmp_path / "data" / "reverie" / "autosave" / "write.json").read_text())
    state = saved["state"]
    assert TEXT in state["session"]["text"] and state["modified"] is True
