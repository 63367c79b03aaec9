"""The Compose room's widgets: piano roll, variations, player, drag-out, controls, panel.

``desktop_app.ui.rooms`` is imported first on purpose: its ``__init__`` imports
``rooms.compose``, which imports :mod:`desktop_app.ui.compose.panel`, which imports
``rooms.base``. Starting from the rooms package keeps that cycle in a working order whichever
module a caller imports first.
"""

import desktop_app.ui.rooms  # noqa: F401  (import order, see above)
