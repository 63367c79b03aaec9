"""Coalescing of streamed events: the pure EventOutbox (fake clock) and through the engine."""

from __future__ import annotations

from desktop_app.backends.fake import StreamJob
from desktop_app.core.events import Finished, ImageReady, Progress, Started, TokenChunk
from desktop_app.engine.coalescing import EventOutbox
from desktop_app.engine.engine import InferenceEngine


def chunk(job_id, text, variant=0, rate=None):
    return TokenChunk(job_id, text=text, tokens=(text,), variant=variant, tokens_per_s=rate)


def test_chunks_merge_and_are_rate_limited_per_stream():
    box = EventOutbox(interval_s=0.030)
    assert box.post(chunk(1, "a", rate=1.0)) is True  # wake the GUI
    assert box.take_ready(now=0.0) == ([chunk(1, "a", rate=1.0)], None)
    assert box.post(chunk(1, "b")) is True
    assert box.post(chunk(1, "c", rate=3.0)) is False  # a wake-up is already pending
    events, retry_in = box.take_ready(now=0.010)
    assert events == [] and abs(retry_in - 0.020) < 1e-9
    assert box.post(chunk(1, "d")) is False  # still waiting: no new wake-up
    events, retry_in = box.take_ready(now=0.030)
    assert events == [TokenChunk(1, text="bcd", tokens=("b", "c", "d"), tokens_per_s=3.0)]
    assert retry_in is None
    assert box.post(chunk(1, "e")) is True  # drained: the next post wakes again


def test_variants_are_separate_streams():
    box = EventOutbox(interval_s=0.030)
    for text in "abc":
        box.post(chunk(1, text, variant=0))
        box.post(chunk(1, text.upper(), variant=1))
    events, _ = box.take_ready(now=0.0)
    assert [(e.variant, e.text) for e in events] == [(0, "abc"), (1, "ABC")]


def test_a_terminal_event_flushes_pending_chunks_first():
    box = EventOutbox(interval_s=0.030)
    box.post(Started(1, label="x"))
    box.post(chunk(1, "a"))
    box.take_ready(now=0.0)
    box.post(chunk(1, "b"))
    box.post(chunk(1, "c"))
    box.post(Finished(1, result="abc"))
    box.post(chunk(2, "z"))
    events, retry_in = box.take_ready(now=0.001)  # inside the interval, yet nothing waits
    assert events == [TokenChunk(1, text="bc", tokens=("b", "c")), Finished(1, result="abc"),
                      chunk(2, "z")]
    assert retry_in is None


def test_a_non_stream_event_seals_the_pending_chunk_so_order_is_kept():
    box = EventOutbox(interval_s=0.030)
    box.post(chunk(1, "a"))
    box.post(ImageReady(1, index=0))
    box.post(chunk(1, "b"))
    events, _ = box.take_ready(now=0.0, force=True)
    assert [type(e).__name__ for e in events] == ["TokenChunk", "ImageReady", "TokenChunk"]
    assert [e.text for e in events if isinstance(e, TokenChunk)] == ["a", "b"]


def test_progress_keeps_the_last_value():
    box = EventOutbox(interval_s=0.030)
    for i in range(10):
        box.post(Progress(1, fraction=i / 10, message=f"step {i}"))
    events, _ = box.take_ready(now=0.0)
    assert events == [Progress(1, fraction=0.9, message="step 9")]


def test_force_ignores_the_rate_limit():
    box = EventOutbox(interval_s=0.030)
    box.post(chunk(1, "a"))
    box.take_ready(now=0.0)
    box.post(chunk(1, "b"))
    assert box.take_ready(now=0.001, force=True) == ([chunk(1, "b")], None)
    assert len(box) == 0


def test_a_fast_stream_arrives_as_few_events_with_the_full_text(qtbot, recorder):
    eng = InferenceEngine(coalesce_ms=30)
    rec = recorder(eng)
    try:
        job_id = eng.submit(StreamJob(n_tokens=2000, text_per_token="ab", variants=2))
        assert isinstance(rec.wait_terminal(qtbot, job_id), Finished)
    finally:
        eng.shutdown()
    for variant in (0, 1):
        chunks = rec.chunks(job_id, variant)
        assert 1 <= len(chunks) < 200
        assert "".join(c.text for c in chunks) == "ab" * 2000
        assert [t for c in chunks for t in c.tokens] == list(range(2000))
    assert rec.kinds(job_id)[-1] == "Finished"


def test_a_slow_stream_is_not_held_back(qtbot, recorder):
    """Chunks of a stream slower than the interval arrive while it is still running."""
    eng = InferenceEngine(coalesce_ms=30)
    rec = recorder(eng)
    try:
        job_id = eng.submit(StreamJob(n_tokens=1000, text_per_token="x", delay_s=0.05))
        qtbot.waitUntil(lambda: len(rec.chunks(job_id)) >= 3, timeout=20_000)
        assert rec.terminal(job_id) is None
    finally:
        eng.shutdown()
