"""The Train room (issue 11): train or fine-tune a model on a folder of your own files.

The panel and its widgets live in the :mod:`desktop_app.ui.train` package; this module keeps
the name the main window's room list imports.
"""

from desktop_app.ui.train.panel import TrainPanel

__all__ = ["TrainPanel"]
