"""Start llama.cpp's ``llama-server`` (built by ``build-llama-server.sh``) on loopback.

Used by the serving tests (``tests/serving``) and ``benchmarks/bench_serving.py``; a person can
use it too: ``python packaging/llama_server.py MODEL.gguf`` prints the URL and waits.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import urllib.request
from pathlib import Path

HERE = Path(__file__).resolve().parent


def llama_server_binary() -> Path | None:
    """``$REVERIE_LLAMA_SERVER``, else the build script's cached binary; None if not built."""
    env = os.environ.get("REVERIE_LLAMA_SERVER")
    if env:
        return Path(env) if Path(env).is_file() else None
    out = subprocess.run(["bash", str(HERE / "build-llama-server.sh"), "--print-path"],
                         capture_output=True, text=True, check=True)
    path = Path(out.stdout.strip().splitlines()[-1])
    return path if path.is_file() else None


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class LlamaServer:
    """One llama-server process on loopback; ``url``, ``post(path, body)``, ``kill()``."""

    def __init__(self, binary: Path, model: Path, log: Path, *, ctx: int = 256,
                 threads: int = 1):
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log = log
        # One slot and one thread: requests are not batched (reproducible), the machine is shared.
        self.proc = subprocess.Popen(
            [str(binary), "-m", str(model), "--host", "127.0.0.1", "--port", str(self.port),
             "-t", str(threads), "-np", "1", "-c", str(ctx), "--no-warmup"],
            stdout=log.open("wb"), stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
        self._wait_ready()

    def _wait_ready(self) -> None:
        for _ in range(1200):  # up to ~60 s on a loaded machine
            if self.proc.poll() is not None:
                raise RuntimeError(f"llama-server exited: {self.log.read_text()[-2000:]}")
            try:
                with urllib.request.urlopen(self.url + "/health", timeout=1) as r:
                    if r.status == 200:
                        return
            except OSError:
                pass
            try:
                self.proc.wait(timeout=0.05)  # a short wait that also notices a crash
            except subprocess.TimeoutExpired:
                pass
        raise RuntimeError("llama-server did not become ready in time")

    def post(self, path: str, body: dict) -> dict:
        req = urllib.request.Request(self.url + path, data=json.dumps(body).encode(),
                                     headers={"Content-Type": "application/json"})
        with urllib.request.urlopen(req, timeout=60) as r:
            return json.loads(r.read())

    def get(self, path: str):
        with urllib.request.urlopen(self.url + path, timeout=30) as r:
            return json.loads(r.read())

    def kill(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait(timeout=30)




if __name__ == "__main__":
    binary = llama_server_binary()
    if binary is None or len(sys.argv) != 2:
        sys.exit("usage: python packaging/llama_server.py MODEL.gguf (build the server first "
                 "with packaging/build-llama-server.sh)")
    log = Path(os.environ.get("TMPDIR", "/tmp")) / "llama-server.log"
    server = LlamaServer(binary, Path(sys.argv[1]), log, ctx=4096)
    print(server.url, flush=True)
    try:
        server.proc.wait()
    except KeyboardInterrupt:
        server.kill()
