"""Compose room speed (issue 9). Prints figures; asserts nothing.

    QT_QPA_PLATFORM=offscreen .venv/bin/python benchmarks/bench_compose.py [--model DIR]
        [--variations 8] [--bars 16] [--runs 3] [--threads 1]

Drives the real ComposePanel on the real InferenceEngine (worker QThread) and measures:

- time from pressing Generate to the first variation painted in the variations list
  (target < 1 s for 8 variations of 16 bars), and to the last one (the whole job);
- the GUI stall while generating: the largest gap between 10 ms QTimer ticks (target < 50 ms);
- the model alone on one thread (the floor for the first variation's arrival);
- the synth: time to render a 16-bar melody for the preview (Play's latency).

The model is the built-in ``models/music/folk-melodies`` when it is installed, else a tiny
seeded random model (``desktop_app.ml.music.tiny``); the output says which. Torch is imported
and the model loaded by one warm-up generation before timing (the status bar covers that).
"""

from __future__ import annotations

import argparse
import os
import statistics as st
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from desktop_app.core.paths import MELODY_MODEL  # noqa: E402  (spelled once)
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
os.environ.setdefault("REVERIE_DATA_DIR", tempfile.mkdtemp(prefix="reverie-bench-"))


def _model(arg: str | None) -> tuple[str, str]:
    if arg:
        return arg, f"given: {arg}"
    builtin = ROOT / "models" / "music" / MELODY_MODEL
    if (builtin / "model.safetensors").is_file():
        return str(builtin), f"built-in {MELODY_MODEL}"
    from desktop_app.ml.music.tiny import tiny_lm_dir
    path = tiny_lm_dir(Path(tempfile.mkdtemp()) / "tiny-lm")
    return str(path), "TINY SEEDED RANDOM MODEL (the built-in model is not installed)"


def _run_once(app, panel, seed: int) -> dict:
    """One Generate press, timed inside a real event loop (no busy polling)."""
    from PySide6.QtCore import QEventLoop, QTimer
    ticks: list[float] = []
    marks: dict[str, float] = {}
    loop = QEventLoop()
    tick = QTimer(interval=10, timeout=lambda: ticks.append(time.perf_counter()))

    def check() -> None:
        lst = panel.variationsList
        if "first" not in marks and lst.count() and lst.thumbnail(0).painted:
            marks["first"] = time.perf_counter()
        if not panel.is_running() and "first" in marks:
            loop.quit()
    probe = QTimer(interval=2, timeout=check)
    handler_ms: list[float] = []
    original = panel.on_job_event

    def timed(event) -> None:
        t = time.perf_counter()
        original(event)
        handler_ms.append((time.perf_counter() - t) * 1000)
    panel.on_job_event = timed
    panel.randomness.seedSpin.setValue(seed)
    tick.start()
    probe.start()
    t0 = time.perf_counter()
    ticks.append(t0)
    panel.generateButton.click()
    QTimer.singleShot(180_000, loop.quit)
    loop.exec()
    total = time.perf_counter() - t0
    panel.on_job_event = original
    tick.stop()
    probe.stop()
    if "first" not in marks:
        raise SystemExit("no variation arrived within 3 minutes; giving up")
    gaps = [b - a for a, b in zip(ticks, ticks[1:])]
    return {"first": marks["first"] - t0, "total": total,
            "stall": max(gaps) if gaps else 0.0, "count": len(panel.variationsList.melodies()),
            "handler": max(handler_ms, default=0.0)}


