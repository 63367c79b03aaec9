"""Seconds per optimizer step of each Train-room size preset, through the real CLI commands.

Usage: python benchmarks/bench_train_room.py [--steps 4] [--only text:tiny image:small ...]
Runs ``python -m desktop_app train <kind> ... --steps N`` with one JSON line per step on a small
generated data folder (text: the story corpus' first files; image: random PNGs; music: the
melody corpus), and prints, per preset: parameters, median seconds per step (the first step is
a warm-up and not counted), and the rate the command reports. These figures are what the Train
room's time estimates (``desktop_app/ui/train/presets.py``) are calibrated on.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from desktop_app.ui.train.presets import PRESETS, command_args  # noqa: E402


def _text_data(tmp: Path) -> Path:
    src = ROOT.parent / "shared" / "data" / "text" / "stories"
    out = tmp / "text"
    out.mkdir()
    for f in sorted(src.glob("*.txt"))[:12]:
        (out / f.name).write_bytes(f.read_bytes()[:200_000])
    return out


def _image_data(tmp: Path) -> Path:
    import numpy as np
    from PIL import Image
    out = tmp / "images"
    out.mkdir()
    rng = np.random.default_rng(0)
    for i in range(120):
        Image.fromarray(rng.integers(0, 255, (64, 64, 3), dtype=np.uint8)).save(out / f"{i}.png")
    return out


def run_one(kind: str, size: str, data: Path | None, steps: int, tmp: Path) -> None:
    preset = PRESETS[kind][size]
    out = tmp / f"run-{kind}-{size}"
    argv = [sys.executable, "-m", "desktop_app", "train", kind,
            *command_args(kind, size, data=str(data) if data else None, out=str(out),
                          steps=steps, progress_every=1), "--eval-every", "1000"]
    proc = subprocess.run(argv, capture_output=True, text=True, cwd=ROOT)
    elapsed, params, rate = [], None, None
    for line in proc.stdout.splitlines():
        try:
            ev = json.loads(line)
        except json.JSONDecodeError:
            continue
        if ev.get("kind") == "start" and ev.get("message"):
            params = ev["message"].split(" parameters")[0]
        if ev.get("kind") == "step":
            elapsed.append(ev["elapsed_s"])
            rate = ev.get("tokens_per_s")
    if proc.returncode != 0 or len(elapsed) < 2:
        print(f"{kind}:{size} failed (exit {proc.returncode}): {proc.stderr.strip()[-300:]}")
        return
    per_step = statistics.median(b - a for a, b in zip(elapsed, elapsed[1:]))
    print(f"{kind}:{size:6s} {params or '?':>12s} parameters  {per_step:7.2f} s/step  "
          f"rate {rate:,.0f}/s  (preset guess {preset.seconds_per_step} s/step)", flush=True)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--steps", type=int, default=4)
    ap.add_argument("--only", nargs="*")
    a = ap.parse_args()
    with tempfile.TemporaryDirectory() as t:
        tmp = Path(t)
        data = {"text": _text_data(tmp), "image": _image_data(tmp), "music": None}
        for kind, sizes in PRESETS.items():
            for size in sizes:
                if a.only and f"{kind}:{size}" not in a.only:
                    continue
                run_one(kind, size, data[kind], a.steps, tmp)


if __name__ == "__main__":
    main()
