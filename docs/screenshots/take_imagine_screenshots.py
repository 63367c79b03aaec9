"""Render the README screenshots of the Imagine room (offscreen; needs an image model).

    QT_QPA_PLATFORM=offscreen .venv/bin/python docs/screenshots/take_imagine_screenshots.py \
        [--model emoji] [--out docs/screenshots]

Uses the real MainWindow and InferenceEngine in isolated settings and data folders. Writes
``imagine-picture.png`` (an emoji drawn from the Noto font as "your picture", beside its
reconstruction), ``imagine-sliders.png`` (that picture edited with the sliders),
``imagine-morph.png`` (a morph from it to another emoji, scrubbed half-way) and
``imagine-dark.png``. If the main window still shows a placeholder for the room, the panel is
shown on its own with the Randomness controls.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
sys.path.insert(0, str(ROOT))


def spin(app, cond, timeout_s=120.0):
    t0 = time.perf_counter()
    while not cond():
        app.processEvents()
        if time.perf_counter() - t0 > timeout_s:
            raise SystemExit("timed out")


def pause(app, seconds=0.3, panel=None):
    if panel is not None:
        panel.show_message("")       # no leftover notes in the picture
        panel.window().statusBar().clearMessage() if hasattr(panel.window(), "statusBar") \
            else None
    end = time.perf_counter() + seconds
    spin(app, lambda: time.perf_counter() > end)


def noto_face(path: Path, char: str = "\U0001F603") -> bool:
    """Draw an emoji with the Noto Color Emoji font (if installed) as a user's picture."""
    from PIL import Image, ImageDraw, ImageFont

    font_file = Path("/usr/share/fonts/truetype/noto/NotoColorEmoji.ttf")
    if not font_file.is_file():
        return False
    font = ImageFont.truetype(str(font_file), 109)
    img = Image.new("RGBA", (160, 136), (255, 255, 255, 0))
    ImageDraw.Draw(img).text((16, 4), char, font=font, embedded_color=True)
    img.save(path)
    return True


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--model", default=None)
    ap.add_argument("--out", default=str(HERE))
    ap.add_argument("--face", default="\U0001F469", help="emoji to draw as your picture")
    ap.add_argument("--other", default="\U0001F476", help="emoji for the morph's B")
    args = ap.parse_args()
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix="reverie-shots-"))
    os.environ["XDG_CONFIG_HOME"] = str(tmp / "config")
    os.environ["REVERIE_DATA_DIR"] = str(tmp / "data")
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

    from PySide6.QtWidgets import QApplication, QHBoxLayout, QWidget

    from desktop_app.engine.engine import InferenceEngine
    from desktop_app.ui.imagine.panel import ImaginePanel
    from desktop_app.ui.main_window import MainWindow
    from desktop_app.ui.settings import Settings
    from desktop_app.ui.theme import apply_theme

    app = QApplication([])
    engine = InferenceEngine(num_threads=1)
    window = MainWindow(engine, Settings())
    window.resize(1440, 860)
    panel = window.panel("imagine")
    shell = window
    if not isinstance(panel, ImaginePanel):   # the main window still has the placeholder
        shell = QWidget()
        row = QHBoxLayout(shell)
        panel = ImaginePanel(engine, window.randomness, autoload=False)
        row.addWidget(panel, 1)
        row.addWidget(window.randomness)
        shell.resize(1440, 860)
    window.randomness.seedSpin.setValue(2024)
    window.randomness.set_locked(True)
    apply_theme(app, "light")
    shell.show()
    if shell is window:
        window.show_room("imagine")
    model = args.model or next((n for n in ("emoji", "fashion")
                                if (ROOT / "models" / "image" / n).is_dir()), None)
    folder = Path(model) if "/" in model else ROOT / "models" / "image" / model
    panel.request_model(str(folder))
    spin(app, lambda: panel.current_pixels is not None)
    settle = lambda: spin(app, lambda: not panel._decode_pending  # noqa: E731
                          and not panel._decode_in_flight and not panel._side_jobs)
    face, other = tmp / "my-face.png", tmp / "other.png"
    if noto_face(face, args.face) and noto_face(other, args.other):
        panel.open_picture(str(face))                 # your picture, beside its reconstruction
        spin(app, lambda: panel.own.mse is not None)
        settle()
        pause(app, panel=panel)
        shell.grab().save(str(out / "imagine-picture.png"))
        panel.encode_morph_end("B", str(other))       # morph B from a file
    for name, value in (("skin_tone", 100), ("older", 100)):
        if name in panel.sliders.sliders:
            panel.sliders.slider(name).setValue(value)
    settle()
    panel.tabs.setCurrentWidget(panel.sliders)
    pause(app, panel=panel)
    shell.grab().save(str(out / "imagine-sliders.png"))

    panel.morph.end_requested.emit("A", "current")
    if panel.morph.ends["B"].latent is None:
        panel.grid.use_as.emit(4, "B")
    panel.morph.framesSpin.setValue(16)
    panel.tabs.setCurrentWidget(panel.morph)
    panel.make_morph()
    spin(app, lambda: panel.morph.makeButton.isEnabled())
    panel.morph.show_frame(8)
    pause(app, panel=panel)
    shell.grab().save(str(out / "imagine-morph.png"))

    apply_theme(app, "dark")
    panel.tabs.setCurrentWidget(panel.sliders)
    panel.grid.click(7)
    spin(app, lambda: not panel._decode_pending and not panel._decode_in_flight)
    pause(app, panel=panel)
    shell.grab().save(str(out / "imagine-dark.png"))
    for p in sorted(out.glob("imagine-*.png")):
        print(p)
    engine.shutdown()
    return 0


if __name__ == "__main__":
    sys.exit(main())
