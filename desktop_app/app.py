"""Composition root: builds the QApplication, the engine and the main window. No logic here.

Start-up order matters for speed: nothing here imports torch. The window is shown first;
after its first paint the engine's warm-up job imports torch on the worker thread while the
status bar says "Starting the engine (loading torch)…".

SIGTERM and SIGINT (and the session manager's "commit data" at logout) autosave every room
and close the window WITHOUT the "save changes?" dialog — nobody is there to answer it, and it
used to hang the process forever. Exit status 0. A person closing the window is still asked.

``REVERIE_SMOKE_READY_FILE``: when set, a JSON line is written there after the first paint
(time, whether torch was imported yet) — used by the Xvfb smoke test and the start-up benchmark.
"""

from __future__ import annotations

import json
import logging
import os
import signal
import socket
import sys
import time

log = logging.getLogger("desktop_app.app")


def _install_signal_handlers(app, window) -> None:
    """Turn SIGTERM / SIGINT into ``window.close_without_asking()`` on the GUI thread (via a
    wake-up socket), and autosave when the session manager asks to commit data (logout)."""
    from PySide6.QtCore import QSocketNotifier

    rsock, wsock = socket.socketpair()
    rsock.setblocking(False)
    wsock.setblocking(False)
    signal.set_wakeup_fd(wsock.fileno())
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: None)  # real work happens in the notifier below
    notifier = QSocketNotifier(rsock.fileno(), QSocketNotifier.Type.Read, app)

    def on_signal() -> None:
        try:
            rsock.recv(64)
        except OSError:
            pass
        log.info("termination signal received; closing the window")
        window.close_without_asking("signal")

    def on_commit_data(_manager) -> None:
        # Logout: a "save changes?" dialog would block the logout; autosave and close instead.
        window.close_without_asking("logout")

    notifier.activated.connect(on_signal)
    app.commitDataRequest.connect(on_commit_data)
    app._reverie_signal_sockets = (rsock, wsock, notifier)  # keep them alive


def _write_ready_file(started: float) -> None:
    path = os.environ.get("REVERIE_SMOKE_READY_FILE")
    if not path:
        return
    info = {"painted_at": time.time(), "since_main_s": time.perf_counter() - started,
            "torch_imported": "torch" in sys.modules, "pid": os.getpid()}
    tmp = f"{path}.tmp"
    with open(tmp, "w", encoding="utf-8") as fh:
        fh.write(json.dumps(info) + "\n")
    os.replace(tmp, path)


def main(argv: list[str] | None = None) -> int:
    """Run the GUI; return the process exit status."""
    started = time.perf_counter()
    from PySide6.QtGui import QIcon
    from PySide6.QtWidgets import QApplication

    from desktop_app import APP_ID, APP_NAME, __version__
    from desktop_app.core import paths
    from desktop_app.engine.engine import InferenceEngine
    from desktop_app.ui.logging_setup import install_qt_message_handler, setup_logging
    from desktop_app.ui.main_window import MainWindow
    from desktop_app.ui.settings import Settings
    from desktop_app.ui.theme import apply_theme

    setup_logging()
    install_qt_message_handler()
    log.info("Reverie %s starting", __version__)
    app = QApplication.instance() or QApplication(list(argv) if argv is not None else sys.argv[:1])
    app.setApplicationName(APP_NAME)
    app.setApplicationVersion(__version__)
    app.setOrganizationName("Reverie")
    app.setDesktopFileName(APP_ID)
    app.setWindowIcon(QIcon(str(paths.resources_dir() / "icons" / "reverie.svg")))

    settings = Settings()
    if settings.warning:
        print(f"reverie: warning: {settings.warning}", file=sys.stderr)
    os.environ.update(settings.folder_overrides())  # Preferences → folders, for core.paths
    apply_theme(app, settings.theme())
    engine = InferenceEngine(memory_budget_bytes=settings.memory_budget_mb() * 1_000_000 or None,
                             num_threads=settings.inference_threads() or None)
    engine.set_compile_text(settings.text_compile())
    window = MainWindow(engine, settings)
    _install_signal_handlers(app, window)

    def on_first_paint() -> None:
        _write_ready_file(started)
        log.info("window painted %.3f s after main(); torch imported: %s",
                 time.perf_counter() - started, "torch" in sys.modules)
        window.status.show_state("Starting the engine (loading torch)…")
        engine.warm_up()

    window.first_painted.connect(on_first_paint)
    window.show()
    status = app.exec()
    engine.shutdown()  # already done by the window's closeEvent; idempotent
    log.info("Reverie exits with status %s", status)
    _leave(status, stuck=engine.is_busy())


def _leave(status: int, *, stuck: bool) -> None:
    """End the process now that the window's state is saved and the engine is stopped.

    Runs the ``atexit`` handlers and flushes the logs, then skips the interpreter's teardown
    with ``os._exit``: with torch loaded that teardown alone takes 1–2 s on a busy 2-core
    machine, while the issue asks for an exit within a second. It also avoids Qt destroying a
    ``QThread`` that is still running (``stuck``: a job outlived the shutdown timeout inside an
    uninterruptible call such as torch's import), which would abort the process with
    "QThread: Destroyed while thread is still running". The worker never holds a user's file
    open (user files are written atomically), so nothing is lost.
    """
    import atexit

    if stuck:  # PySide's atexit handler would destroy the running QThread: skip them all
        log.warning("a job is still inside an uninterruptible call; exiting without it")
    elif (run_exit_functions := getattr(atexit, "_run_exitfuncs", None)) is not None:
        run_exit_functions()
    logging.shutdown()
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(status)
