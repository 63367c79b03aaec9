"""Render the Write room with the built-in SmolLM2-135M-Instruct (offscreen or under Xvfb).

    QT_QPA_PLATFORM=offscreen .venv/bin/python docs/screenshots/take_smollm2_screenshots.py

``write-smollm2-continue.png``: SmolLM2 continuing a story (streamed text and the inspector);
``write-smollm2-instruction.png``: Instruction mode, with the editable fiction system prompt.
Real MainWindow and threaded engine, isolated settings, fixed seeds.
"""

from __future__ import annotations

import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parents[1] / "benchmarks"))
sys.path.insert(0, str(HERE))


def main() -> int:
    from bench_write import build_window, isolate, load, show_inspector, write

    isolate()
    from PySide6.QtGui import QTextCursor
    from PySide6.QtWidgets import QApplication

    from desktop_app.commands.generate_text import resolve_text_model
    from take_write_screenshots import shoot

    app = QApplication([])
    engine, window, panel = build_window(None)
    window.resize(1400, 860)
    try:
        if not load(panel, str(resolve_text_model("smollm2-135m-instruct"))):
            return 1
        write(panel, "The lighthouse keeper had not spoken to anyone in eleven years. On the "
                     "night of the storm, someone knocked on the door.", 70, seed=7)
        show_inspector(panel)
        shoot(app, window, HERE / "write-smollm2-continue.png")

        panel.editor.accept_generated()
        panel.editor.moveCursor(QTextCursor.MoveOperation.End)
        panel.editor.insertPlainText("\n\n")
        panel.instructionCheck.setChecked(True)
        panel.instructionEdit.setText("Write a four-line poem about the storm at the lighthouse.")
        write(panel, None, 60)
        shoot(app, window, HERE / "write-smollm2-instruction.png")
    finally:
        panel.editor.document().setModified(False)
        engine.shutdown()
        window.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
