"""Quality and speed figures of the music models (issue 8). Prints figures; asserts nothing.

    python benchmarks/bench_music.py [--model models/music/folk-melodies]
        [--vae models/music/phrase-vae] [--n 200] [--json OUT.json] [--examples DIR]

- held-out negative log-likelihood per token of the transformer (nats; the 5% held-out tunes,
  each scored in context windows that keep its meter/mode prefix);
- 200 generated 16-bar melodies at temperature 1.0 (no top-k/top-p/min-p, no hard masking),
  each asking for the key and meter of one held-out tune, against the first 16 bars of the
  held-out tunes: in-key ratio (vs the requested / the tune's key), pitch-class entropy,
  median pitch range, median notes per bar, share of bars repeating an earlier bar;
- phrase VAE: teacher-forced reconstruction accuracy on held-out 2-bar phrases (z = mean) and
  the in-key ratio of interpolation midpoints between pairs of held-out tunes;
- time for one 16-bar melody (median of 10, one torch thread).

Endings and out-of-mode rates per mode are in ``benchmarks/bench_modes.py``.
"""

from __future__ import annotations

import argparse
import json
import math
import statistics as st
import sys
import time
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from desktop_app.core import melody_stats as S  # noqa: E402
from desktop_app.core.midi import write_midi  # noqa: E402
from desktop_app.ml.music import data as D  # noqa: E402
from desktop_app.ml.music.tokens import BAR  # noqa: E402
from desktop_app.ml.music.generate import MUSIC_DEFAULTS, MelodyRequest, generate_melody  # noqa: E402
from desktop_app.ml.music.loader import load_melody_model, load_phrase_vae  # noqa: E402


def heldout_nll(model, seqs) -> float:
    """Mean NLL (nats) of every token after BOS. Tunes longer than the context are scored in
    further windows made of the meter/mode prefix and the next tokens (each token once)."""
    block, total, count = model.cfg.block_size, 0.0, 0
    with torch.no_grad():
        for s in seqs:
            p = 0                                        # first token not scored yet (0: BOS)
            while p == 0 or p < len(s):
                if p == 0:
                    w, first = s[: block + 1], 0         # score w[1:]
                    p = len(w)
                else:
                    w, first = s[:3] + s[p: p + block - 2], 2   # score w[3:] = s[p:]
                    p += len(w) - 3
                x, y = torch.tensor([w[:-1]]), torch.tensor(w[1:])
                before = s[3: p - (len(w) - 3)].count(BAR) if first else 0
                logp = torch.log_softmax(model(x, torch.tensor([before]))[0], -1)
                idx = torch.arange(first, len(y))
                total -= float(logp[idx, y[idx]].sum())
                count += len(idx)
    return total / count


def figures(mels, keys) -> dict:
    return {
        "in_key_ratio": st.mean(S.in_key_ratio(m, k) for m, k in zip(mels, keys)),
        "pitch_class_entropy": st.mean(S.pitch_class_entropy(m) for m in mels),
        "median_pitch_range": st.median(S.pitch_range(m) for m in mels),
        "median_notes_per_bar": st.median(S.notes_per_bar(m) for m in mels),
        "repeated_bar_share": st.mean(S.repeated_bar_share(m) for m in mels),
    }


