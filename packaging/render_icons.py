"""Render the application icon's PNG sizes from its SVG with Qt's QSvgRenderer.

    .venv/bin/python packaging/render_icons.py

Writes ``packaging/icons/hicolor/<N>x<N>/apps/io.github.reverie.Reverie.png`` for the sizes
desktop environments use, plus ``resources/icons/reverie-256.png`` for the window icon fallback.
Runs offscreen; needs no display.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
SVG = HERE / "icons" / "io.github.reverie.Reverie.svg"
SIZES = (16, 22, 24, 32, 48, 64, 128, 256, 512)


def render(svg: Path, size: int, out: Path) -> None:
    from PySide6.QtCore import Qt
    from PySide6.QtGui import QImage, QPainter
    from PySide6.QtSvg import QSvgRenderer

    renderer = QSvgRenderer(str(svg))
    if not renderer.isValid():
        raise SystemExit(f"render_icons: {svg} is not a valid SVG")
    image = QImage(size, size, QImage.Format.Format_ARGB32_Premultiplied)
    image.fill(Qt.GlobalColor.transparent)
    painter = QPainter(image)
    painter.setRenderHint(QPainter.RenderHint.Antialiasing)
    painter.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform)
    renderer.render(painter)
    painter.end()
    out.parent.mkdir(parents=True, exist_ok=True)
    if not image.save(str(out), "PNG"):
        raise SystemExit(f"render_icons: cannot write {out}")


def main() -> int:
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    from PySide6.QtGui import QGuiApplication

    app = QGuiApplication.instance() or QGuiApplication([])  # noqa: F841 - fonts/paint need it
    for size in SIZES:
        out = HERE / "icons" / "hicolor" / f"{size}x{size}" / "apps" / "io.github.reverie.Reverie.png"
        render(SVG, size, out)
        print(out.relative_to(HERE.parent))
    render(SVG, 256, HERE.parent / "resources" / "icons" / "reverie-256.png")
    return 0


if __name__ == "__main__":
    sys.exit(main())
