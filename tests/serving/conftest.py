"""Fixtures for the serving-engine tests: a real llama.cpp ``llama-server`` on 127.0.0.1 with a
tiny random GGUF written here, and a stdlib HTTP server that answers in vLLM's and Ollama's
documented formats.

The llama-server binary comes from ``packaging/build-llama-server.sh`` (CI builds it when
missing) or ``$REVERIE_LLAMA_SERVER``; where neither exists the tests that need it are skipped
with that reason.
"""

from __future__ import annotations

import os
import socket
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "tests" / "ml" / "text"))  # gguf_fixtures: the tiny GGUF writer
sys.path.insert(0, str(ROOT / "packaging"))  # llama_server: start the built binary

from llama_server import LlamaServer, llama_server_binary  # noqa: E402


@pytest.fixture(scope="session")
def llama_binary() -> Path:
    binary = llama_server_binary()
    if binary is None and os.environ.get("CI"):
        pytest.fail("llama-server is missing although .ci/run builds it")
    if binary is None:
        pytest.skip("llama-server is not built (run packaging/build-llama-server.sh, as .ci/run "
                    "does, or set REVERIE_LLAMA_SERVER)")
    return binary


@pytest.fixture(scope="session")
def tiny_gguf(tmp_path_factory) -> Path:
    from gguf_fixtures import write_tiny_gguf

    path = tmp_path_factory.mktemp("serving") / "tiny.gguf"
    write_tiny_gguf(path, seed=7)
    return path


@pytest.fixture(scope="session")
def llama_server(llama_binary, tiny_gguf, tmp_path_factory):
    server = LlamaServer(llama_binary, tiny_gguf, tmp_path_factory.mktemp("log") / "server.log")
    yield server
    server.kill()


@pytest.fixture
def own_llama_server(llama_binary, tiny_gguf, tmp_path):
    """A server of the test's own, free to be killed."""
    server = LlamaServer(llama_binary, tiny_gguf, tmp_path / "server.log")
    yield server
    server.kill()


# --- canned answers in vLLM's and Ollama's documented formats -------------------------------

class Canned:
    """A loopback HTTP server answering each (method, path) with a canned response:
    ``routes[(method, path)] = (status, content_type, body_bytes_or_list_of_chunks)``.
    A list body is sent chunk by chunk (chunked transfer encoding), as streams are."""

    def __init__(self):
        self.routes: dict[tuple[str, str], list] = {}
        self.requests: list[tuple[str, str, dict, bytes]] = []
        canned = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):  # quiet
                pass

            def _serve(self, method):
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                canned.requests.append((method, self.path, dict(self.headers), body))
                answers = canned.routes.get((method, self.path)) or [(404, "application/json",
                                                                     b'{"error":"not found"}')]
                status, ctype, payload = answers.pop(0) if len(answers) > 1 else answers[0]
                self.send_response(status)
                self.send_header("Content-Type", ctype)
                if isinstance(payload, list):
                    self.send_header("Transfer-Encoding", "chunked")
                    self.end_headers()
                    for part in payload:
                        if part is None:  # the server dies mid-stream
                            self.wfile.flush()
                            self.connection.shutdown(socket.SHUT_RDWR)
                            return
                        self.wfile.write(b"%x\r\n%s\r\n" % (len(part), part))
                    self.wfile.write(b"0\r\n\r\n")
                else:
                    self.send_header("Content-Length", str(len(payload)))
                    self.end_headers()
                    self.wfile.write(payload)

            def do_GET(self):
                self._serve("GET")

            def do_POST(self):
                self._serve("POST")

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = False
        self.server.block_on_close = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, args=(0.02,),
                                       name="canned-http")
        self.thread.start()

    def add(self, method: str, path: str, status: int, ctype: str, payload) -> None:
        self.routes.setdefault((method, path), []).append((status, ctype, payload))

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(timeout=10)


@pytest.fixture
def canned():
    server = Canned()
    yield server
    server.close()
