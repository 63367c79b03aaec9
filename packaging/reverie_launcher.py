"""Entry script for the PyInstaller bundle: same as the ``reverie`` command.

In a one-folder bundle the shipped ``models/`` and ``resources/`` sit next to the packages in
``sys._MEIPASS``; pointing ``REVERIE_INSTALL_ROOT`` there makes ``core.paths`` find them.
"""

import os
import sys

if getattr(sys, "frozen", False):
    os.environ.setdefault("REVERIE_INSTALL_ROOT", getattr(sys, "_MEIPASS", os.path.dirname(sys.executable)))

from desktop_app.cli import main  # noqa: E402

if __name__ == "__main__":
    sys.exit(main())
