"""A small HTTP/1.1 client for serving engines, made for Stop: closing the socket from any thread.

Why the standard library's ``http.client`` and not httpx or requests: a stream must end the
moment the writer presses Stop, and the worker is then blocked inside a socket read. Here the
job's :class:`~desktop_app.core.jobs.CancelToken` calls ``socket.shutdown`` on the live socket
(:meth:`CancelToken.on_cancel`), which wakes that read at once on every platform; the request
is closed in well under a millisecond instead of after a polling interval. ``http.client``
exposes its socket for exactly that, needs no new dependency (httpx would add five packages
to the app and still offers no thread-safe abort of a blocking sync read), and does TLS with
certificate checks through ``ssl.create_default_context()``.

Failures become one-line :class:`~desktop_app.core.errors.ReverieError` messages (refused,
name not found, timeouts, 401/403, 404, 5xx); connection failures before a response and a
server that answers 503 while it loads its model are retried with a status line first.
"""

from __future__ import annotations

import http.client
import json
import socket
import ssl
import time
from typing import Any, Callable, Iterator
from urllib.parse import urlsplit

from desktop_app.core.errors import ReverieError
from desktop_app.core.jobs import CancelToken, JobCancelled
from desktop_app.core.serving import ServerSpec
from desktop_app.core.serving_stream import error_message

MAX_LINE = 8 << 20  # one SSE/NDJSON line (a token with 100 alternatives is ~20 kB)
MAX_BODY = 32 << 20
RETRY_DELAYS = (0.5, 1.0, 2.0, 4.0)


class ServerError(ReverieError):
    """The server answered with an HTTP error status."""

    def __init__(self, message: str, status: int = 0):
        super().__init__(message)
        self.status = status


class ConnectionLost(ReverieError):
    """The connection broke: before the response (retried) or in the middle of a stream."""


class Response:
    """An open response: status, headers, and the body as lines; closes on cancel or close()."""

    def __init__(self, conn: http.client.HTTPConnection, resp: http.client.HTTPResponse,
                 token: CancelToken, unregister: Callable[[], None], where: str):
        self.conn, self.resp, self.token, self._unregister = conn, resp, token, unregister
        self.status = resp.status
        self.where = where

    def lines(self) -> Iterator[bytes]:
        """The body's lines (with their newline), raising JobCancelled when Stop closed it and
        ConnectionLost when the server went away before the end."""
        while True:
            try:
                line = self.resp.readline(MAX_LINE + 1)
            except (OSError, http.client.HTTPException, ValueError) as exc:
                self._raise_lost(exc)
            if self.token.cancelled:
                raise JobCancelled()
            if not line:
                if self.resp.isclosed() or not getattr(self.resp, "chunked", False):
                    return
                self._raise_lost(None)
            if len(line) > MAX_LINE:
                raise ReverieError("the server sent a line longer than 8 MB; is this a "
                                   "serving engine?")
            yield line

    def _raise_lost(self, exc: BaseException | None):
        if self.token.cancelled:
            raise JobCancelled()
        if isinstance(exc, (socket.timeout, TimeoutError)):
            raise ConnectionLost(f"the server at {self.where} sent nothing for too long "
                                 f"(read timeout)") from None
        raise ConnectionLost(f"the connection to {self.where} broke in the middle of the "
                             f"answer") from None

    def json(self) -> Any:
        body = self.resp.read(MAX_BODY + 1)
        if self.token.cancelled:
            raise JobCancelled()
        if len(body) > MAX_BODY:
            raise ReverieError("the server's answer is larger than 32 MB")
        try:
            return json.loads(body.decode("utf-8"))
        except (UnicodeDecodeError, ValueError):
            raise ReverieError(f"the server at {self.where} did not answer with JSON; is the "
                               f"URL a serving engine?") from None

    def close(self) -> None:
        self._unregister()
        try:
            self.conn.close()
        except OSError:
            pass

    def __enter__(self) -> Response:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def _shutdown(conn: http.client.HTTPConnection) -> Callable[[], None]:
    def close_now() -> None:  # runs on the thread pressing Stop: quick, never raises
        sock = conn.sock
        if sock is not None:
            try:
                sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
    return close_now


