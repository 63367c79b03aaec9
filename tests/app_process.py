"""Start the real app in a subprocess, wait for its first paint, stop it with a signal.

Shared by the tests that drive the real entry point (``test_smoke_xvfb.py`` under Xvfb,
``test_signal_close.py`` offscreen): the app reports its first paint through
``REVERIE_SMOKE_READY_FILE``; waiting polls that file and the process (a subprocess has no
Qt signal to wait on), bounded by a timeout.
"""

from __future__ import annotations

import contextlib
import signal
import subprocess
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def wait_for(predicate, timeout: float, what: str):
    """Poll ``predicate`` (a subprocess-driven check, not a fixed sleep) until it is true."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.05)
    raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what}")


@contextlib.contextmanager
def painted_app(cmd: list[str], env: dict, ready: Path, timeout: float = 120):
    """Yield the running app process once it has painted; kill it if the test fails first."""
    env = {**env, "REVERIE_SMOKE_READY_FILE": str(ready)}
    proc = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    try:
        wait_for(lambda: ready.exists() or proc.poll() is not None, timeout, "the first paint")
        assert proc.poll() is None, f"the app exited early: {proc.communicate()[1][-2000:]}"
        yield proc
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()


def stop(proc: subprocess.Popen, sig: int = signal.SIGTERM, timeout: float = 60) -> str:
    """Send ``sig`` and wait for the exit (a hang runs into ``timeout``); return stderr."""
    proc.send_signal(sig)
    return proc.communicate(timeout=timeout)[1]