def vae_figures(vae, held_seqs, mels, pairs=60) -> dict:
    from desktop_app.ml.music.morph import interpolate
    from desktop_app.ml.music.phrase_vae import vae_loss
    from desktop_app.ml.music.train_tasks import phrase_tensor
    x = phrase_tensor(held_seqs, vae.cfg.max_steps, hop_bars=2)
    vae.eval()
    with torch.no_grad():
        accs = [float(vae_loss(vae, x[i: i + 512], 0.0, 0.0)[3]) * int((x[i: i + 512] != 0).sum())
                for i in range(0, len(x), 512)]
    acc = sum(accs) / int((x != 0).sum())
    by_bar: dict[float, list] = {}
    for m in mels:
        if m.n_bars >= 4:
            by_bar.setdefault(m.meter.bar_quarters, []).append(m.slice_bars(0, 4))
    ratios, done = [], 0
    for group in by_bar.values():
        for a, b in zip(group[0::2], group[1::2]):
            if done >= pairs:
                break
            try:
                mid = interpolate(vae, a, b, 3)[1]
            except Exception:  # noqa: BLE001 - a meter off the 16th grid: skip the pair
                continue
            if mid.notes:
                ratios.append(S.in_key_ratio(mid, a.key))
                done += 1
    return {"phrase_accuracy": acc, "n_phrases": len(x),
            "interp_midpoint_in_key": st.mean(ratios) if ratios else float("nan"),
            "n_pairs": len(ratios)}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--model", default=str(ROOT / "models/music/folk-melodies"))
    ap.add_argument("--vae", default=str(ROOT / "models/music/phrase-vae"))
    ap.add_argument("--n", type=int, default=200)
    ap.add_argument("--json", default=None)
    ap.add_argument("--examples", default=None, help="write 4 example MIDI files here")
    ap.add_argument("--temperature", type=float, default=1.0)
    ap.add_argument("--min-p", type=float, default=0.0)
    args = ap.parse_args()
    torch.set_num_threads(1)
    sampler = MUSIC_DEFAULTS.replace(temperature=args.temperature, min_p=args.min_p)
    out: dict = {"sampler": {"temperature": args.temperature, "min_p": args.min_p}}
    _, held = D.split(D.load_tunes())
    held = [t for t in held if D.tune_tokens(t) is not None]
    held_seqs = [D.tune_tokens(t) for t in held]
    corpus = [D.tune_melody(t) for t in held]
    ref = [m.slice_bars(0, 16) for m in corpus if m.n_bars >= 8]
    out["corpus"] = figures(ref, [m.key for m in ref])
    out["corpus"]["n"] = len(ref)
    print(f"held-out tunes: {len(held_seqs)}; reference excerpts (first 16 bars): {len(ref)}")
    if Path(args.model).is_dir():
        model = load_melody_model(args.model)
        out["heldout_nll_per_token"] = heldout_nll(model, held_seqs)
        print(f"held-out NLL/token: {out['heldout_nll_per_token']:.4f} nats "
              f"(perplexity {math.exp(out['heldout_nll_per_token']):.2f})")
        gens, keys = [], []
        t0 = time.perf_counter()
        for i in range(args.n):
            like = ref[i % len(ref)]
            req = MelodyRequest(key=like.key, meter=str(like.meter), bars=16)
            mel, _, _ = generate_melody(model, req, sampler, seed=1000 + i)
            gens.append(mel)
            keys.append(like.key)
        gen_s = time.perf_counter() - t0
        out["generated"] = figures(gens, keys)
        out["generated"]["n"] = len(gens)
        req = MelodyRequest(key=ref[0].key, meter="4/4", bars=16)
        times, cpu = [], []
        for i in range(10):
            t, c = time.perf_counter(), time.process_time()
            generate_melody(model, req, MUSIC_DEFAULTS, seed=i)
            times.append(time.perf_counter() - t)
            cpu.append(time.process_time() - c)
        out["seconds_per_16_bar_melody"] = st.median(times)
        out["cpu_seconds_per_16_bar_melody"] = st.median(cpu)
        print(f"generated {len(gens)} melodies in {gen_s:.1f} s; one 16-bar 4/4 melody: "
              f"{out['seconds_per_16_bar_melody']:.3f} s wall, "
              f"{out['cpu_seconds_per_16_bar_melody']:.3f} s CPU (median of 10, target < 0.5 s)")
        _compare(out["corpus"], out["generated"])
        if args.examples:
            ex = Path(args.examples)
            for i, (k, m) in enumerate([("D major", "6/8"), ("A dorian", "4/4"),
                                        ("E minor", "3/4"), ("G mixolydian", "2/4")]):
                from desktop_app.core.melody import Key
                mel, seed, _ = generate_melody(model, MelodyRequest(
                    key=Key.parse(k), meter=m, bars=16, title=f"{k} {m}"), MUSIC_DEFAULTS,
                    seed=i + 1)
                write_midi(mel, ex / f"example-{i + 1}-{k.replace(' ', '-')}.mid")
    if Path(args.vae).is_dir():
        out["vae"] = vae_figures(load_phrase_vae(args.vae), held_seqs, corpus)
        v = out["vae"]
        print(f"phrase VAE: teacher-forced accuracy {v['phrase_accuracy']:.4f} on "
              f"{v['n_phrases']} held-out phrases (target >= 0.9); interpolation midpoints "
              f"in key {v['interp_midpoint_in_key']:.4f} over {v['n_pairs']} pairs "
              f"(target >= 0.9)")
    if args.json:
        Path(args.json).write_text(json.dumps(out, indent=2) + "\n")


def _compare(c: dict, g: dict) -> None:
    rows = [
        ("in-key ratio", "in_key_ratio", lambda c, g: g >= 0.95, ">= 0.95"),
        ("pitch-class entropy (bits)", "pitch_class_entropy", lambda c, g: abs(g - c) <= 0.2,
         "within 0.2 of corpus"),
        ("median pitch range", "median_pitch_range", lambda c, g: abs(g - c) <= 0.15 * c,
         "within 15%"),
        ("median notes per bar", "median_notes_per_bar", lambda c, g: abs(g - c) <= 0.15 * c,
         "within 15%"),
        ("repeated-bar share", "repeated_bar_share", lambda c, g: g >= 0.7 * c,
         ">= 70% of corpus"),
    ]
    print(f"{'figure':30s} {'corpus':>8s} {'generated':>10s}  target")
    for name, k, ok, target in rows:
        print(f"{name:30s} {c[k]:8.3f} {g[k]:10.3f}  {target}: {'PASS' if ok(c[k], g[k]) else 'MISS'}")


if __name__ == "__main__":
    main()