def open_request(spec: ServerSpec, method: str, path: str, body: dict | None, *,
                 token: CancelToken, api_key: str | None = None,
                 status: Callable[[str], None] | None = None,
                 retry: bool = True, accept: str = "application/json") -> Response:
    """Send one request and return the open :class:`Response` (status < 400), retrying
    connection failures and 503 "loading" answers ``spec.retries`` times with a status line
    each time. Raises ServerError / ConnectionLost / ReverieError with one readable line."""
    attempts = 1 + (spec.retries if retry else 0)
    last: ReverieError | None = None
    for attempt in range(attempts):
        token.raise_if_cancelled()
        if attempt:
            delay = RETRY_DELAYS[min(attempt - 1, len(RETRY_DELAYS) - 1)]
            if status is not None:
                status(f"{last} — retrying in {delay:g} s ({attempt} of {attempts - 1})")
            if token.wait(delay):
                raise JobCancelled()
        try:
            return _open_once(spec, method, path, body, token=token, api_key=api_key,
                              accept=accept)
        except ServerError as exc:
            if exc.status != 503:
                raise
            last = exc
        except ConnectionLost as exc:
            last = exc
    assert last is not None
    raise type(last)(f"{last} (tried {attempts} times)") if isinstance(last, ConnectionLost) \
        else last


def _open_once(spec: ServerSpec, method: str, path: str, body: dict | None, *,
               token: CancelToken, api_key: str | None, accept: str) -> Response:
    parts = urlsplit(spec.url)
    where = f"{parts.scheme}://{parts.netloc}"
    if parts.scheme == "https":
        conn: http.client.HTTPConnection = http.client.HTTPSConnection(
            parts.hostname, parts.port, timeout=spec.connect_timeout_s,
            context=ssl.create_default_context())
    else:
        conn = http.client.HTTPConnection(parts.hostname, parts.port,
                                          timeout=spec.connect_timeout_s)
    unregister = token.on_cancel(_shutdown(conn))
    headers = {"Accept": accept, "User-Agent": "Reverie"}
    if api_key:
        headers["Authorization"] = f"Bearer {api_key}"
    data = None
    if body is not None:
        data = json.dumps(body).encode("utf-8")
        headers["Content-Type"] = "application/json"
    try:
        conn.connect()
        if token.cancelled:
            raise JobCancelled()
        conn.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        conn.sock.settimeout(spec.read_timeout_s)
        conn.request(method, parts.path + path, body=data, headers=headers)
        resp = conn.getresponse()
    except JobCancelled:
        unregister()
        conn.close()
        raise
    except socket.gaierror:
        unregister()
        conn.close()
        raise ReverieError(f"cannot find the server host {parts.hostname!r} (name lookup "
                           f"failed)") from None
    except ssl.SSLError as exc:
        unregister()
        conn.close()
        raise ReverieError(f"the TLS connection to {where} failed: "
                           f"{exc.reason or exc}") from None
    except (OSError, http.client.HTTPException) as exc:
        unregister()
        conn.close()
        if token.cancelled:
            raise JobCancelled() from None
        raise ConnectionLost(_connect_message(exc, where)) from None
    response = Response(conn, resp, token, unregister, where)
    if resp.status >= 400:
        try:
            detail = error_message(json.loads(resp.read(65536).decode("utf-8", "replace")))
        except (ValueError, OSError, http.client.HTTPException):
            detail = resp.reason
        finally:
            response.close()
        raise ServerError(_status_message(resp.status, detail, where, path), resp.status)
    return response


def _connect_message(exc: BaseException, where: str) -> str:
    if isinstance(exc, ConnectionRefusedError):
        return f"cannot reach the server at {where}: connection refused (is it running?)"
    if isinstance(exc, (socket.timeout, TimeoutError)):
        return f"cannot reach the server at {where}: no answer in time"
    if isinstance(exc, (ConnectionResetError, http.client.RemoteDisconnected,
                        BrokenPipeError)):
        return f"the server at {where} closed the connection before answering"
    return f"cannot reach the server at {where}: {exc.strerror or exc}" if isinstance(
        exc, OSError) else f"the server at {where} sent a malformed HTTP answer"


def _status_message(status: int, detail: str, where: str, path: str) -> str:
    if status in (401, 403):
        return (f"the server at {where} refused the request (HTTP {status}: {detail}); give "
                f"its API key with --api-key-env VAR or the keyring")
    if status == 404:
        return f"the server at {where} has no {path} or no such model (HTTP 404: {detail})"
    if status == 503:
        return f"the server at {where} is not ready (HTTP 503: {detail})"
    if status >= 500:
        return f"the server at {where} failed (HTTP {status}: {detail})"
    return f"the server at {where} refused the request (HTTP {status}: {detail})"


def get_json(spec: ServerSpec, path: str, *, token: CancelToken, api_key: str | None = None,
             status: Callable[[str], None] | None = None, retry: bool = True) -> Any:
    with open_request(spec, "GET", path, None, token=token, api_key=api_key, status=status,
                      retry=retry) as resp:
        return resp.json()


def post_json(spec: ServerSpec, path: str, body: dict, *, token: CancelToken,
              api_key: str | None = None, status: Callable[[str], None] | None = None) -> Any:
    with open_request(spec, "POST", path, body, token=token, api_key=api_key,
                      status=status) as resp:
        return resp.json()


def monotonic_ms() -> float:
    return time.perf_counter() * 1000.0
