"""t-SNE in the real threaded engine: progress arrives, and Cancel stops it within a few steps."""

from __future__ import annotations

import numpy as np

from desktop_app.core.events import Cancelled, Finished, Progress
from desktop_app.core.explore import ProjectJob, load_cached_layout
from desktop_app.engine.engine import InferenceEngine


def test_tsne_reports_progress_and_cancels_in_the_worker(qtbot):
    engine = InferenceEngine(num_threads=1)
    events = []
    engine.event.connect(events.append)
    codes = np.random.default_rng(0).normal(size=(600, 8)).astype(np.float32)
    job = ProjectJob(codes=codes, cache_key="cancel-test", n_iter=2000)

    def cancel_on_first_iteration(event):
        if isinstance(event, Progress) and "iteration" in event.message:
            engine.cancel(job.job_id)

    engine.event.connect(cancel_on_first_iteration)
    try:
        engine.submit(job)
        qtbot.waitUntil(lambda: any(isinstance(e, (Cancelled, Finished)) for e in events),
                        timeout=60000)
    finally:
        engine.shutdown()
    mine = [e for e in events if e.job_id == job.job_id]
    assert isinstance(mine[-1], Cancelled)
    assert any(isinstance(e, Progress) and 0 < (e.fraction or 0) < 0.2 for e in mine)
    assert load_cached_layout("cancel-test", 600) is None     # nothing half-done is cached
