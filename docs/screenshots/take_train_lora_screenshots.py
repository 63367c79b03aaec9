"""Render the Train room fine-tuning the built-in writing model (LoRA) — during and after.

    QT_QPA_PLATFORM=offscreen .venv/bin/python docs/screenshots/take_train_lora_screenshots.py [OUT]

The room's default for text when SmolLM2-135M-Instruct is installed: "Fine-tune
smollm2-135m-instruct on your writing (LoRA adapters)". The data is one file of 5 kB of Poe's
tales (public domain, from the shared story corpus; the room holds out its last 10 %), trained
for 6 steps. ``train-lora-running.png`` is caught once the held-out curve has a few points;
``train-lora-done.png`` after the adapter is installed ("is listed in the Write room"). Real
training subprocess; takes a few minutes on a 2-core CPU.
"""

from __future__ import annotations

import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
SHARED = ROOT.parent / "shared" / "data"
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(HERE))

from take_train_screenshots import _wait, _window, shot, start  # noqa: E402  (same set-up)


def main() -> int:
    from desktop_app.ui.theme import apply_theme
    out, tmp, app = start("reverie-lora-shots-")
    apply_theme(app, "light")
    window, panel = _window("light")
    data = tmp / "my-writing"
    data.mkdir()
    raw = (SHARED / "text" / "stories" / "poe__short-fiction.txt").read_bytes()[:5_000]
    (data / "tales.txt").write_bytes(raw[:raw.rfind(b"\n\n")])
    if not str(panel.startFromCombo.currentData() or "").startswith("lora:"):
        raise SystemExit("the built-in writing model is not the default: "
                         + panel.startFromCombo.currentText())
    panel.stepsSpin.setValue(6)
    panel.modelNameEdit.setText("my-voice")
    panel.dataFolderEdit.setText(str(data))
    panel.check_data()
    if not panel.start():
        raise SystemExit(panel.messageLabel.text())
    _wait(app, lambda: len(panel.charts.val) >= 3 or panel.state == "idle", 3600)
    shot(app, window, panel, out / "train-lora-running.png")
    _wait(app, lambda: panel.state == "idle", 3600)
    shot(app, window, panel, out / "train-lora-done.png")
    window.close()
    window.engine.shutdown()
    return 0


if __name__ == "__main__":
    sys.exit(main())
