"""The soft mode prior: a per-mode logit bias against pitches outside the requested mode.

Why: the melody transformer is conditioned on a mode token, but the corpus is 80 % major and
the rare modes have a few dozen tunes (lydian 9, phrygian 5, locrian none), so in those modes
it played notes outside the mode at 2-6x the corpus's own rate (issue 20, item 17) -- it plays
the major/minor patterns it knows. The hard mask ("only notes in the key") removes them all;
the prior is the default in between: out-of-mode pitch logits are lowered by ``b[mode]`` nats
so that the model's out-of-mode rate comes down to the corpus's rate for that mode, and the
chromatic notes the corpus does use (a leading tone, a passing note) stay possible.

``b[mode]`` is calibrated once per model, after training, and stored in its config.json as
``mode_prior`` (with the targets, ``mode_prior_targets``):

1. Target rates from the training tunes: the share of notes outside each tune's mode, shrunk
   toward the rate over all modes by :data:`SHRINK_NOTES` notes of weight (a mode with few
   tunes, or none, gets close to the pooled rate instead of noise).
2. Generate a few tunes per mode at temperature 1 and record at every pitch step the log-odds
   ``d`` of "some out-of-mode pitch" against "some in-mode pitch" in the model's own logits.
   With a bias ``b`` the expected rate is ``mean(sigmoid(d - b))``; solve it for the target by
   bisection (``b >= 0``: the prior never pushes toward chromatic notes). Repeat once with the
   new bias, since fewer chromatic notes in the context change what the model expects next.

``python -m desktop_app.ml.music.mode_prior MODEL_DIR [--data DIR]`` calibrates a folder;
``reverie train music`` does it at the end of a run.
"""

from __future__ import annotations

import argparse
import math
import sys
from functools import lru_cache
from pathlib import Path

import numpy as np

from desktop_app.core.melody import MODES, Key

#: Notes of weight the pooled rate gets when a mode's own rate is estimated (shrinkage).
SHRINK_NOTES = 300
MAX_BIAS = 8.0
CALIBRATION_METERS = ("4/4", "6/8", "3/4", "2/4")


def mode_rates(tunes: list[dict]) -> dict[str, dict]:
    """Per mode present: tunes, notes, share ending on the tonic, share of notes outside the
    mode -- over whole source tunes (pickup and final part-bar included)."""
    from desktop_app.ml.music import data as D
    acc: dict[str, list[int]] = {}
    for t in tunes:
        key = D.tune_key(t)
        notes = [n for n in t.get("notes", ()) if n[0] is not None]
        if key is None or not notes:
            continue
        a = acc.setdefault(key.mode, [0, 0, 0, 0])
        last = max(notes, key=lambda n: n[2])
        a[0] += 1
        a[1] += (last[0] - key.tonic) % 12 == 0
        a[2] += len(notes)
        a[3] += sum(not key.contains(n[0]) for n in notes)
    return {m: {"tunes": a[0], "notes": a[2], "tonic_ending": a[1] / a[0],
                "out_of_mode": a[3] / a[2]} for m, a in acc.items()}


def target_rates(rates: dict[str, dict]) -> dict[str, float]:
    """Out-of-mode rate to aim at per mode: the mode's own, shrunk toward the pooled rate."""
    notes = sum(r["notes"] for r in rates.values())
    outside = sum(r["notes"] * r["out_of_mode"] for r in rates.values())
    pooled = outside / notes if notes else 0.01
    out = {}
    for m in MODES:
        r = rates.get(m)
        n, o = (r["notes"], r["notes"] * r["out_of_mode"]) if r else (0, 0.0)
        out[m] = (o + SHRINK_NOTES * pooled) / (n + SHRINK_NOTES)
    return out


@lru_cache(maxsize=None)
def out_of_mode_tokens(mode: str) -> np.ndarray:
    """Boolean mask over the vocabulary: pitch tokens (not the rest) outside ``mode``."""
    from desktop_app.ml.music import tokens as T
    mask = np.zeros(T.VOCAB_SIZE, dtype=bool)
    key = Key(0, mode)
    for tok in T.PITCH_IDS:
        if tok != T.REST and not key.contains(T.token_pitch(tok)):
            mask[tok] = True
    mask.flags.writeable = False
    return mask


def _notes_mask() -> np.ndarray:
    """Boolean mask over the vocabulary: every pitch token but the rest."""
    from desktop_app.ml.music import tokens as T
    mask = np.zeros(T.VOCAB_SIZE, dtype=bool)
    mask[[t for t in T.PITCH_IDS if t != T.REST]] = True
    return mask


