"""One panel per room. :func:`room_classes` lists them in side-bar order.

The panels are imported when asked for, not when this package is imported: each room's own
package (``ui/write``, ``ui/imagine`` …) imports ``rooms.base``, so importing the panels here
eagerly would make the import order matter (a circular import of a half-built module).
"""

from __future__ import annotations


def room_classes() -> tuple[type, ...]:
    from desktop_app.ui.rooms.compose import ComposePanel
    from desktop_app.ui.rooms.explore import ExplorePanel
    from desktop_app.ui.rooms.imagine import ImaginePanel
    from desktop_app.ui.rooms.train import TrainPanel
    from desktop_app.ui.rooms.write import WritePanel

    return (WritePanel, ImaginePanel, ComposePanel, ExplorePanel, TrainPanel)
