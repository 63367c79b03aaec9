"""The room seam holds: each room's widgets are declared, and rooms reach nothing but the API.

``build_layout(p)`` of each room creates the widgets its panel and mixins use; the room's
``<Room>Widgets`` class declares them. Both directions are checked here: every widget the
layout sets is declared (with the type it really has), and nothing declared is left unset.
"""

from __future__ import annotations

import ast
import importlib
from pathlib import Path

import pytest

from desktop_app.engine.sync_engine import SyncEngine
from desktop_app.ui.widgets.randomness import RandomnessControls

UI = Path(__file__).resolve().parents[2] / "desktop_app" / "ui"
ROOMS = {"write": ("WriteWidgets", "WritePanel", {"autoload": False}),
         "imagine": ("ImagineWidgets", "ImaginePanel", {"autoload": False}),
         "compose": ("ComposeWidgets", "ComposePanel", {"restore": False}),
         "train": ("TrainWidgets", "TrainPanel", {})}
ROOM_PACKAGES = ("write", "imagine", "compose", "explore", "train")


def _set_by_layout(room: str) -> set[str]:
    """Names ``build_layout`` and its helpers assign as ``p.<name> = …``."""
    tree = ast.parse((UI / room / "layout.py").read_text(encoding="utf-8"))
    names = set()
    for node in ast.walk(tree):
        targets = node.targets if isinstance(node, ast.Assign) else []
        for target in targets:
            for t in (target.elts if isinstance(target, ast.Tuple) else [target]):
                if isinstance(t, ast.Attribute) and isinstance(t.value, ast.Name) \
                        and t.value.id == "p":
                    names.add(t.attr)
    return names


@pytest.mark.parametrize("room", sorted(ROOMS))
def test_every_widget_the_layout_makes_is_declared_with_its_type(room, qtbot):
    widgets_name, panel_name, kwargs = ROOMS[room]
    declared = getattr(importlib.import_module(f"desktop_app.ui.{room}.layout"),
                       widgets_name).__annotations__
    assert _set_by_layout(room) == set(declared), (
        f"{room}/layout.py and {widgets_name} disagree")
    panel_cls = getattr(importlib.import_module(f"desktop_app.ui.{room}.panel"), panel_name)
    engine = SyncEngine()
    panel = panel_cls(engine, RandomnessControls(), **kwargs)
    qtbot.addWidget(panel)
    try:
        for name, type_name in declared.items():
            widget = getattr(panel, name)
            assert type_name in [c.__name__ for c in type(widget).__mro__], (name, type_name)
    finally:
        if hasattr(panel, "shutdown"):     # the Train room's process and checks
            panel.shutdown()
        engine.shutdown()


@pytest.mark.parametrize("room", ROOM_PACKAGES)
def test_rooms_read_nothing_off_the_window(room):
    """What a room needs from the shell arrives through a hook (room_base.py), never through
    ``self.window()`` and the attributes of whatever window that is."""
    for path in sorted((UI / room).glob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        calls = [n for n in ast.walk(tree) if isinstance(n, ast.Call)
                 and isinstance(n.func, ast.Attribute) and n.func.attr == "window"]
        assert not calls, f"{path.name}:{calls[0].lineno} reads the window"