def _idle_gap(seconds: float = 3.0) -> float:
    """Largest gap between 10 ms ticks with nothing running: the machine's own noise floor."""
    from PySide6.QtCore import QEventLoop, QTimer
    ticks = [time.perf_counter()]
    loop = QEventLoop()
    tick = QTimer(interval=10, timeout=lambda: ticks.append(time.perf_counter()))
    tick.start()
    QTimer.singleShot(int(seconds * 1000), loop.quit)
    loop.exec()
    tick.stop()
    return max(b - a for a, b in zip(ticks, ticks[1:]))


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model")
    ap.add_argument("--variations", type=int, default=8)
    ap.add_argument("--bars", type=int, default=16)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--switch-ms", type=float, default=None,
                    help="set sys.setswitchinterval (Python's GIL hand-over period) for the run")
    args = ap.parse_args()
    if args.switch_ms is not None:
        sys.setswitchinterval(args.switch_ms / 1000)

    from PySide6.QtWidgets import QApplication
    app = QApplication([])
    from desktop_app.core import synth
    from desktop_app.engine.engine import InferenceEngine
    from desktop_app.ui.compose.panel import ComposePanel
    from desktop_app.ui.widgets.randomness import RandomnessControls

    model_dir, which = _model(args.model)
    engine = InferenceEngine(num_threads=args.threads)
    randomness = RandomnessControls()
    panel = ComposePanel(engine, randomness, model_dir=model_dir, restore=False)
    panel.resize(1000, 700)
    panel.show()
    panel.controls.variationsSpin.setMaximum(16)
    panel.controls.variationsSpin.setValue(args.variations)
    panel.controls.barsSpin.setValue(args.bars)
    print(f"model: {which}")
    print(f"engine: InferenceEngine (worker QThread), torch threads = {args.threads}, "
          f"{os.cpu_count()} CPUs, GIL switch interval {sys.getswitchinterval() * 1000:g} ms")
    engine.warm_up()  # as the app does at start-up: imports torch and sets its threads
    warm = _run_once(app, panel, 1)  # loads the model
    print(f"warm-up (torch import, model load, one generation): {warm['total']:.2f} s")
    runs = [_run_once(app, panel, 100 + i) for i in range(args.runs)]
    firsts = [r["first"] for r in runs]
    totals = [r["total"] for r in runs]
    stalls = [r["stall"] * 1000 for r in runs]
    print(f"{args.variations} variations x {args.bars} bars, {args.runs} runs:")
    print(f"  Generate -> first variation painted: median {st.median(firsts):.3f} s "
          f"(runs: {', '.join(f'{x:.3f}' for x in firsts)}; target < 1 s)")
    print(f"  Generate -> all {runs[0]['count']} variations: median {st.median(totals):.3f} s")
    print(f"  largest gap between 10 ms GUI ticks while generating: max {max(stalls):.1f} ms, "
          f"median {st.median(stalls):.1f} ms (target < 50 ms)")
    print(f"  same measurement with the engine idle for 3 s (this machine's noise floor): "
          f"{_idle_gap() * 1000:.1f} ms; load average {os.getloadavg()[0]:.1f}")
    print(f"  of which the room's own GUI work per event (adding a variation, painting the "
          f"roll): max {max(r['handler'] for r in runs):.1f} ms")
    from desktop_app.core.melody import Key
    from desktop_app.ml.music.generate import MelodyRequest, generate_melody
    from desktop_app.ml.music.loader import load_melody_model
    import torch
    torch.set_num_threads(args.threads)
    model = load_melody_model(model_dir)
    req = MelodyRequest(key=Key.parse("C major"), meter="4/4", bars=args.bars, tempo=120.0)
    alone = []
    for i in range(3):
        t = time.perf_counter()
        generate_melody(model, req, seed=500 + i)
        alone.append(time.perf_counter() - t)
    print(f"  the model alone, one {args.bars}-bar melody on this thread: median "
          f"{st.median(alone):.3f} s (so the first variation cannot arrive sooner)")
    melody = panel.pianoRoll.melody()
    times = []
    for _ in range(5):
        t = time.perf_counter()
        synth.render(melody, metronome=True)
        times.append(time.perf_counter() - t)
    print(f"  synth render of the current melody ({melody.n_bars} bars, "
          f"{len(melody.notes)} notes): median {st.median(times) * 1000:.0f} ms")
    panel.player.stop()
    panel.close()
    engine.shutdown()
    return 0


if __name__ == "__main__":
    sys.exit(main())
