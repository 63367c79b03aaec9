"""Engine benchmark: cancel latency, and how smooth the GUI thread stays while the engine works.

Prints two tables (figures, never pass/fail):

(a) Cancel latency of a running ``BusyJob``: from ``cancel()`` to the worker noticing
    (``Cancelled.latency_s``) and to the ``Cancelled`` event reaching the GUI thread.
    Target: median under 100 ms.
(b) The largest gap between 10 ms ``QTimer`` ticks on the GUI thread while the engine runs a
    CPU-heavy job, with torch's thread count 1 vs 2 side by side (runs interleaved), plus
    the work done per second (the trade-off). ``warm_up`` (the torch import, which holds the
    GIL) finishes before measuring and is reported on its own. Target: under 50 ms.
(c) How long ``shutdown()`` takes while a job runs (closing the window mid-job): < 1 s.

Usage::

    QT_QPA_PLATFORM=offscreen .venv/bin/python benchmarks/bench_engine.py [--runs 20]
        [--reps 3] [--seconds 3] [--size 384] [--threads 1 2]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from PySide6.QtWidgets import QApplication  # noqa: E402

from desktop_app.backends.fake import BusyJob, TorchBusyJob  # noqa: E402
from desktop_app.backends.warmup import available_cores  # noqa: E402
from desktop_app.core.events import TERMINAL_EVENTS, Cancelled, Progress  # noqa: E402
from desktop_app.engine.engine import InferenceEngine  # noqa: E402
from gui_timing import TickGaps, wait_for  # noqa: E402  (benchmarks/ is on sys.path)


class Watch:
    """Records an engine's events with their arrival times on the GUI thread."""

    def __init__(self, engine: InferenceEngine) -> None:
        self.events: list[tuple[float, object]] = []
        engine.event.connect(lambda e: self.events.append((time.perf_counter(), e)))

    def find(self, job_id: int, kinds) -> tuple[float, object] | None:
        return next(((t, e) for t, e in self.events
                     if e.job_id == job_id and isinstance(e, kinds)), None)


def measure_cancel(runs: int) -> tuple[list[float], list[float]]:
    engine = InferenceEngine()
    watch = Watch(engine)
    noticed, delivered = [], []
    try:
        for _ in range(runs):
            job_id = engine.submit(BusyJob(seconds=60))
            wait_for(lambda: watch.find(job_id, Progress))  # it is computing
            t0 = time.perf_counter()
            engine.cancel(job_id)
            wait_for(lambda: watch.find(job_id, TERMINAL_EVENTS))
            t_end, end = watch.find(job_id, TERMINAL_EVENTS)
            assert isinstance(end, Cancelled), end
            noticed.append(end.latency_s * 1000)
            delivered.append((t_end - t0) * 1000)
    finally:
        engine.shutdown()
    return noticed, delivered


def run_loaded(engine: InferenceEngine, watch: Watch, job,
               ticks: TickGaps) -> tuple[list[float], object]:
    ticks.start()
    job_id = engine.submit(job)
    wait_for(lambda: watch.find(job_id, TERMINAL_EVENTS))
    gaps = ticks.stop()
    return gaps, watch.find(job_id, TERMINAL_EVENTS)[1]


