"""Entry script for the PyInstaller bundle: same as the ``reverie`` command.

In a one-folder bundle the shipped ``models/`` and ``resources/`` sit next to the packages in
``sys._MEIPASS``; pointing ``REVERIE_INSTALL_ROOT`` there makes ``core.paths`` find them.

The app starts child processes as ``sys.executable -m desktop_app ...`` (the Train room's
training runs, ``reverie bench text``'s timed workers). In the bundle ``sys.executable`` is
this program, so it answers ``-m MODULE ARGS`` as Python would, for Reverie's own modules
only (``run_module_argv``).
"""

import os
import runpy
import sys


def run_module_argv(argv: list[str]) -> bool:
    """Run ``argv[2]`` as ``__main__`` when ``argv`` is ``[prog, "-m", "desktop_app...", ...]``
    (what a child process of the app asks for); False when argv is an ordinary command line."""
    if len(argv) < 3 or argv[1] != "-m":
        return False
    module = argv[2]
    if module != "desktop_app" and not module.startswith("desktop_app."):
        raise SystemExit(f"reverie: -m runs Reverie's own modules only, not {module!r}")
    sys.argv = [argv[0], *argv[3:]]
    runpy.run_module(module, run_name="__main__", alter_sys=True)
    return True


if getattr(sys, "frozen", False):
    os.environ.setdefault("REVERIE_INSTALL_ROOT", getattr(sys, "_MEIPASS", os.path.dirname(sys.executable)))

if __name__ == "__main__":
    if not run_module_argv(sys.argv):
        from desktop_app.cli import main
        sys.exit(main())
