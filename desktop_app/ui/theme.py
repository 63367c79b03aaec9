"""Light, Dark and System themes: the Fusion style with a hand-tuned palette (GUI thread).

"System" follows the desktop's colour scheme when Qt can read it (Qt ≥ 6.5), else light.
A small style sheet (``resources/themes/reverie.qss``) adds spacing and the side bar's look;
it uses palette roles only, so one sheet serves both palettes.
"""

from __future__ import annotations

import logging

from PySide6.QtCore import Qt
from PySide6.QtGui import QColor, QPalette
from PySide6.QtWidgets import QApplication

from desktop_app.core import paths

log = logging.getLogger(__name__)

ACCENT = "#6c5ce7"  # the Reverie violet, shared by the app icon

_LIGHT = {
    "Window": "#f4f4f7", "WindowText": "#1d1d24", "Base": "#ffffff", "AlternateBase": "#ececf2",
    "ToolTipBase": "#ffffff", "ToolTipText": "#1d1d24", "PlaceholderText": "#8a8a96",
    "Text": "#1d1d24", "Button": "#ebebf0", "ButtonText": "#1d1d24", "BrightText": "#ffffff",
    "Light": "#ffffff", "Midlight": "#e2e2ea", "Mid": "#c4c4cf", "Dark": "#9c9cab",
    "Shadow": "#6e6e7a", "Highlight": ACCENT, "HighlightedText": "#ffffff",
    "Link": "#5041d0", "LinkVisited": "#7a4fbf",
}
_DARK = {
    "Window": "#1e1f26", "WindowText": "#e6e6ee", "Base": "#15161b", "AlternateBase": "#24252d",
    "ToolTipBase": "#2b2c35", "ToolTipText": "#e6e6ee", "PlaceholderText": "#7d7e8c",
    "Text": "#e6e6ee", "Button": "#2a2b33", "ButtonText": "#e6e6ee", "BrightText": "#ffffff",
    "Light": "#3a3b45", "Midlight": "#30313a", "Mid": "#24252c", "Dark": "#121317",
    "Shadow": "#000000", "Highlight": "#8677f0", "HighlightedText": "#ffffff",
    "Link": "#a79cff", "LinkVisited": "#c3a6ff",
}


def resolve_theme(theme: str) -> str:
    """Map "system" to "light" or "dark" from the desktop's colour scheme."""
    if theme in ("light", "dark"):
        return theme
    app = QApplication.instance()
    try:
        scheme = app.styleHints().colorScheme() if app else Qt.ColorScheme.Unknown
    except AttributeError:  # Qt < 6.5
        return "light"
    return "dark" if scheme == Qt.ColorScheme.Dark else "light"


def build_palette(theme: str) -> QPalette:
    colours = _DARK if resolve_theme(theme) == "dark" else _LIGHT
    palette = QPalette()
    for role_name, colour in colours.items():
        palette.setColor(getattr(QPalette.ColorRole, role_name), QColor(colour))
    disabled = QColor(colours["PlaceholderText"])
    for role in (QPalette.ColorRole.WindowText, QPalette.ColorRole.Text,
                 QPalette.ColorRole.ButtonText):
        palette.setColor(QPalette.ColorGroup.Disabled, role, disabled)
    palette.setColor(QPalette.ColorGroup.Disabled, QPalette.ColorRole.Highlight,
                     QColor(colours["Mid"]))
    return palette


def style_sheet() -> str:
    path = paths.resources_dir() / "themes" / "reverie.qss"
    try:
        return path.read_text(encoding="utf-8")
    except OSError:
        log.warning("theme style sheet %s is missing; using the plain Fusion look", path)
        return ""


def apply_theme(app: QApplication, theme: str) -> str:
    """Apply ``theme`` ("light", "dark" or "system") to ``app``; return the resolved name."""
    resolved = resolve_theme(theme)
    if app.style().name().lower() != "fusion":  # a new style object re-polishes every
        app.setStyle("Fusion")                   # widget: set it only once
    previous = app.property("reverieTheme")
    app.setPalette(build_palette(resolved))
    app.setProperty("reverieTheme", resolved)
    sheet = style_sheet()
    if app.styleSheet() != sheet:
        app.setStyleSheet(sheet)
    elif previous not in (None, resolved) and sheet:
        # The sheet's palette(...) colours are resolved when widgets are polished: after a
        # switch at run time they keep the old theme's colours until the sheet is re-applied.
        app.setStyleSheet("")
        app.setStyleSheet(sheet)
    return resolved
