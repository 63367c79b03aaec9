"""The worker's model cache: LRU eviction past a byte budget, progress, and use from a job."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pytest

from desktop_app.core.events import Finished, Progress
from desktop_app.core.jobs import Job
from desktop_app.engine.engine import InferenceEngine
from desktop_app.engine.model_cache import ModelCache, default_budget_bytes, estimate_size

MB = 1_000_000


class Loads:
    """A loader factory that counts loads and reports progress like a real loader."""

    def __init__(self) -> None:
        self.count: dict[str, int] = {}

    def __call__(self, key: str, n_bytes: int):
        def loader(progress):
            self.count[key] = self.count.get(key, 0) + 1
            progress(0.5, f"half of {key}")
            return np.zeros(n_bytes, dtype=np.uint8)
        return loader


def test_least_recently_used_models_go_first_past_the_budget():
    cache, loads = ModelCache(budget_bytes=3 * MB), Loads()
    for key in "abc":
        cache.get(key, loads(key, MB))
    assert cache.keys() == ["a", "b", "c"] and cache.used_bytes == 3 * MB
    cache.get("a", loads("a", MB))  # a hit: no reload, a becomes the most recent
    assert loads.count["a"] == 1
    cache.get("d", loads("d", MB))
    assert cache.keys() == ["c", "a", "d"]  # b was the least recently used
    cache.get("b", loads("b", MB))
    assert loads.count["b"] == 2 and "c" not in cache


def test_a_model_bigger_than_the_budget_is_kept_alone():
    cache, loads = ModelCache(budget_bytes=2 * MB), Loads()
    cache.get("small", loads("small", MB))
    big = cache.get("big", loads("big", 5 * MB))
    assert big.nbytes == 5 * MB and cache.keys() == ["big"]


def test_loading_reports_progress_and_failures_cache_nothing():
    cache, loads = ModelCache(budget_bytes=10 * MB), Loads()
    reports = []
    cache.get("m", loads("m", 10), progress=lambda f, msg: reports.append((f, msg)))
    assert reports == [(0.0, "Loading the model"), (0.5, "half of m"), (1.0, "Model loaded")]

    def broken(progress):
        raise OSError("unreadable")
    with pytest.raises(OSError):
        cache.get("bad", broken)
    assert "bad" not in cache
    cache.evict("m")
    cache.evict("never loaded")
    assert cache.keys() == []


def test_sizes_and_the_default_budget(tmp_path):
    torch = pytest.importorskip("torch")
    layer = torch.nn.Linear(10, 4)  # 44 float32 parameters
    assert estimate_size(layer) == 44 * 4
    assert estimate_size((np.zeros(3, np.float64), {"t": torch.zeros(2)})) == 24 + 8
    meminfo = tmp_path / "meminfo"
    meminfo.write_text("MemTotal: 100 kB\nMemAvailable:    2048 kB\n")
    assert default_budget_bytes(str(meminfo)) == 1024 * 1024
    assert default_budget_bytes(str(tmp_path / "missing")) == 2 * 1024**3
    assert ModelCache().budget_bytes > 0


@dataclass(frozen=True, kw_only=True)
class _ModelJob(Job):
    key: str = "m"


def test_jobs_share_the_cache_and_see_loading_progress(qtbot, recorder):
    loads = Loads()

    def handler(job, ctx):
        return ctx.models.get(job.key, loads(job.key, MB)).nbytes

    eng = InferenceEngine(handler_for=lambda job: handler, memory_budget_bytes=MB)
    rec = recorder(eng)
    try:
        first, second = eng.submit(_ModelJob(key="m")), eng.submit(_ModelJob(key="m"))
        third = eng.submit(_ModelJob(key="n"))  # evicts m (budget: one model)
        fourth = eng.submit(_ModelJob(key="m"))
        rec.wait_terminal(qtbot, fourth)
    finally:
        eng.shutdown()
    assert all(isinstance(rec.terminal(j), Finished) for j in (first, second, third, fourth))
    assert loads.count == {"m": 2, "n": 1}
    # progress is rate-limited (the last report wins), so at least the final one arrives
    assert any(isinstance(e, Progress) and e.message in ("Loading the model", "half of m",
                                                         "Model loaded") for e in rec.of(first))
    assert not any(isinstance(e, Progress) for e in rec.of(second))  # a cache hit
    assert eng.memory_budget_bytes == MB
