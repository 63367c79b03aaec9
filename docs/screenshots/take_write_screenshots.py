"""Render the Write room screenshots with a real model (offscreen or under Xvfb).

    QT_QPA_PLATFORM=offscreen .venv/bin/python docs/screenshots/take_write_screenshots.py \
        [--model DIR] [--out DIR]

Uses the real MainWindow and threaded engine in an isolated settings and data folder, the
built-in story model by default, and a fixed seed, so the pictures are reproducible:
``write-room.png`` (streamed text and the inspector), ``write-room-tokens.png`` (colour by
probability and a token's alternatives), ``write-room-variants.png`` (three variants) and
``write-room-advanced-dark.png`` (every sampler stage, dark theme).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parents[1] / "benchmarks"))


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--model")
    parser.add_argument("--out", default=str(HERE))
    args = parser.parse_args()
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    from bench_write import build_window, isolate, load, show_inspector, write

    isolate()
    from PySide6.QtWidgets import QApplication

    from desktop_app.core import paths

    model = args.model or str(paths.builtin_models_dir() / "text" / "reverie-stories")
    app = QApplication([])
    engine, window, panel = build_window(None)
    window.resize(1400, 860)
    if panel.window() is not window:  # not in the main window yet: picture the room alone
        window = panel
        window.resize(1300, 820)
        window.set_theme = lambda theme: None
    try:
        if not load(panel, model):
            return 1
        write(panel, "Once upon a time, there was a dragon who", 90, seed=20240)
        show_inspector(panel)
        shoot(app, window, out / "write-room.png")

        span = panel.editor.last_span()
        index = min(range(len(span.tokens)), key=lambda i: span.tokens[i].probability
                    if span.tokens[i].text.strip() else 2.0)
        panel.token_view.colour_check.setChecked(True)
        panel.token_view.show_token(span, index)
        panel.side_tabs.setCurrentWidget(panel.token_page)
        shoot(app, window, out / "write-room-tokens.png")
        panel.token_view.colour_check.setChecked(False)

        panel.editor.accept_generated()
        panel.variantsSpin.setValue(3)
        write(panel, None, 40)
        panel.side_tabs.setCurrentWidget(panel.inspector)
        shoot(app, window, out / "write-room-variants.png")

        panel.variants_view.hide()
        window.set_theme("dark")
        panel.side_tabs.setCurrentIndex(2)
        shoot(app, window, out / "write-room-advanced-dark.png")
        window.set_theme("light")
    finally:
        panel.editor.document().setModified(False)
        engine.shutdown()
        window.close()
    return 0


def shoot(app, window, path: Path) -> None:
    panel = window if hasattr(window, "editor") else window.findChild(object, "writePanel")
    panel._update_counts()  # the word count is debounced; show the current one
    app.processEvents()
    window.grab().save(str(path))
    print(path)


if __name__ == "__main__":
    sys.exit(main())
