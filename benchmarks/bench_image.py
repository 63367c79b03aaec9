"""Measure an image model against issue 6's targets and print the figures.

    python benchmarks/bench_image.py [--model emoji|fashion|DIR] [--threads 1]
                                     [--mse] [--artifacts] [--json FILE]

Prints: decode time for one image and for a 3x3 grid (median, torch threads as given), the
held-out per-pixel MSE (recomputed from the data with --mse, needs the data set's packages;
otherwise read from metrics.json), the attribute check (+2 std devs along smile / skin tone /
older, probes fitted on held-out encodings) and morph smoothness (30-frame slerps between
held-out encodings). --artifacts writes sample_grid.png and morph_strip.png into the model
folder (for the model card).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from desktop_app.core import latent as lat  # noqa: E402
from desktop_app.ml import checkpoints as ck  # noqa: E402
from desktop_app.ml.image import files  # noqa: E402
from desktop_app.ml.image.atlas import load_atlas  # noqa: E402
from desktop_app.ml.image.datasets import ImageSet  # noqa: E402
from desktop_app.ml.image.evaluate import attribute_check  # noqa: E402
from desktop_app.ml.image.runtime import ImageModel  # noqa: E402

TARGETS = {"emoji": 0.01, "fashion": 0.015}


def _times_ms(fn, reps: int) -> tuple[float, float]:
    """(median, best) wall time in ms; the best shows the cost without other processes."""
    fn()
    fn()
    times = []
    for _ in range(reps):
        t = time.perf_counter()
        fn()
        times.append((time.perf_counter() - t) * 1000)
    return float(np.median(times)), float(np.min(times))


def decode_speed(m: ImageModel) -> dict:
    z1 = m.sample_latents(0, 1, 1.0)[0]
    z9 = m.sample_latents(1, 9, 1.0)
    one, one_best = _times_ms(lambda: m.decode(z1), 200)
    nine, nine_best = _times_ms(lambda: files.grid(m.decode(z9)), 100)
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    return {"decode_one_ms": one, "decode_one_best_ms": one_best, "decode_grid9_ms": nine,
            "decode_grid9_best_ms": nine_best, "load_average_1min": load,
            "cpu_count": os.cpu_count()}


@torch.no_grad()
def morph_check(m: ImageModel, mu_held: np.ndarray, pairs: int = 20, frames: int = 30) -> dict:
    rng = np.random.default_rng(0)
    ratios = []
    for _ in range(pairs):
        i, j = rng.choice(len(mu_held), 2, replace=False)
        imgs = m.decode(lat.slerp_path(mu_held[i], mu_held[j], frames)).astype(np.float64)
        s = lat.step_sizes(imgs / 255.0)
        ratios.append(float(s.max() / max(np.median(s), 1e-12)))
    r = np.array(ratios)
    return {"pairs": pairs, "frames": frames, "worst_ratio": float(r.max()),
            "median_ratio": float(np.median(r)), "pairs_within_3x": float(np.mean(r <= 3.0))}


def recompute_mse(m: ImageModel, model_dir: Path) -> float:
    from desktop_app.ml.image.datasets import load_dataset
    from desktop_app.ml.image.train_task import held_out_mse, to_tensor

    arrays, meta = load_atlas(model_dir)
    data = load_dataset(m.config["data"], size=m.cfg.image_size, channels=m.cfg.channels)
    idx = arrays["index"][arrays["held_out"] == 1]
    if meta["of"] != len(data):
        raise SystemExit("the data set differs from the one the atlas was built on")
    if m.config["data"] == "builtin:fashion":
        idx = np.arange(60000, len(data))          # the whole official test split
    return held_out_mse(m.vae, to_tensor(data.pixels[idx]))


def artifacts(m: ImageModel, model_dir: Path, mu_held: np.ndarray) -> None:
    scale = 2 if m.cfg.image_size == 64 else 3
    imgs = m.decode(m.sample_latents(2024, 36, 0.8))
    files.save_image(model_dir / "sample_grid.png", files.grid(imgs, cols=6), scale)
    rng = np.random.default_rng(1)
    rows = []
    for _ in range(3):
        i, j = rng.choice(len(mu_held), 2, replace=False)
        rows.append(m.decode(lat.slerp_path(mu_held[i], mu_held[j], 10)))
    strip = files.grid(np.concatenate(rows), cols=10)
    files.save_image(model_dir / "morph_strip.png", strip, scale)


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--model", default="emoji")
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--mse", action="store_true", help="recompute the held-out MSE from data")
    p.add_argument("--artifacts", action="store_true")
    p.add_argument("--json", help="also write the figures to this file")
    args = p.parse_args(argv)
    torch.set_num_threads(args.threads)
    m = ImageModel.from_name(args.model)
    name = m.model_dir.name
    out = {"model": str(m.model_dir), "threads": args.threads,
           "parameters": sum(p.numel() for p in m.vae.parameters())}
    out.update(decode_speed(m))
    print(f"{name}: decode one {m.cfg.image_size}x{m.cfg.image_size}: "
          f"{out['decode_one_ms']:.2f} ms median (target < 10 ms; ratio "
          f"{out['decode_one_ms'] / 10:.2f}); 3x3 grid {out['decode_grid9_ms']:.2f} ms "
          f"(target < 40 ms; ratio {out['decode_grid9_ms'] / 40:.2f}); best "
          f"{out['decode_one_best_ms']:.2f} / {out['decode_grid9_best_ms']:.2f} ms; load "
          f"average {out['load_average_1min']:.1f} on {out['cpu_count']} CPUs")
    metrics = ck.load_json(m.model_dir / "metrics.json")
    mse = recompute_mse(m, m.model_dir) if args.mse else metrics["held_out_mse"]
    out["held_out_mse"] = mse
    target = TARGETS.get(name)
    print(f"{name}: held-out per-pixel MSE {mse:.5f}"
          + (f" (target <= {target}; {'met' if mse <= target else 'MISSED'})" if target else "")
          + ("" if args.mse else " [from metrics.json]"))
    arrays, meta = load_atlas(m.model_dir)
    mu = arrays["mu"].astype(np.float32)
    held = arrays["held_out"] == 1
    out["morph"] = morph_check(m, mu[held])
    mo = out["morph"]
    print(f"{name}: morph smoothness over {mo['pairs']} slerps of {mo['frames']} frames: "
          f"worst max/median step {mo['worst_ratio']:.2f} (target <= 3), median "
          f"{mo['median_ratio']:.2f}, {mo['pairs_within_3x'] * 100:.0f}% of pairs within 3x")
    labels = {k[len("label."):]: v.astype(np.float64) for k, v in arrays.items()
              if k.startswith("label.")}
    data = ImageSet(pixels=np.zeros((len(mu), 1, 1, 1), np.uint8), names=meta["names"],
                    labels=labels)
    checks = attribute_check(m.vae, data, mu, np.flatnonzero(held), m.directions)
    out["attribute_check"] = checks
    for a, row in checks.items():
        print(f"{name}: +2 sd along {a!r}: probe flipped in {row['flipped'] * 100:.0f}% of "
              f"{row['n']} (target >= 80%); other targets' probes changed in at most "
              f"{row['max_other_changed'] * 100:.0f}% (target < 20%); any other attribute "
              f"{row['max_any_other_changed'] * 100:.0f}%; probe on {row['probe_data']} "
              f"({row['probe_n']} images, accuracy {row['probe_accuracy'] * 100:.0f}%)")
    if not checks:
        print(f"{name}: no labelled smile / skin tone / older attributes: attribute check n/a")
    if args.artifacts:
        artifacts(m, m.model_dir, mu[held])
        print(f"wrote {m.model_dir / 'sample_grid.png'} and {m.model_dir / 'morph_strip.png'}")
    if args.json:
        Path(args.json).write_text(json.dumps(out, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
