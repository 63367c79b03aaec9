"""SyncEngine: the same API and the same event sequences as the threaded engine, inline."""

from __future__ import annotations

import pytest

from desktop_app.backends.fake import EchoJob, FailJob, StreamJob
from desktop_app.core.events import Cancelled, Failed, Finished, Started, TokenChunk
from desktop_app.engine.engine import InferenceEngine
from desktop_app.engine.sync_engine import SyncEngine


def _scenario(eng):
    """A fixed mix of jobs; returns their ids."""
    return [eng.submit(EchoJob(text="one")), eng.submit(FailJob(message="No model.")),
            eng.submit(FailJob(message="boom", expected=False)),
            eng.submit(StreamJob(n_tokens=50, text_per_token="xy"))]


def _summary(rec, ids):
    """Per job: event kinds with chunks collapsed, and the result / message."""
    out = []
    for job_id in ids:
        kinds = []
        for kind in rec.kinds(job_id):
            if not (kind == "TokenChunk" and kinds and kinds[-1] == kind):
                kinds.append(kind)
        end = rec.terminal(job_id)
        text = "".join(e.text for e in rec.of(job_id) if isinstance(e, TokenChunk))
        out.append((kinds, getattr(end, "result", None), getattr(end, "message", None), text))
    return out


def test_sync_and_threaded_engines_give_the_same_events(qtbot, recorder):
    sync = SyncEngine()
    sync_rec = recorder(sync)
    sync_ids = _scenario(sync)  # everything has happened when submit returns
    assert sync_rec.busy == [True, False] * 4 and not sync.is_busy()
    threaded = InferenceEngine()
    rec = recorder(threaded)
    try:
        ids = _scenario(threaded)
        rec.wait_terminal(qtbot, ids[-1])
    finally:
        threaded.shutdown()
        sync.shutdown()
    assert _summary(sync_rec, sync_ids) == _summary(rec, ids)
    assert _summary(rec, ids)[3] == (["Started", "TokenChunk", "Finished"], "xy" * 50, None,
                                     "xy" * 50)


def test_cancel_from_a_slot_stops_the_running_job(sync_engine, recorder):
    rec = recorder(sync_engine)

    def stop_after_five(event):
        if isinstance(event, TokenChunk) and len(rec.chunks(event.job_id)) == 5:
            sync_engine.cancel(event.job_id)

    sync_engine.event.connect(stop_after_five)
    job_id = sync_engine.submit(StreamJob(n_tokens=100))
    assert isinstance(rec.terminal(job_id), Cancelled)
    assert len(rec.chunks(job_id)) == 5


def test_jobs_submitted_from_a_slot_run_after_the_current_one(sync_engine, recorder):
    rec = recorder(sync_engine)
    follow_ups = []

    def chain(event):
        if isinstance(event, Started) and not follow_ups:
            follow_ups.append(sync_engine.submit(EchoJob(text="second")))

    sync_engine.event.connect(chain)
    first = sync_engine.submit(EchoJob(text="first"))
    order = [(type(e).__name__, e.job_id) for e in rec.events]
    assert order == [("Started", first), ("Finished", first),
                     ("Started", follow_ups[0]), ("Finished", follow_ups[0])]


def test_supersede_and_shutdown(sync_engine, recorder):
    rec = recorder(sync_engine)
    latest = []

    def supersede_on_start(event):
        if isinstance(event, Started) and not latest:
            latest.append(sync_engine.submit(EchoJob(text="latest"), supersede=True))

    sync_engine.event.connect(supersede_on_start)
    stale = sync_engine.submit(EchoJob(text="stale"))
    assert isinstance(rec.terminal(stale), Cancelled)  # cancelled before it could finish
    assert rec.terminal(latest[0]) == Finished(latest[0], result="latest",
                                               elapsed_s=rec.terminal(latest[0]).elapsed_s)
    sync_engine.shutdown()
    sync_engine.shutdown()
    with pytest.raises(RuntimeError):
        sync_engine.submit(EchoJob())
    assert not any(isinstance(e, Failed) for e in rec.events)
