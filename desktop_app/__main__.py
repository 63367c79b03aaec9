"""``python -m desktop_app`` — same as the ``reverie`` command."""

import sys

from desktop_app.cli import main

if __name__ == "__main__":
    sys.exit(main())
