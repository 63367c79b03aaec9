"""Logging to ``<user data>/logs/reverie.log`` (rotating), plus Qt's own messages.

Called once by the composition root before the window is built. Qt warnings are written to
the log *and* still printed on stderr, so nothing (e.g. "QThread: Destroyed while thread is
still running") is hidden from a terminal or a test.
"""

from __future__ import annotations

import logging
import logging.handlers
import sys
from pathlib import Path

from desktop_app.core import paths

LOG_NAME = "reverie.log"
_FORMAT = "%(asctime)s %(levelname)-7s %(threadName)s %(name)s: %(message)s"


def log_file() -> Path:
    return paths.logs_dir() / LOG_NAME


def setup_logging(level: int = logging.INFO) -> Path | None:
    """Send the ``desktop_app`` loggers to the log file; return its path (None if unwritable)."""
    root = logging.getLogger("desktop_app")
    root.setLevel(level)
    for handler in list(root.handlers):  # calling twice (tests) must not double the lines
        if getattr(handler, "_reverie", False):
            root.removeHandler(handler)
            handler.close()
    path = log_file()
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        handler: logging.Handler = logging.handlers.RotatingFileHandler(
            path, maxBytes=2_000_000, backupCount=3, encoding="utf-8")
    except OSError as exc:
        print(f"reverie: warning: cannot write the log file {path} ({exc.strerror})",
              file=sys.stderr)
        handler, path = logging.StreamHandler(sys.stderr), None
    handler.setFormatter(logging.Formatter(_FORMAT))
    handler._reverie = True  # type: ignore[attr-defined]
    root.addHandler(handler)
    return path


def install_qt_message_handler() -> None:
    """Log Qt's warnings too, while still printing them on stderr as Qt would."""
    from PySide6.QtCore import QtMsgType, qInstallMessageHandler

    qt_log = logging.getLogger("desktop_app.qt")
    levels = {QtMsgType.QtDebugMsg: logging.DEBUG, QtMsgType.QtInfoMsg: logging.INFO,
              QtMsgType.QtWarningMsg: logging.WARNING, QtMsgType.QtCriticalMsg: logging.ERROR,
              QtMsgType.QtFatalMsg: logging.CRITICAL}

    def handler(mode, _context, message):
        qt_log.log(levels.get(mode, logging.WARNING), "%s", message)
        if mode != QtMsgType.QtDebugMsg:
            print(message, file=sys.stderr, flush=True)

    qInstallMessageHandler(handler)


def open_log_folder() -> bool:
    """Open the logs folder in the desktop's file manager; return whether Qt could."""
    from PySide6.QtCore import QUrl
    from PySide6.QtGui import QDesktopServices

    folder = paths.logs_dir()
    folder.mkdir(parents=True, exist_ok=True)
    return QDesktopServices.openUrl(QUrl.fromLocalFile(str(folder)))
