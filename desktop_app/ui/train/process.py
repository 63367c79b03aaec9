"""The training subprocess, read line by line: ``python -m desktop_app train ... --progress json``.

Lives on the GUI thread. :class:`QProcess` is asynchronous, so nothing here blocks: stdout
arrives in chunks (``readyReadStandardOutput``), is split into lines, and each line that is a
JSON object with a ``kind`` becomes :attr:`TrainProcess.progress`; anything else (a warning, a
half-written line from a crash) goes to :attr:`log_line`, never into the plots. stderr is kept
(its last 20,000 characters) for the message shown when the process fails.

Pause sends SIGINT: every ``reverie train`` command catches it, saves a checkpoint after the
current step and exits, and ``--resume`` continues from that checkpoint — in a new process,
even after the app was closed. (SIGSTOP/SIGCONT would freeze the process with its memory held,
lose everything if the app quits meanwhile, and does not exist on Windows.)
"""

from __future__ import annotations

import json
import os
import signal
import sys
from pathlib import Path

from PySide6.QtCore import QObject, QProcess, QProcessEnvironment, Signal

from desktop_app.commands.core_sharing import BUSY_FLAG

STDERR_KEEP = 20_000


class TrainProcess(QObject):
    """One training subprocess at a time (GUI thread)."""

    progress = Signal(dict)        # one JSON progress object
    log_line = Signal(str)         # non-JSON output, stderr lines
    finished = Signal(int, str)    # exit code (-1: crashed/killed, -2: failed to start), stderr
    started = Signal()

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._proc: QProcess | None = None
        self._buf = b""
        self._err_buf = b""
        self.stderr_text = ""
        self.argv: list[str] = []
        self._app_busy = False
        self._hears_cores = False   # the run has installed its SIGUSR1/2 handlers
        self._flag: Path | None = None   # the run's busy flag, when it shares the cores

    def is_running(self) -> bool:
        return self._proc is not None and self._proc.state() != QProcess.ProcessState.NotRunning

    def pid(self) -> int:
        return int(self._proc.processId()) if self._proc is not None else 0

    def start(self, argv: list[str], cwd: str | None = None) -> None:
        if self.is_running():
            raise RuntimeError("a training process is already running")
        self._buf, self._err_buf, self.stderr_text, self.argv = b"", b"", "", list(argv)
        self._hears_cores = False
        shares = "--busy-threads" in argv and "--out" in argv[:-1]
        self._flag = Path(argv[argv.index("--out") + 1]) / BUSY_FLAG if shares else None
        self._write_flag()
        proc = QProcess(self)
        env = QProcessEnvironment.systemEnvironment()
        env.insert("PYTHONUNBUFFERED", "1")
        env.insert("PYTHONIOENCODING", "utf-8")
        proc.setProcessEnvironment(env)
        if cwd:
            proc.setWorkingDirectory(cwd)
        proc.readyReadStandardOutput.connect(self._on_stdout_ready)
        proc.readyReadStandardError.connect(self._on_stderr_ready)
        proc.finished.connect(self._on_process_finished)
        proc.errorOccurred.connect(self._on_process_error)
        proc.started.connect(self.started)
        self._proc = proc
        proc.start(argv[0], argv[1:])

    def pause(self) -> bool:
        """Ask the trainer to checkpoint and stop (SIGINT); False if not running."""
        if not self.is_running() or not self.pid():
            return False
        if sys.platform == "win32":  # pragma: no cover - no POSIX signals there
            self._proc.terminate()
        else:
            os.kill(self.pid(), signal.SIGINT)
        return True

    def set_app_busy(self, busy: bool) -> None:
        """The app started or finished work (the engine's ``busy_changed``): a run started with
        ``--busy-threads`` gives a core back or takes it again (commands/core_sharing.py: the
        flag file in its --out folder is the state, the signal says "look now")."""
        self._app_busy = bool(busy)
        self._write_flag()
        self._tell_cores()

    def _write_flag(self, *, ended: bool = False) -> None:
        flag = self._flag
        if flag is None:
            return
        try:
            if self._app_busy and not ended:
                flag.parent.mkdir(parents=True, exist_ok=True)
                flag.touch()
            else:
                flag.unlink(missing_ok=True)
        except OSError:       # the folder is gone or read-only: the run keeps its threads
            pass

    def _tell_cores(self) -> None:
        # only once the run said "start": its handlers are in place by then (before them a
        # SIGUSR1 would end the process, its default action)
        if not (self._hears_cores and self.is_running() and self.pid()) \
                or not hasattr(signal, "SIGUSR1"):
            return
        try:
            os.kill(self.pid(), signal.SIGUSR1 if self._app_busy else signal.SIGUSR2)
        except OSError:                   # it ended between the check and the signal
            pass

    def kill(self) -> None:
        """Stop at once (Cancel): no checkpoint is written for the current step."""
        if self.is_running():
            self._proc.kill()

    def wait(self, msecs: int) -> bool:
        """Block until the process ends (only for closing the app and tests' teardown)."""
        return self._proc is None or self._proc.waitForFinished(msecs) or not self.is_running()

    # -- reading ---------------------------------------------------------------------------

    def _on_stdout_ready(self) -> None:
        self._buf += bytes(self._proc.readAllStandardOutput())
        *lines, self._buf = self._buf.split(b"\n")
        for raw in lines:
            self._handle_line(raw)

    def _handle_line(self, raw: bytes) -> None:
        line = raw.decode("utf-8", errors="replace").rstrip("\r")
        if not line.strip():
            return
        try:
            obj = json.loads(line)
        except ValueError:
            obj = None
        if isinstance(obj, dict) and isinstance(obj.get("kind"), str):
            if obj["kind"] == "start" and self._flag is not None and not self._hears_cores:
                self._hears_cores = True
                if self._app_busy:
                    self._tell_cores()
            self.progress.emit(obj)
        else:
            self.log_line.emit(line)

    def _on_stderr_ready(self) -> None:
        self._err_buf += bytes(self._proc.readAllStandardError())
        *lines, self._err_buf = self._err_buf.split(b"\n")
        for raw in lines:
            text = raw.decode("utf-8", errors="replace").rstrip("\r")
            self.stderr_text = (self.stderr_text + text + "\n")[-STDERR_KEEP:]
            if text.strip():
                self.log_line.emit(text)

    def _on_process_finished(self, code: int, status: QProcess.ExitStatus) -> None:
        self._write_flag(ended=True)          # not left in the run's folder
        self._on_stdout_ready()
        if self._buf:
            self._handle_line(self._buf)
            self._buf = b""
        self._on_stderr_ready()
        if self._err_buf:
            self.stderr_text += self._err_buf.decode("utf-8", errors="replace")
            self._err_buf = b""
        crashed = status == QProcess.ExitStatus.CrashExit
        self.finished.emit(-1 if crashed else int(code), self.stderr_text)

    def _on_process_error(self, error: QProcess.ProcessError) -> None:
        if error == QProcess.ProcessError.FailedToStart:
            self.finished.emit(-2, f"could not start {self.argv[0]}: "
                                   f"{self._proc.errorString()}")