def measure_gaps(args) -> dict:
    """Per setting: list of (max gap, p99 gap, GFLOP/s) over ``args.reps`` interleaved runs."""
    ticks = TickGaps()
    results: dict[str, list[tuple[float, float, float]]] = {}
    engines = {}
    for n in args.threads:
        eng = InferenceEngine(num_threads=n)
        watch = Watch(eng)
        ticks.start()
        wid = eng.warm_up()
        wait_for(lambda: watch.find(wid, TERMINAL_EVENTS))
        import_gaps = ticks.stop()
        info = watch.find(wid, TERMINAL_EVENTS)[1].result
        print(f"warm_up(num_threads={n}): torch import {info['import_s']:.2f} s, "
              f"largest GUI gap during it {max(import_gaps, default=0):.0f} ms (not counted)")
        engines[n] = (eng, watch)
    flop = 2 * args.size ** 3
    try:
        for _ in range(args.reps):
            ticks.start()
            wait_for(lambda: len(ticks.ticks) >= 100)  # ~1 s idle baseline
            idle = ticks.stop()
            results.setdefault("idle (no job)", []).append(
                (max(idle), _p99(idle), float("nan")))
            for n, (eng, watch) in engines.items():
                job = TorchBusyJob(seconds=args.seconds, size=args.size)
                gaps, end = run_loaded(eng, watch, job, ticks)
                rate = end.result["steps"] * flop / end.elapsed_s / 1e9
                label = f"torch matmul, {end.result['num_threads']} thread(s)"
                results.setdefault(label, []).append((max(gaps), _p99(gaps), rate))
            eng, watch = next(iter(engines.values()))
            gaps, end = run_loaded(eng, watch, BusyJob(seconds=args.seconds), ticks)
            results.setdefault("numpy sin, one core (BusyJob)", []).append(
                (max(gaps), _p99(gaps), float("nan")))
    finally:
        for eng, _ in engines.values():
            eng.shutdown()
    return results


def measure_shutdown(reps: int) -> dict[str, list[float]]:
    """Seconds ``shutdown()`` takes while a busy job runs (closing the window mid-job)."""
    out: dict[str, list[float]] = {}
    for _ in range(reps):
        for job in (BusyJob(seconds=60), TorchBusyJob(seconds=60, size=384)):
            eng = InferenceEngine(num_threads=1)
            watch = Watch(eng)
            job_id = eng.submit(job)
            wait_for(lambda: watch.find(job_id, Progress))
            t0 = time.perf_counter()
            eng.shutdown()
            out.setdefault(type(job).__name__, []).append((time.perf_counter() - t0) * 1000)
    return out


def _p99(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(0.99 * len(ordered)))] if ordered else float("nan")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=20, help="cancel-latency samples")
    parser.add_argument("--reps", type=int, default=3, help="runs per GUI-gap setting")
    parser.add_argument("--seconds", type=float, default=3.0, help="length of each busy job")
    parser.add_argument("--size", type=int, default=384, help="matrix size of the busy jobs")
    parser.add_argument("--threads", type=int, nargs="+", default=[1, 2])
    args = parser.parse_args(argv)
    app = QApplication.instance() or QApplication(sys.argv[:1])  # noqa: F841 - keep it alive
    print(f"cores available: {available_cores()}, Python {sys.version.split()[0]}")

    noticed, delivered = measure_cancel(args.runs)
    print(f"\n(a) cancel latency of a running BusyJob, {args.runs} runs (target: median < 100 ms)")
    print(f"{'':28}{'median ms':>10}{'max ms':>10}")
    print(f"{'worker noticed the cancel':28}{statistics.median(noticed):10.2f}{max(noticed):10.2f}")
    print(f"{'Cancelled reached the GUI':28}{statistics.median(delivered):10.2f}"
          f"{max(delivered):10.2f}")

    print()
    results = measure_gaps(args)
    print(f"\n(b) GUI thread: 10 ms timer gaps while the engine computes, {args.reps} runs of "
          f"{args.seconds:g} s, {args.size}x{args.size} matmuls (target: largest gap < 50 ms)")
    print(f"{'setting':34}{'max gap ms (median)':>20}{'worst':>8}{'p99 ms':>8}{'GFLOP/s':>9}")
    for label, rows in results.items():
        maxima = [r[0] for r in rows]
        print(f"{label:34}{statistics.median(maxima):20.1f}{max(maxima):8.1f}"
              f"{statistics.median(r[1] for r in rows):8.1f}"
              f"{statistics.median(r[2] for r in rows):9.1f}")
    print(f"\n(c) shutdown() while a job runs, {args.reps} runs each (target: < 1000 ms)")
    for name, times in measure_shutdown(args.reps).items():
        print(f"{name:28}{statistics.median(times):10.2f}{max(times):10.2f}  (median, max ms)")

    return 0


if __name__ == "__main__":
    raise SystemExit(main())
