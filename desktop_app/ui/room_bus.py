"""The one bus between rooms, owned by the main window (GUI thread).

Rooms never import or probe one another. What one room offers another travels here, and the
main window routes it by what each room declares (its ``model_kind``, whether it
``generates``): the Explore map asks "open this item of medium K" and the shell hands it to
the room that generates K; the Imagine room says "my current latent is z" and every map of
that model draws its star there; the Train room says "a model was installed" and the shell
rescans the model folders for every room.

A room built on its own (a test, a benchmark) gets a private bus that nobody listens to, so
the same code runs with or without a window around it.
"""

from __future__ import annotations

from PySide6.QtCore import QObject, Signal


class RoomBus(QObject):
    """Signals between rooms; the main window connects the routes (GUI thread)."""

    #: ``(kind, payload)``: open an item of medium ``kind`` ("image", "music", "text") in the
    #: room that generates it. Payload: ``{"model", "name", "latent"}`` for images,
    #: ``{"model", "name", "melody"}`` for phrases, ``{"model", "name", "word"}`` for words;
    #: ``{"model", "name"}`` alone (the Train room's new model): choose that model there.
    open_in_room = Signal(str, object)
    #: ``(model, z)``: the latent a room is showing now (the maps draw a star there).
    set_current_latent = Signal(str, object)
    #: A room installed a model into the models folder: every room's model list is stale.
    models_installed = Signal()

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._room_titles: dict[str, str] = {}

    def set_room_titles(self, titles: dict[str, str]) -> None:
        """The shell's routes: medium → title of the room that opens it ("image" → "Imagine")."""
        self._room_titles = dict(titles)

    def room_title(self, kind: str) -> str:
        """The title of the room that opens items of ``kind``; "" when none is routed (a map
        shown without a window)."""
        return self._room_titles.get(kind, "")
