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
import sys

import pytest
from app_process import painted_app, stop

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


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
def test_signal_autosaves_and_exits_0_without_a_dialog(tmp_path, sig):
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen", "XDG_CONFIG_HOME": str(tmp_path / "cfg"),
           "XDG_DATA_HOME": str(tmp_path / "data")}
    for name in ("REVERIE_DATA_DIR", "REVERIE_AUTOSAVE_DIR", "REVERIE_USER_MODELS_DIR"):
        env.pop(name, None)
    with painted_app([sys.executable, "-c", DRIVER], env, tmp_path / "ready.json") as proc:
        # A hang on the dialog would run into stop's timeout; a clean close takes ~1 s.
        stderr = stop(proc, sig)
    assert proc.returncode == 0, stderr[-2000:]
    assert "Traceback" not in stderr, stderr[-2000:]
    saved = json.loads((tmp_path / "data" / "reverie" / "autosave" / "write.json").read_text())
    state = saved["state"]
    assert TEXT in state["session"]["text"] and state["modified"] is True
