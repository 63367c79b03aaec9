"""Start-up time: from process start to the main window's first paint (target < 1.5 s).

    .venv/bin/python benchmarks/bench_startup.py [--runs 5] [--offscreen]

Each run starts ``python -m desktop_app`` as a fresh process (under its own Xvfb when
available, else Qt's offscreen platform) with ``REVERIE_SMOKE_READY_FILE`` set; the app writes
that file at its first paint, recording whether torch was already imported (it must not be:
torch loads in the engine's worker after the window shows). The app is then closed with SIGTERM
(a polite window close) and its exit status checked. Prints each run and the median.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
TARGET_S = 1.5


def start_xvfb() -> tuple[subprocess.Popen, str]:
    read_fd, write_fd = os.pipe()
    proc = subprocess.Popen(["Xvfb", "-displayfd", str(write_fd), "-screen", "0", "1280x800x24",
                             "-nolisten", "tcp"], pass_fds=(write_fd,),
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    os.close(write_fd)
    with os.fdopen(read_fd) as fh:
        return proc, ":" + fh.readline().strip()


def one_run(env_base: dict) -> dict:
    tmp = Path(tempfile.mkdtemp(prefix="reverie-bench-"))
    ready = tmp / "ready.json"
    env = {**env_base, "REVERIE_SMOKE_READY_FILE": str(ready),
           "XDG_CONFIG_HOME": str(tmp / "config"), "REVERIE_DATA_DIR": str(tmp / "data")}
    t0 = time.time()
    proc = subprocess.Popen([sys.executable, "-m", "desktop_app"], cwd=ROOT, env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    while not ready.exists():
        if proc.poll() is not None:
            raise SystemExit(f"the app exited early:\n{proc.stderr.read()[-2000:]}")
        time.sleep(0.005)
    info = json.loads(ready.read_text())
    proc.send_signal(signal.SIGTERM)
    t_close = time.time()
    _, err = proc.communicate(timeout=60)
    shutil.rmtree(tmp, ignore_errors=True)
    return {"painted_s": info["painted_at"] - t0, "in_main_s": info["since_main_s"],
            "torch_at_paint": info["torch_imported"], "exit": proc.returncode,
            "close_s": time.time() - t_close, "qthread_warning": "QThread: Destroyed" in err}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--offscreen", action="store_true", help="use Qt's offscreen platform")
    args = parser.parse_args()
    env = dict(os.environ)
    xvfb = None
    if not args.offscreen and shutil.which("Xvfb"):
        xvfb, display = start_xvfb()
        env.update(DISPLAY=display, QT_QPA_PLATFORM="xcb")
        platform = f"xcb on Xvfb {display}"
    else:
        env["QT_QPA_PLATFORM"] = "offscreen"
        platform = "offscreen"
    print(f"platform: {platform}; load average: {os.getloadavg()[0]:.2f} "
          f"on {os.cpu_count()} cores")
    runs = []
    try:
        for i in range(args.runs):
            r = one_run(env)
            runs.append(r)
            print(f"run {i + 1}: first paint {r['painted_s']:.3f} s after process start "
                  f"({r['in_main_s']:.3f} s inside app.main); torch imported at first paint: "
                  f"{r['torch_at_paint']}; exit {r['exit']} after SIGTERM in {r['close_s']:.2f} s"
                  + ("; QThread WARNING" if r["qthread_warning"] else ""))
    finally:
        if xvfb is not None:
            xvfb.terminate()
            xvfb.wait()
    median = statistics.median(r["painted_s"] for r in runs)
    print(f"median start-up to first paint: {median:.3f} s (target < {TARGET_S} s: "
          f"{'met' if median < TARGET_S else 'NOT met'}; ratio {median / TARGET_S:.2f})")
    print(f"torch imported before first paint in any run: {any(r['torch_at_paint'] for r in runs)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
