"""The Imagine room's widgets: image view, variation grid, latent sliders, morphs, history.

``desktop_app.ui.rooms`` is imported first on purpose (as ``desktop_app.ui.compose`` does): its
``__init__`` imports ``rooms.imagine``, which imports :mod:`desktop_app.ui.imagine.panel`,
which imports ``rooms.base``. Starting from the rooms package keeps that cycle in a working
order whichever module a caller imports first.
"""

import desktop_app.ui.rooms  # noqa: F401  (import order, see above)
