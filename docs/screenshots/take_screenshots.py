"""Render the README screenshots of the main window (offscreen, no torch, no models needed).

    QT_QPA_PLATFORM=offscreen .venv/bin/python docs/screenshots/take_screenshots.py [OUT_DIR]

Uses the real MainWindow with a real (never started) InferenceEngine, in an isolated settings
and data folder so the screenshots do not depend on the machine's preferences.
"""

from __future__ import annotations

import os
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent


def main() -> int:
    out = Path(sys.argv[1]) if len(sys.argv) > 1 else HERE
    out.mkdir(parents=True, exist_ok=True)
    tmp = tempfile.mkdtemp(prefix="reverie-shots-")
    os.environ["XDG_CONFIG_HOME"] = str(Path(tmp) / "config")
    os.environ["HOME"] = tmp  # messages show the user's folders as ~/...
    os.environ["REVERIE_DATA_DIR"] = str(Path(tmp) / ".local" / "share" / "reverie")
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

    from PySide6.QtWidgets import QApplication

    from desktop_app.engine.engine import InferenceEngine
    from desktop_app.ui.main_window import MainWindow
    from desktop_app.ui.settings import Settings

    from desktop_app.ui.theme import apply_theme

    app = QApplication([])
    apply_theme(app, "light")  # as app.main does: the theme before the window
    engine = InferenceEngine()
    window = MainWindow(engine, Settings())
    window.resize(1200, 760)
    window.randomness.seedSpin.setValue(1234567)
    window.show()
    shots = [("light", "write"), ("light", "imagine"), ("dark", "compose"), ("dark", "write")]
    for theme, room in shots:
        window.set_theme(theme)
        window.show_room(room)
        app.processEvents()
        path = out / f"{room}-{theme}.png"
        window.grab().save(str(path))
        print(path)
    window.close()
    engine.shutdown()
    return 0


if __name__ == "__main__":
    sys.exit(main())
