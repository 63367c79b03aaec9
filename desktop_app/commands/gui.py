"""``reverie`` / ``reverie gui``: open the Reverie window (imports Qt only when it runs)."""

from __future__ import annotations

import argparse


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The GUI takes no options yet; Qt's own (e.g. ``-platform``) are not forwarded."""


def run(args: argparse.Namespace) -> int:
    from desktop_app.app import main

    return main()
