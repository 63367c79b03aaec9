"""Render the Write room with the built-in SmolLM2-135M-Instruct (offscreen or under Xvfb).

    QT_QPA_PLATFORM=offscreen .venv/bin/python docs/screenshots/take_smollm2_screenshots.py

``write-smollm2-continue.png``: SmolLM2 continuing a story (streamed text and the inspector);
``write-smollm2-instruction.png``: Instruction mode, with the editable fiction system prompt.
Real MainWindow and threaded engine, isolated settings, fixed seeds.
"""

from __future__ import annotations

import os
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parents[1] / "benchmarks"))
sys.path.insert(0, str(HERE))


def continue_lighthouse(panel, tokens: int, wait) -> None:
    """Seed 7 (locked), the lighthouse opening, generate ``tokens`` and ``wait()``."""
    from PySide6.QtGui import QTextCursor

    panel.randomness.set_locked(True)
    panel.randomness.seedSpin.setValue(7)
    panel.editor.setPlainText("The lighthouse keeper had not spoken to anyone in eleven "
                              "years. On the night of the storm, someone knocked on the door.")
    panel.editor.moveCursor(QTextCursor.MoveOperation.End)
    panel.maxTokensSpin.setValue(tokens)
    panel.generate()
    wait()


def main() -> int:
    tmp = tempfile.mkdtemp(prefix="reverie-shots-")
    os.environ["XDG_CONFIG_HOME"] = str(Path(tmp) / "config")
    os.environ["REVERIE_DATA_DIR"] = str(Path(tmp) / "data")
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

    from PySide6.QtGui import QTextCursor
    from PySide6.QtWidgets import QApplication

    from bench_write import build_window
    from gui_timing import wait_for as _wait

    def wait_for(predicate, timeout=600):
        _wait(predicate, timeout, "timed out waiting for the engine")
    from desktop_app.commands.generate_text import resolve_text_model
    from take_write_screenshots import shoot

    app = QApplication([])
    engine, window, panel = build_window(None)
    window.resize(1400, 860)
    try:
        panel.request_model(str(resolve_text_model("smollm2-135m-instruct")))
        wait_for(lambda: panel._load_job_id is None, timeout=300)
        if panel.model_info is None:
            print(f"the model did not load: {panel.picker.error.text()}", file=sys.stderr)
            return 1
        continue_lighthouse(panel, 70, lambda: wait_for(lambda: not panel.is_running(),
                                                        timeout=600))
        panel.side_tabs.setCurrentWidget(panel.inspector)
        panel.request_inspection()
        wait_for(lambda: panel._inspect_job_id is None and panel.inspector.logits is not None,
                 timeout=300)
        shoot(app, window, HERE / "write-smollm2-continue.png")

        panel.editor.accept_generated()
        panel.editor.moveCursor(QTextCursor.MoveOperation.End)
        panel.editor.insertPlainText("\n\n")
        panel.instructionCheck.setChecked(True)
        panel.instructionEdit.setText("Write a four-line poem about the storm at the lighthouse.")
        panel.maxTokensSpin.setValue(60)
        panel.generate()
        wait_for(lambda: not panel.is_running(), timeout=600)
        shoot(app, window, HERE / "write-smollm2-instruction.png")
    finally:
        panel.editor.document().setModified(False)
        engine.shutdown()
        window.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
