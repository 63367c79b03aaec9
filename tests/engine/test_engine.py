"""The threaded InferenceEngine: order, cancellation, supersede, failures, shutdown, warm-up."""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from desktop_app.backends.fake import BusyJob, EchoJob, FailJob, StreamJob, WaitJob
from desktop_app.core.errors import ModelLoadError
from desktop_app.core.events import Cancelled, Failed, Finished, Progress, Started
from desktop_app.core.jobs import Job
from desktop_app.engine.engine import InferenceEngine


def test_jobs_run_in_fifo_order_with_full_life_cycles(engine, rec, qtbot):
    jobs = [EchoJob(text=f"t{i}") for i in range(5)] + [StreamJob(n_tokens=20)]
    ids = [engine.submit(j) for j in jobs]
    assert engine.is_busy()
    rec.wait_terminal(qtbot, ids[-1])
    starts = [e.job_id for e in rec.events if isinstance(e, Started)]
    assert starts == ids
    for i, job_id in enumerate(ids[:5]):
        assert rec.of(job_id) == [Started(job_id, label="Echoing"),
                                  Finished(job_id, result=f"t{i}",
                                           elapsed_s=rec.terminal(job_id).elapsed_s)]
    kinds = rec.kinds(ids[-1])
    assert kinds[0] == "Started" and kinds[-1] == "Finished" and "TokenChunk" in kinds
    # every job ends before the next starts
    order = [(type(e).__name__, e.job_id) for e in rec.events if isinstance(e, (Started, Finished))]
    assert order == [(k, j) for j in ids for k in ("Started", "Finished")]
    qtbot.waitUntil(lambda: not engine.is_busy(), timeout=5000)
    assert rec.busy == [True, False]


def test_a_running_engine_hands_the_gil_over_every_millisecond(engine, rec, qtbot,
                                                                  monkeypatch):
    """The GUI thread waits at most one switch interval each time it takes the GIL back
    from the worker (Python's default 5 ms made model loads stall the window 59-76 ms)."""
    import sys

    monkeypatch.setattr(sys, "setswitchinterval", _recording(sys.setswitchinterval, seen := []))
    rec.wait_terminal(qtbot, engine.submit(EchoJob(text="x")))
    assert seen and seen[-1] <= 0.001


def _recording(fn, seen: list):
    def wrapper(value):
        seen.append(value)
        fn(value)
    return wrapper


def test_cancelling_a_queued_job_is_not_lost(engine, rec, qtbot):
    blocker = engine.submit(WaitJob())
    rec.wait_kind(qtbot, blocker, "Started")
    queued = engine.submit(EchoJob(text="never"))
    engine.cancel(queued)
    engine.cancel(blocker)
    rec.wait_terminal(qtbot, queued)
    assert rec.kinds(queued) == ["Cancelled"]  # skipped: no Started, no result
    assert isinstance(rec.terminal(blocker), Cancelled)
    assert rec.events.index(rec.terminal(blocker)) < rec.events.index(rec.terminal(queued))
    assert rec.terminal(queued).latency_s >= 0


def test_cancelling_a_running_job_stops_it(engine, rec, qtbot):
    job_id = engine.submit(BusyJob(seconds=60))
    qtbot.waitUntil(lambda: any(isinstance(e, Progress) for e in rec.of(job_id)), timeout=20_000)
    engine.cancel(job_id)
    done = rec.wait_terminal(qtbot, job_id)
    assert isinstance(done, Cancelled)
    assert done.latency_s is not None and done.latency_s >= 0
    # the thread lives on
    after = engine.submit(EchoJob(text="still here"))
    assert rec.wait_terminal(qtbot, after).result == "still here"


def test_cancel_all_and_unknown_ids(engine, rec, qtbot):
    engine.cancel(987654321)  # unknown: ignored
    ids = [engine.submit(WaitJob()) for _ in range(3)]
    rec.wait_kind(qtbot, ids[0], "Started")
    engine.cancel_all()
    for job_id in ids:
        assert isinstance(rec.wait_terminal(qtbot, job_id), Cancelled)
    assert rec.kinds(ids[1]) == ["Cancelled"]


