"""Render the Explore room screenshots (offscreen; uses the built-in models).

    QT_QPA_PLATFORM=offscreen .venv/bin/python docs/screenshots/take_explore_screenshots.py \
        [--out docs/screenshots]

Writes ``explore-images.png`` (the fashion model's atlas as a PCA map coloured by class, a
point selected with its decoded image and neighbours, a hover card), ``explore-tsne.png``
(the same atlas laid out by t-SNE), ``explore-axes.png`` (the emoji model on its "smile"
and "older" directions, coloured by skin tone) and ``explore-words.png``
(the story model's word map, the neighbours of a word and an analogy). Uses the real main
window when its Explore room is the explorer, else the panel on its own; the synchronous
engine runs the real handlers; settings and data go to a temporary folder.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parents[1]))


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", default=str(HERE))
    ap.add_argument("--no-tsne", action="store_true", help="skip the t-SNE shot (~1 min)")
    args = ap.parse_args()
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    tmp = tempfile.mkdtemp(prefix="reverie-shots-")
    os.environ["REVERIE_DATA_DIR"] = tmp
    os.environ["XDG_CONFIG_HOME"] = tmp
    import torch
    torch.set_num_threads(1)
    from PySide6.QtCore import QPoint
    from PySide6.QtWidgets import QApplication

    from desktop_app.engine.sync_engine import SyncEngine
    from desktop_app.ui.explore.panel import ExplorePanel
    from desktop_app.ui.theme import apply_theme
    from desktop_app.ui.widgets.randomness import RandomnessControls
    app = QApplication.instance() or QApplication([])
    apply_theme(app, "light")
    engine = SyncEngine()
    from desktop_app.ui.room_list import room_classes
    if any(cls is ExplorePanel for cls in room_classes()):
        from desktop_app.ui.main_window import MainWindow
        from desktop_app.ui.settings import Settings
        window = MainWindow(engine, Settings())
        window.resize(1400, 860)
        window.show()
        window.show_room("explore")
        panel, shot = window.panel("explore"), window
    else:
        panel = ExplorePanel(engine, RandomnessControls())
        panel.resize(1280, 800)
        panel.show()
        shot = panel
    app.processEvents()
    view = panel.view
    out = Path(args.out)

    panel.open_model("image", "fashion")
    app.processEvents()
    idx = view.search("Sneaker")[0]
    view.controls.latentSearch.setText("")
    view.select_point(idx)
    hover = [i for i, c in enumerate(view.data.categories["class"]) if c == "Trouser"][3]
    g = view.latentMap.mapToGlobal(view.latentMap.view_to_widget(*view.xy[hover]).toPoint())
    view.latentMap.pointHovered.emit(hover, g.x(), g.y())
    for _ in range(5):
        app.processEvents()
    shot.grab().save(str(out / "explore-images.png"))
    view.hover.hide()
    if not args.no_tsne:
        view.controls.projectionCombo.setCurrentText("t-SNE")     # runs inline (SyncEngine)
        view.controls.colourByCombo.setCurrentText("class")
        view.select_point(idx)
        for _ in range(5):
            app.processEvents()
        shot.grab().save(str(out / "explore-tsne.png"))
        view.controls.projectionCombo.setCurrentText("PCA")

    from desktop_app.core.paths import builtin_models_dir
    if (builtin_models_dir() / "image" / "emoji" / "atlas.json").is_file():
        panel.open_model("image", "emoji")
        app.processEvents()
        c = view.controls
        c.projectionCombo.setCurrentText("Attribute axes")
        c.xAxisCombo.setCurrentText("smile")
        c.yAxisCombo.setCurrentText("older")
        c.colourByCombo.setCurrentText("skin_tone")
        faces = [i for i, n in enumerate(view.data.names) if "Grinning Face" in n]
        if faces:
            view.select_point(faces[0])
        for _ in range(5):
            app.processEvents()
        shot.grab().save(str(out / "explore-axes.png"))
        c.projectionCombo.setCurrentText("PCA")

    panel.open_model("text", "reverie-stories")
    app.processEvents()
    word = [i for i, w in enumerate(view.data.names) if w.lower() == "king"][0]
    view.select_point(word)
    a = view.analogy
    a.a.setText("king")
    a.b.setText("man")
    a.c.setText("woman")
    a.solve()
    near = [i for i, w in enumerate(view.data.names) if w.lower() == "queen"]
    if near:
        g = view.latentMap.mapToGlobal(view.latentMap.view_to_widget(*view.xy[near[0]])
                                       .toPoint() + QPoint(0, 0))
        view.latentMap.pointHovered.emit(near[0], g.x(), g.y())
    for _ in range(5):
        app.processEvents()
    shot.grab().save(str(out / "explore-words.png"))
    print("wrote", out / "explore-images.png", out / "explore-words.png")
    engine.shutdown()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
