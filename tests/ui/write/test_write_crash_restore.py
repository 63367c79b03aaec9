"""Autosave survives a kill: a subprocess running the app types, autosaves on its timer, is
killed with SIGKILL; the next start offers the text back, and restoring it brings it back."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

DRIVER = textwrap.dedent("""
    import json, sys
    from PySide6.QtCore import QTimer
    from PySide6.QtWidgets import QApplication, QWidget
    app = QApplication([])
    from desktop_app.engine.sync_engine import SyncEngine
    from desktop_app.ui.main_window import MainWindow
    from desktop_app.ui.settings import Settings
    window = MainWindow(SyncEngine(), Settings())
    window.show()
    panel = window.findChild(QWidget, "writePanel")
    if not hasattr(panel, "editor"):  # the main window still shows the placeholder room
        from desktop_app.ui.widgets.randomness import RandomnessControls
        from desktop_app.ui.write.panel import WritePanel
        panel = WritePanel(window.engine, RandomnessControls(), autoload=False)
        panel.show()
    app.processEvents()
    if sys.argv[1] == "write":
        panel.editor.insertPlainText(sys.argv[2])
        panel.autosave.timer.setInterval(100)  # the 30 s timer, shortened for the test
        def check():
            if panel.autosave.store.path.exists():
                print("READY", flush=True)
            else:
                QTimer.singleShot(50, check)
        check()
        app.exec()
    else:
        offered = not panel.autosave.banner.isHidden()
        restored = panel.autosave.restore_pending() if offered else False
        print(json.dumps({"offered": offered, "label": panel.autosave.banner.label.text(),
                          "restored": restored, "text": panel.editor.toPlainText(),
                          "unsaved": panel.has_unsaved_changes()}), flush=True)
        panel.editor.document().setModified(False)
        window.engine.shutdown()
""")


def run_driver(args, env, **kw):
    return subprocess.Popen([sys.executable, "-c", DRIVER, *args], env=env, text=True,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, **kw)


@pytest.mark.timeout(120)
def test_killed_app_offers_its_text_next_start(tmp_path):
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen", REVERIE_DATA_DIR=str(tmp_path / "data"),
               XDG_CONFIG_HOME=str(tmp_path / "config"), REVERIE_INSTALL_ROOT=str(tmp_path / "none"))
    env["PYTHONPATH"] = str(Path(__file__).resolve().parents[3])
    text = "The unsaved chapter: 🐉 the dragon who kept the lighthouse ✨"
    proc = run_driver(["write", text], env)
    try:
        line = proc.stdout.readline()
        assert line.strip() == "READY", proc.stderr.read() if proc.poll() is not None else line
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == -signal.SIGKILL
    snapshot = tmp_path / "data" / "autosave" / "write.json"
    assert snapshot.exists()
    second = run_driver(["check"], env)
    out, err = second.communicate(timeout=90)
    assert second.returncode == 0, err
    result = json.loads(out.strip().splitlines()[-1])
    assert result["offered"], result
    assert "did not close cleanly" in result["label"]
    assert result["restored"] and result["text"] == text and result["unsaved"]