def solve_bias(d: np.ndarray, target: float) -> float:
    """The ``b`` in [0, MAX_BIAS] with ``mean(sigmoid(d - b)) = target`` (0 when already below)."""
    d = np.asarray(d, np.float64)
    d = d[~np.isnan(d)]       # -inf (only in-mode pitches allowed) counts as rate 0
    rate = lambda b: float(np.mean(1.0 / (1.0 + np.exp(b - d)))) if len(d) else 0.0  # noqa: E731
    if rate(0.0) <= target:
        return 0.0
    lo, hi = 0.0, MAX_BIAS
    for _ in range(40):
        mid = (lo + hi) / 2
        lo, hi = (mid, hi) if rate(mid) > target else (lo, mid)
    return round((lo + hi) / 2, 3)


def calibrate(model, targets: dict[str, float], *, tunes_per_mode: int = 24, bars: int = 8,
              rounds: int = 2, seed: int = 9000, progress=None) -> dict[str, float]:
    """Per-mode bias (nats) that brings the model's out-of-mode rate to ``targets``."""
    from desktop_app.ml.music.generate import MUSIC_DEFAULTS, sample_tokens
    bias = {m: 0.0 for m in MODES}
    for mode in MODES:
        outside = out_of_mode_tokens(mode)
        inside = _notes_mask() & ~outside
        for _ in range(rounds):
            d: list[float] = []

            def observe(z: np.ndarray) -> None:
                zo, zi = z[outside[: len(z)]], z[inside[: len(z)]]
                if np.isfinite(zi).any():
                    d.append(_lse(zo) - _lse(zi))
            for i in range(tunes_per_mode):
                sample_tokens(model, meter=CALIBRATION_METERS[i % len(CALIBRATION_METERS)],
                              mode=mode, bars=bars, key=Key(0, mode), settings=MUSIC_DEFAULTS,
                              seed=seed + i, mode_bias=bias[mode], on_pitch_logits=observe)
            bias[mode] = solve_bias(np.array(d), targets[mode])
        if progress:
            progress(f"mode prior: {mode} bias {bias[mode]:.2f} nats "
                     f"(target out-of-mode rate {targets[mode]:.4f})")
    return bias


def _lse(z: np.ndarray) -> float:
    z = z[np.isfinite(z)]
    if not len(z):
        return -math.inf
    m = float(z.max())
    return m + math.log(float(np.exp(z - m).sum()))


def write_prior(folder: Path, bias: dict[str, float], targets: dict[str, float]) -> None:
    """Store the calibration in ``folder``/config.json (atomically)."""
    from desktop_app.ml import checkpoints as ck
    cfg = ck.load_json(Path(folder) / "config.json")
    cfg["mode_prior"] = {m: float(b) for m, b in bias.items()}
    cfg["mode_prior_targets"] = {m: round(float(t), 5) for m, t in targets.items()}
    ck.save_json(Path(folder) / "config.json", cfg)


def read_prior(cfg: dict, source: str) -> dict[str, float]:
    """The validated ``mode_prior`` of a config (untrusted): {} when absent."""
    from desktop_app.core.errors import ModelLoadError
    raw = cfg.get("mode_prior")
    if raw is None:
        return {}
    if not isinstance(raw, dict) or any(
            m not in MODES or isinstance(b, bool) or not isinstance(b, (int, float))
            or not 0.0 <= float(b) <= MAX_BIAS for m, b in raw.items()):
        raise ModelLoadError(f"{source}: mode_prior must map modes to numbers from 0 to "
                             f"{MAX_BIAS:g}")
    return {m: float(b) for m, b in raw.items()}


def calibrate_folder(folder: Path, tunes: list[dict], *, tunes_per_mode: int = 24,
                     progress=None) -> dict[str, float]:
    from desktop_app.ml.music.loader import load_melody_model
    targets = target_rates(mode_rates(tunes))
    model = load_melody_model(folder)
    bias = calibrate(model, targets, tunes_per_mode=tunes_per_mode, progress=progress)
    write_prior(folder, bias, targets)
    return bias


def main(argv: list[str] | None = None) -> int:
    from desktop_app.commands import options as opt
    from desktop_app.core.errors import ReverieError
    p = argparse.ArgumentParser(prog="python -m desktop_app.ml.music.mode_prior",
                                description="calibrate a melody model's soft mode prior and "
                                            "store it in its config.json")
    p.add_argument("folder", type=opt.existing_dir, help="the melody transformer folder")
    p.add_argument("--data", type=opt.existing_dir, default=None,
                   help="a folder of MIDI files (default: the corpus it was trained on)")
    p.add_argument("--tunes", type=opt.int_in(1, 1000), default=24, help="tunes per mode")
    p.add_argument("--threads", type=opt.THREADS, default=1, help="torch CPU threads")
    args = p.parse_args(argv)
    import torch
    torch.set_num_threads(args.threads)
    from desktop_app.ml.music import data as D
    try:
        tunes = D.midi_folder_tunes(args.data) if args.data else D.load_tunes()
        bias = calibrate_folder(args.folder, tunes, tunes_per_mode=args.tunes,
                                progress=lambda m: print(m, file=sys.stderr, flush=True))
    except ReverieError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    print(" ".join(f"{m}={b:.2f}" for m, b in bias.items()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
