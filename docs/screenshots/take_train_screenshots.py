"""Render the Train room screenshots (offscreen; real window, real training subprocesses).

    QT_QPA_PLATFORM=offscreen .venv/bin/python docs/screenshots/take_train_screenshots.py [OUT]

``train-running.png`` (light): the *tiny* text preset training on 12 works of the public-domain
story corpus (the first 40 kB of each), caught after about 40 steps — progress, ETA, loss
curves, the first samples; the run is then cancelled. ``train-melody-dark.png`` (dark): the
*tiny* melody preset trained to the end (300 steps) on 200 tunes of the O'Neill's 1850
collection (written out as MIDI files first), with its samples and the "model ready" message.
Takes 3-5 minutes on a 2-core CPU.
"""

from __future__ import annotations

import os
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
SHARED = ROOT.parent / "shared" / "data"
sys.path.insert(0, str(ROOT))


def _text_data(tmp: Path) -> Path:
    out = tmp / "stories"
    out.mkdir()
    for f in sorted((SHARED / "text" / "stories").glob("*.txt"))[:12]:
        (out / f.name).write_bytes(f.read_bytes()[:40_000])
    return out


def _midi_data(tmp: Path) -> Path:
    from desktop_app.core.midi import write_midi
    from desktop_app.ml.music import data as D
    out = tmp / "tunes"
    out.mkdir()
    tunes = D.load_tunes(("oneills1850",), SHARED / "music")[:200]
    for i, tune in enumerate(tunes):
        melody = D.tune_melody(tune)
        if melody is not None and melody.notes:
            write_midi(melody, out / f"tune{i:03d}.mid")
    return out


def _wait(app, condition, timeout_s: float) -> None:
    end = time.monotonic() + timeout_s
    while not condition():
        if time.monotonic() > end:
            raise SystemExit("timed out waiting for the training run")
        app.processEvents()
        time.sleep(0.05)  # a script, not a test: poll the event loop


def _window(theme: str):
    from desktop_app.engine.sync_engine import SyncEngine
    from desktop_app.ui import main_window as mw
    from desktop_app.ui.settings import Settings
    settings = Settings()
    settings.set_theme(theme)
    window = mw.MainWindow(SyncEngine(), settings)
    window.resize(1280, 800)
    window.show()
    window.show_room("train")
    return window, window.current_panel()


def _run(app, panel, kind: str, size: str, steps: int, folder: Path, name: str) -> None:
    panel.trainKindCombo.setCurrentIndex(panel.trainKindCombo.findData(kind))
    panel.startFromCombo.setCurrentIndex(panel.startFromCombo.findData(f"size:{size}"))
    panel.stepsSpin.setValue(steps)
    panel.modelNameEdit.setText(name)
    panel.dataFolderEdit.setText(str(folder))
    if not panel.start():
        raise SystemExit(panel.messageLabel.text())


def start(prefix: str):
    """(output folder from argv, a fresh temporary folder, the QApplication): settings and
    user data live in the temporary folder, never the user's own."""
    out = Path(sys.argv[1]) if len(sys.argv) > 1 else HERE
    out.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=prefix))
    os.environ["XDG_CONFIG_HOME"] = str(tmp / "config")
    os.environ["REVERIE_DATA_DIR"] = str(tmp / "data")
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    from PySide6.QtWidgets import QApplication
    return out, tmp, QApplication([])


def shot(app, window, panel, path: Path) -> None:
    """Draw the charts as they are now and save the whole window."""
    app.processEvents()
    panel.charts.redraw()
    app.processEvents()
    window.grab().save(str(path))
    print(path, panel.messageLabel.text(), flush=True)


def main() -> int:
    from desktop_app.ui.theme import apply_theme
    out, tmp, app = start("reverie-train-shots-")

    apply_theme(app, "light")
    window, panel = _window("light")
    _run(app, panel, "text", "tiny", 300, _text_data(tmp), "my-stories")
    _wait(app, lambda: panel.progressBar.value() >= 40 and len(panel.charts.val) >= 2
          or panel.state == "idle", 900)
    shot(app, window, panel, out / "train-running.png")
    panel.cancel()
    _wait(app, lambda: panel.state == "idle", 60)
    window.close()
    window.engine.shutdown()

    apply_theme(app, "dark")
    window, panel = _window("dark")
    _run(app, panel, "music", "tiny", 300, _midi_data(tmp), "my-reels")
    _wait(app, lambda: panel.state == "idle", 900)
    shot(app, window, panel, out / "train-melody-dark.png")
    window.close()
    window.engine.shutdown()
    return 0


if __name__ == "__main__":
    sys.exit(main())
