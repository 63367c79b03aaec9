"""The rooms of the studio, in side-bar order (Ctrl+1 … Ctrl+5).

The one place that names every room: the main window builds these unless it is given its own
list (a test adds a sixth room that way, see ``tests/ui/test_add_a_room.py``). Nothing else
imports a room's panel.
"""

from __future__ import annotations

from desktop_app.ui.compose.panel import ComposePanel
from desktop_app.ui.explore.panel import ExplorePanel
from desktop_app.ui.imagine.panel import ImaginePanel
from desktop_app.ui.room_base import RoomPanel
from desktop_app.ui.train.panel import TrainPanel
from desktop_app.ui.write.panel import WritePanel


def room_classes() -> tuple[type[RoomPanel], ...]:
    return (WritePanel, ImaginePanel, ComposePanel, ExplorePanel, TrainPanel)
