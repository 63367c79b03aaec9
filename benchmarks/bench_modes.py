"""Compose's endings and modes (issue 20, item 17): prints a table per mode; asserts nothing.

    python benchmarks/bench_modes.py [--model models/music/folk-melodies] [--per-mode 200]
        [--columns off,prior,mask] [--json OUT.json] [--table A.json B.json ...]

For every mode, ``--per-mode`` 16-bar melodies (tonics cycling through the 12 keys, meters
through six common ones, seeds 5000, 5001, ...) at temperature 1, generated three ways:

``off``    neither the soft mode prior nor the mask (the model alone, plus the tonic cadence);
``prior``  the default: the calibrated soft mode prior (``ml/music/mode_prior.py``);
``mask``   the hard in-key mask (the room's "only notes in the key", ``--hard-mask``).

Figures: the share of melodies whose final note is on the tonic, and the share of notes outside
the mode, beside the corpus's own rates (whole source tunes, pickup and final part-bar
included; the corpus has no locrian tune). ``--table`` prints the table from earlier ``--json``
files (columns measured in separate runs on a shared machine).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

COLUMNS = ("off", "prior", "mask")
METERS = ("4/4", "6/8", "3/4", "2/4", "2/2", "9/8")


def measure(model, per_mode: int, column: str, modes, progress=None) -> dict:
    from desktop_app.core import melody_stats as S
    from desktop_app.core.melody import Key
    from desktop_app.ml.music.generate import MUSIC_DEFAULTS, MelodyRequest, generate_melody
    out = {}
    for mode in modes:
        tonic_end = notes = outside = 0
        for i in range(per_mode):
            req = MelodyRequest(key=Key(i % 12, mode), meter=METERS[i % len(METERS)], bars=16,
                                hard_mask=column == "mask", mode_prior=column != "off")
            mel, _, _ = generate_melody(model, req, MUSIC_DEFAULTS, seed=5000 + i)
            tonic_end += S.ends_on_tonic(mel)
            notes += len(mel.notes)
            outside += S.out_of_mode_count(mel)
        out[mode] = {"tunes": per_mode, "notes": notes, "tonic_ending": tonic_end / per_mode,
                     "out_of_mode": outside / max(notes, 1)}
        if progress:
            progress(f"{column} {mode}: {out[mode]}")
    return out


def print_table(corpus: dict, cols: dict[str, dict]) -> None:
    from desktop_app.core.melody import MODES
    names = [c for c in COLUMNS if c in cols]
    n = {c: next(iter(cols[c].values()))["tunes"] for c in names}
    print("tunes per mode: " + ", ".join(f"{c} {n[c]}" for c in names))
    head = " ".join(f"{c:>6s}" for c in names)
    print(f"{'':11s} {'corpus':>6s}   final note on the tonic      {'':6s}  notes outside the mode")
    print(f"{'mode':11s} {'tunes':>6s}   {'corpus':>6s} {head}   {'corpus':>7s} "
          + " ".join(f"{c:>7s}" for c in names))
    for mode in [m for m in MODES if all(m in cols[k] for k in names)]:
        c = corpus.get(mode)
        ct, ce, co = ((str(c["tunes"]), f"{c['tonic_ending']:.3f}", f"{c['out_of_mode']:.4f}")
                      if c else ("0", "-", "-"))
        ends = " ".join(f"{cols[k][mode]['tonic_ending']:6.3f}" for k in names)
        outs = " ".join(f"{cols[k][mode]['out_of_mode']:7.4f}" for k in names)
        print(f"{mode:11s} {ct:>6s}   {ce:>6s} {ends}   {co:>7s} {outs}")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--model", default=str(ROOT / "models/music/folk-melodies"))
    ap.add_argument("--per-mode", type=int, default=200)
    ap.add_argument("--columns", default=",".join(COLUMNS),
                    help="comma-separated subset of off, prior, mask")
    ap.add_argument("--modes", default=None, help="comma-separated modes (default: all)")
    ap.add_argument("--json", default=None, help="write the figures here")
    ap.add_argument("--table", nargs="+", default=None,
                    help="print the table from these --json files and exit")
    args = ap.parse_args()
    if args.table:
        corpus, cols = {}, {}
        for f in args.table:
            d = json.loads(Path(f).read_text())
            corpus = d.get("corpus", corpus)
            for c, per_mode in d.get("columns", {}).items():
                cols.setdefault(c, {}).update(per_mode)
        print_table(corpus, cols)
        return
    import torch

    from desktop_app.ml.music import data as D
    from desktop_app.ml.music.loader import load_melody_model
    from desktop_app.ml.music.mode_prior import mode_rates
    from desktop_app.core.melody import MODES
    torch.set_num_threads(1)
    modes = args.modes.split(",") if args.modes else list(MODES)
    if any(m not in MODES for m in modes):
        ap.error(f"--modes takes {', '.join(MODES)}")
    columns = [c for c in args.columns.split(",") if c]
    if not columns or any(c not in COLUMNS for c in columns):
        ap.error(f"--columns takes {', '.join(COLUMNS)}")
    model = load_melody_model(args.model)
    print("mode prior (nats off out-of-mode logits): "
          + (", ".join(f"{m} {b:.2f}" for m, b in model.mode_prior.items()) or "none"),
          flush=True)
    out = {"model": args.model, "mode_prior": model.mode_prior,
           "corpus": mode_rates(D.load_tunes()), "columns": {}}
    for c in columns:
        t0 = time.perf_counter()
        out["columns"][c] = measure(model, args.per_mode, c, modes,
                                    progress=lambda m: print(m, file=sys.stderr, flush=True))
        print(f"{c}: {time.perf_counter() - t0:.0f} s", flush=True)
        if args.json:  # after each column, so a stopped run keeps what it measured
            Path(args.json).write_text(json.dumps(out, indent=2) + "\n")
    print_table(out["corpus"], out["columns"])


if __name__ == "__main__":
    main()
