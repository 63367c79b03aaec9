"""Fixtures for engine tests: engines that are always shut down, and an event recorder."""

from __future__ import annotations

import pytest

from desktop_app.core.events import TERMINAL_EVENTS, Event, TokenChunk
from desktop_app.engine.engine import InferenceEngine
from desktop_app.engine.sync_engine import SyncEngine

WAIT_MS = 20_000  # generous: the machine is shared and may be busy


class Recorder:
    """Collects every event an engine emits (on the GUI thread), plus busy_changed values."""

    def __init__(self, engine) -> None:
        self.events: list[Event] = []
        self.busy: list[bool] = []
        engine.event.connect(self.events.append)
        engine.busy_changed.connect(self.busy.append)

    def of(self, job_id: int) -> list[Event]:
        return [e for e in self.events if e.job_id == job_id]

    def kinds(self, job_id: int) -> list[str]:
        return [type(e).__name__ for e in self.of(job_id)]

    def terminal(self, job_id: int) -> Event | None:
        return next((e for e in self.of(job_id) if isinstance(e, TERMINAL_EVENTS)), None)

    def chunks(self, job_id: int, variant: int = 0) -> list[TokenChunk]:
        return [e for e in self.of(job_id) if isinstance(e, TokenChunk) and e.variant == variant]

    def wait_until(self, qtbot, predicate) -> None:
        qtbot.waitUntil(predicate, timeout=WAIT_MS)

    def wait_terminal(self, qtbot, job_id: int) -> Event:
        qtbot.waitUntil(lambda: self.terminal(job_id) is not None, timeout=WAIT_MS)
        return self.terminal(job_id)

    def wait_kind(self, qtbot, job_id: int, kind: str) -> None:
        qtbot.waitUntil(lambda: kind in self.kinds(job_id), timeout=WAIT_MS)


@pytest.fixture
def engine(qtbot):
    eng = InferenceEngine(coalesce_ms=30)
    yield eng
    eng.shutdown()


@pytest.fixture
def sync_engine(qtbot):
    eng = SyncEngine()
    yield eng
    eng.shutdown()


@pytest.fixture
def rec(engine):
    return Recorder(engine)


@pytest.fixture
def recorder():
    """The Recorder class, for tests that record engines of their own."""
    return Recorder
