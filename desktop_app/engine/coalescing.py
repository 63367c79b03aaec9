"""The outbox between the worker thread and the GUI thread, coalescing streamed events.

The worker ``post``s every event; the GUI thread ``take_ready``s them in order. So that a fast
stream never floods the GUI's event queue:

* ``TokenChunk``s of the same job and variant merge into the pending one (texts and token
  tuples concatenated), and each (job, variant) stream is handed out at most once per
  ``interval_s``; ``Progress`` events of a job replace the pending one (the last one wins)
  under the same rate limit.
* Any other event of a job *seals* that job's pending chunk and progress: they are handed out
  before it, at once, so the order the job produced is kept (a terminal event flushes first).
* ``post`` returns True only when the GUI thread needs waking (nothing was pending), so at
  most one wake-up is ever queued on the GUI thread, however fast the worker posts.

Pure Python and thread-safe (one lock); the clock is passed in, so it is tested without Qt.
"""

from __future__ import annotations

import dataclasses
import threading
from collections import deque
from typing import Hashable

from desktop_app.core.events import TERMINAL_EVENTS, Event, Progress, TokenChunk


class _Entry:
    """One pending event; ``open`` while later events of its stream ``key`` may merge in."""

    __slots__ = ("event", "key", "open")

    def __init__(self, event: Event, key: Hashable | None) -> None:
        self.event = event
        self.key = key
        self.open = key is not None


def _key(event: Event) -> Hashable | None:
    if isinstance(event, TokenChunk):
        return (event.job_id, "chunk", event.variant)
    if isinstance(event, Progress):
        return (event.job_id, "progress")
    return None


def merge_chunks(a: TokenChunk, b: TokenChunk) -> TokenChunk:
    """``a`` followed by ``b`` as one chunk (the newer rate wins)."""
    rate = b.tokens_per_s if b.tokens_per_s is not None else a.tokens_per_s
    return dataclasses.replace(a, text=a.text + b.text, tokens=a.tokens + b.tokens,
                               tokens_per_s=rate)


class EventOutbox:
    """Thread-safe event queue: posted on the worker thread, taken on the GUI thread."""

    def __init__(self, interval_s: float = 0.030) -> None:
        self.interval_s = interval_s
        self._lock = threading.Lock()
        self._queue: deque[_Entry] = deque()
        self._open: dict[Hashable, _Entry] = {}   # key -> pending entry still mergeable
        self._last_out: dict[Hashable, float] = {}  # key -> when it was last handed out
        self._wake_pending = False

    def post(self, event: Event) -> bool:
        """Queue ``event``; return True if the consumer must be woken to take it."""
        key = _key(event)
        with self._lock:
            entry = self._open.get(key) if key is not None else None
            if entry is not None:
                if isinstance(event, TokenChunk):
                    entry.event = merge_chunks(entry.event, event)
                else:
                    entry.event = event  # the latest progress wins
            else:
                if key is None:
                    self._seal(event.job_id)
                entry = _Entry(event, key)
                self._queue.append(entry)
                if key is not None:
                    self._open[key] = entry
            wake = not self._wake_pending
            self._wake_pending = True
            return wake

    def take_ready(self, now: float, *, force: bool = False) -> tuple[list[Event], float | None]:
        """Pop the events that may go out at time ``now``, in order.

        Returns ``(events, retry_in)``: ``retry_in`` is the number of seconds after which the
        consumer must call again (a rate-limited stream is still pending), else None; while it
        is not None ``post`` asks for no wake-up. ``force`` ignores the rate limit (shutdown).
        """
        out: list[Event] = []
        with self._lock:
            while self._queue:
                entry = self._queue[0]
                if entry.open and not force:
                    wait = self._last_out.get(entry.key, -1e9) + self.interval_s - now
                    if wait > 0:
                        return out, wait  # _wake_pending stays True: the caller retries
                self._queue.popleft()
                if entry.key is not None:
                    if entry.open:
                        del self._open[entry.key]
                    self._last_out[entry.key] = now
                event = entry.event
                if isinstance(event, TERMINAL_EVENTS):
                    self._forget(event.job_id)
                out.append(event)
            self._wake_pending = False
            return out, None

    def __len__(self) -> int:
        with self._lock:
            return len(self._queue)

    def _seal(self, job_id: int) -> None:
        """Stop merging into ``job_id``'s pending entries and let them out without waiting."""
        for key in [k for k in self._open if k[0] == job_id]:
            self._open.pop(key).open = False

    def _forget(self, job_id: int) -> None:
        for key in [k for k in self._last_out if k[0] == job_id]:
            del self._last_out[key]
