"""The Write room (issue 5): continue a draft with a local language model.

The panel and its widgets live in the :mod:`desktop_app.ui.write` package; this module keeps
the name the main window's room list imports.
"""

from desktop_app.ui.write.panel import WritePanel

__all__ = ["WritePanel"]