def test_supersede_cancels_running_and_queued_jobs_of_the_group(engine, rec, qtbot):
    running = engine.submit(WaitJob())
    rec.wait_kind(qtbot, running, "Started")
    queued = engine.submit(EchoJob(text="stale"))
    other = engine.submit(StreamJob(n_tokens=3))  # no supersede group: untouched
    latest = engine.submit(EchoJob(text="latest"), supersede=True)
    rec.wait_terminal(qtbot, latest)
    assert isinstance(rec.terminal(running), Cancelled)
    assert rec.kinds(queued) == ["Cancelled"]
    assert rec.terminal(other).result == "aaa"
    assert rec.terminal(latest).result == "latest"


def test_supersede_false_keeps_earlier_jobs(engine, rec, qtbot):
    a = engine.submit(EchoJob(text="a"))
    b = engine.submit(EchoJob(text="b"))
    rec.wait_terminal(qtbot, b)
    assert rec.terminal(a).result == "a"


def test_exceptions_become_failed_and_the_next_job_runs(engine, rec, qtbot):
    crash = engine.submit(FailJob(message="boom", expected=False))
    expected = engine.submit(FailJob(message="The model file x.safetensors is corrupt."))
    after = engine.submit(EchoJob(text="ok"))
    rec.wait_terminal(qtbot, after)
    failed = rec.terminal(crash)
    assert isinstance(failed, Failed)
    assert failed.message == "RuntimeError: boom"
    assert "Traceback" in failed.detail and "run_fail" in failed.detail
    assert rec.terminal(expected) == Failed(expected,
                                            message="The model file x.safetensors is corrupt.")
    assert rec.kinds(crash) == ["Started", "Failed"]
    assert rec.terminal(after).result == "ok"


@dataclass(frozen=True, kw_only=True)
class _UnregisteredJob(Job):
    pass


def test_a_job_without_a_handler_fails_readably(engine, rec, qtbot):
    job_id = engine.submit(_UnregisteredJob())
    failed = rec.wait_terminal(qtbot, job_id)
    assert isinstance(failed, Failed)
    assert failed.message == "LookupError: no handler is registered for _UnregisteredJob"


def test_shutdown_while_running_cancels_and_joins(qtbot, recorder):
    eng = InferenceEngine()
    rec = recorder(eng)
    busy = eng.submit(BusyJob(seconds=60))
    queued = eng.submit(EchoJob(text="never"))
    qtbot.waitUntil(lambda: any(isinstance(e, Progress) for e in rec.of(busy)), timeout=20_000)
    eng.shutdown()
    # the Cancelled events are delivered before shutdown returns; the thread is joined
    assert isinstance(rec.terminal(busy), Cancelled)
    assert rec.kinds(queued) == ["Cancelled"]
    assert eng._thread is None
    assert not eng.is_busy() and rec.busy == [True, False]
    eng.shutdown()  # idempotent
    with pytest.raises(RuntimeError, match="shut down"):
        eng.submit(EchoJob())


def test_shutdown_of_a_never_started_engine(qtbot):
    eng = InferenceEngine()
    eng.shutdown()
    eng.shutdown()
    assert eng._thread is None


def test_submitting_the_same_job_twice_is_refused(engine, rec, qtbot):
    job = WaitJob()
    engine.submit(job)
    with pytest.raises(ValueError, match="already submitted"):
        engine.submit(job)


def test_warm_up_imports_torch_on_the_worker_with_the_chosen_threads(qtbot, recorder):
    eng = InferenceEngine(num_threads=1)
    rec = recorder(eng)
    try:
        job_id = eng.warm_up()
        done = rec.wait_terminal(qtbot, job_id)
        assert isinstance(done, Finished), done
        assert done.result["num_threads"] == 1
        assert rec.of(job_id)[0] == Started(job_id, label="Starting the engine (loading torch)")
    finally:
        eng.shutdown()


def test_whatever_a_cancelled_job_raises_ends_it_cancelled(qtbot, recorder):
    def loader_that_wraps_errors(job, ctx):
        ctx.token.wait(60)
        raise ModelLoadError("could not load the model: interrupted")

    eng = InferenceEngine(handler_for=lambda job: loader_that_wraps_errors)
    rec = recorder(eng)
    try:
        job_id = eng.submit(EchoJob())
        rec.wait_kind(qtbot, job_id, "Started")
        eng.cancel(job_id)
        assert isinstance(rec.wait_terminal(qtbot, job_id), Cancelled)
    finally:
        eng.shutdown()
