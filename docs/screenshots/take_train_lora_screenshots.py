"""Render the Train room fine-tuning the built-in writing model (LoRA) — during and after.

    QT_QPA_PLATFORM=offscreen .venv/bin/python docs/screenshots/take_train_lora_screenshots.py [OUT]

The room's default for text when SmolLM2-135M-Instruct is installed: "Fine-tune
smollm2-135m-instruct on your writing (LoRA adapters)". The data is one file of 5 kB of Poe's
tales (public domain, from the shared story corpus; the room holds out its last 10 %), trained
for 6 steps. ``train-lora-running.png`` is caught once the held-out curve has a few points;
``train-lora-done.png`` after the adapter is installed ("is listed in the Write room");
``write-my-voice.png`` after "Write with “my-voice”" (the Write room on base + adapter,
continuing a line with seed 7); ``train-lora-continue.png`` after "Continue my-voice with more
writing" trained that adapter 4 steps further on the next 5 kB of the tales (a new adapter,
"my-voice-2", on the same base). Real training subprocesses; takes a few minutes on a 2-core CPU.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
SHARED = ROOT.parent / "shared" / "data"
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(HERE))

from take_train_screenshots import _wait, _window, shot, start  # noqa: E402  (same set-up)


def write_with_it(app, window, panel, path: Path) -> None:
    """Press "Write with “my-voice”": the Write room loads base + adapter; continue a line of
    Poe's with seed 7 and save the window."""
    from PySide6.QtGui import QTextCursor
    if panel.useModelButton.isHidden():
        raise SystemExit("no “Write with” button after the run: " + panel.messageLabel.text())
    panel.useModelButton.click()
    write = window.current_panel()
    _wait(app, lambda: write.model_info is not None and write._load_job_id is None, 600)
    write.randomness.set_locked(True)
    write.randomness.seedSpin.setValue(7)
    write.editor.setPlainText("It was late in the autumn of the year when I reached the house "
                              "of my old friend, and the night had fallen upon the moor.")
    write.editor.moveCursor(QTextCursor.MoveOperation.End)
    write.maxTokensSpin.setValue(60)
    write.generate()
    _wait(app, lambda: not write.is_running(), 600)
    settled = time.monotonic() + 1.0   # the footer's debounced word count and its re-fit
    _wait(app, lambda: time.monotonic() > settled, 10)
    window.grab().save(str(path))
    print(path, write.model_info.name, flush=True)
    write.editor.document().setModified(False)


def start_run(panel, *, steps: int, name: str, data: Path) -> None:
    """Fill in the form as a person would and press Start."""
    panel.stepsSpin.setValue(steps)
    panel.modelNameEdit.setText(name)
    panel.dataFolderEdit.setText(str(data))
    panel.check_data()
    if not panel.start():
        raise SystemExit(panel.messageLabel.text())


def continue_it(app, window, panel, *, raw_next: bytes, tmp: Path, path: Path) -> None:
    """Back in the Train room: "Continue my-voice with more writing" on the next 5 kB of the
    tales, 4 steps, and save the window when the new adapter is installed."""
    window.show_room("train")
    combo = panel.startFromCombo
    at = next((i for i in range(combo.count())
               if combo.itemText(i).startswith("Continue my-voice ")), -1)
    if at < 0:
        raise SystemExit("my-voice is not offered to continue: "
                         + "; ".join(combo.itemText(i) for i in range(combo.count())))
    combo.setCurrentIndex(at)
    more = tmp / "more-writing"
    more.mkdir()
    (more / "tales-2.txt").write_bytes(raw_next[:raw_next.rfind(b"\n\n")])
    start_run(panel, steps=4, name="my-voice-2", data=more)
    _wait(app, lambda: panel.state == "idle", 3600)
    shot(app, window, panel, path)


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
    start_run(panel, steps=6, name="my-voice", data=data)
    _wait(app, lambda: len(panel.charts.val) >= 3 or panel.state == "idle", 3600)
    shot(app, window, panel, out / "train-lora-running.png")
    _wait(app, lambda: panel.state == "idle", 3600)
    shot(app, window, panel, out / "train-lora-done.png")
    write_with_it(app, window, panel, out / "write-my-voice.png")
    continue_it(app, window, panel, raw_next=(SHARED / "text" / "stories" /
                                            "poe__short-fiction.txt").read_bytes()[5_000:10_000],
                tmp=tmp, path=out / "train-lora-continue.png")
    window.close()
    window.engine.shutdown()
    return 0


if __name__ == "__main__":
    sys.exit(main())
