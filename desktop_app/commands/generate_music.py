"""``reverie generate music``: compose melodies with the folk-melody model and write MIDI files.

Defaults: the built-in model, a random seed (printed), 16 bars, C major, 4/4, 120 quarter
notes per minute, acoustic grand piano (GM program 0). ``--variants N`` writes FILE-1.mid ...
FILE-N.mid; ``--json`` prints one JSON object per melody (notes as [pitch, start, duration]
in quarter notes, key, meter, tempo, seed, model, and the melody's quality figures).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

from desktop_app.commands import options as opt
from desktop_app.core.errors import UsageError
from desktop_app.core.paths import MELODY_MODEL

DEFAULT_MODEL = MELODY_MODEL


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--model", type=opt.text, default=DEFAULT_MODEL, help="model name or folder")
    p.add_argument("--seed", type=opt.SEED, default=None,
                   help="random seed (default: random, printed)")
    # 64 = ml.music.generate.MAX_BARS (not imported here: it pulls in torch); validate() agrees
    p.add_argument("--bars", type=opt.int_in(1, 64), default=None,
                   help="length in bars, 1-64 (default 16)")
    p.add_argument("--key", type=opt.text, default=None,
                   help='tonic and mode, e.g. "D major" (default C major)')
    p.add_argument("--meter", type=opt.text, default=None,
                   help="time signature, e.g. 6/8 (default 4/4)")
    p.add_argument("--tempo", type=opt.float_in(1, 1000), default=None,
                   help="quarter notes per minute (default 120)")
    p.add_argument("--temperature", type=opt.TEMPERATURE, default=1.0, help="0-10")
    p.add_argument("--top-k", type=opt.int_in(0, 10_000), default=0, help="0 = off")
    p.add_argument("--top-p", type=opt.PROBABILITY, default=1.0, help="0-1; 1 = off")
    p.add_argument("--min-p", type=opt.PROBABILITY, default=0.0, help="0-1; 0 = off")
    p.add_argument("--hard-mask", action="store_true", help="only allow pitches of the key")
    p.add_argument("--pitch-range", type=opt.text, default=None, metavar="LOW-HIGH",
                   help="lowest and highest MIDI pitch, e.g. 60-84")
    p.add_argument("--primer", type=opt.text, default=None, metavar="FILE.mid", help="continue this melody")
    p.add_argument("--variants", type=opt.int_in(1, 16), default=1, help="how many melodies (1-16)")
    p.add_argument("--instrument", type=opt.MIDI_PROGRAM, default=0, help="General MIDI program 0-127")
    p.add_argument("--output", type=opt.output_file, required=True, metavar="FILE.mid")
    p.add_argument("--json", action="store_true", help="print the melodies as JSON lines")


def _pitch_range(text: str | None) -> tuple[int | None, int | None]:
    if not text:
        return None, None
    try:
        lo, hi = (int(x) for x in text.split("-"))
    except ValueError:
        raise UsageError(f"--pitch-range {text!r}: use LOW-HIGH MIDI numbers, e.g. 60-84") \
            from None
    if not 0 <= lo < hi <= 127:
        raise UsageError(f"--pitch-range {text!r}: need 0 <= LOW < HIGH <= 127")
    return lo, hi


def validate(args: argparse.Namespace, primer=None):
    """Parse and check the musical options; UsageError (exit 2) says what is allowed."""
    from desktop_app.core.melody import TEMPO_RANGE, Key, Meter
    from desktop_app.ml.music.generate import MAX_BARS
    from desktop_app.ml.music.tokens import METERS
    key = Key.parse(args.key) if args.key is not None else (primer.key if primer else Key())
    meter = str(Meter.parse(args.meter)) if args.meter is not None else \
        (str(primer.meter) if primer else "4/4")
    if meter not in METERS:
        raise UsageError(f"meter {meter} is not one the model knows; allowed: {', '.join(METERS)}")
    tempo = args.tempo if args.tempo is not None else (primer.tempo if primer else 120.0)
    if not TEMPO_RANGE[0] <= tempo <= TEMPO_RANGE[1]:
        raise UsageError(f"tempo {tempo:g} is not allowed: use {TEMPO_RANGE[0]:g}-"
                         f"{TEMPO_RANGE[1]:g} quarter notes per minute")
    bars = 16 if args.bars is None else args.bars
    if not 1 <= bars <= MAX_BARS:
        raise UsageError(f"--bars {bars} is not allowed: use 1-{MAX_BARS}")
    if not 1 <= args.variants <= 16:
        raise UsageError(f"--variants {args.variants} is not allowed: use 1-16")
    if not 0 <= args.instrument <= 127:
        raise UsageError(f"--instrument {args.instrument} is not allowed: General MIDI programs "
                         f"are 0-127")
    return key, meter, tempo, bars


def output_paths(output: str, n: int) -> list[Path]:
    out = Path(output)
    if n == 1:
        return [out]
    suffix = out.suffix or ".mid"
    return [out.with_name(f"{out.stem}-{i}{suffix}") for i in range(1, n + 1)]


def melody_json(mel, *, seed, model, path, stats) -> dict:
    return {"file": str(path), "model": model, "seed": seed, "key": mel.key.name,
            "meter": str(mel.meter), "tempo": mel.tempo, "bars": mel.n_bars,
            "notes": [[n.pitch, round(n.start, 4), round(n.duration, 4)] for n in mel.notes],
            "stats": stats}


def run(args: argparse.Namespace) -> int:
    from desktop_app.core import melody_stats
    from desktop_app.core.midi import read_midi, write_midi
    from desktop_app.core.paths import resolve_model_dir
    from desktop_app.core.sampling import SamplerSettings, fresh_seed

    primer = read_midi(args.primer) if args.primer else None
    key, meter, tempo, bars = validate(args, primer)
    low, high = _pitch_range(args.pitch_range)
    settings = SamplerSettings(temperature=args.temperature, top_k=args.top_k,
                               top_p=args.top_p, min_p=args.min_p)
    model_dir = resolve_model_dir(args.model, "music")

    import torch

    from desktop_app.ml.music.generate import MelodyRequest, generate_melody
    from desktop_app.ml.music.loader import load_melody_model
    torch.set_num_threads(1)
    model = load_melody_model(model_dir)
    seed = args.seed if args.seed is not None else fresh_seed()
    if args.seed is None and not args.json:
        print(f"seed: {seed}", file=sys.stderr)
    req = MelodyRequest(key=key, meter=meter, bars=bars, tempo=tempo, low=low, high=high,
                        hard_mask=args.hard_mask, title=Path(args.output).stem)
    for i, path in enumerate(output_paths(args.output, args.variants)):
        t0 = time.perf_counter()
        mel, used, notice = generate_melody(model, req, settings, seed=seed + i, primer=primer)
        secs = time.perf_counter() - t0
        if notice and i == 0:
            print(f"reverie: note: {notice}", file=sys.stderr)
        write_midi(mel, path, program=args.instrument)
        if args.json:
            stats = melody_stats.summary(mel, key)
            print(json.dumps({**melody_json(mel, seed=used, model=str(model_dir), path=path,
                                            stats=stats), "seconds": round(secs, 3)}))
        else:
            print(f"wrote {path} ({mel.n_bars} bars, {len(mel.notes)} notes, {mel.key.name}, "
                  f"{mel.meter}, seed {used}, {secs:.2f} s)")
    return 0
