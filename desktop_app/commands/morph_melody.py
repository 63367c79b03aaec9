"""``reverie morph-melody A.mid B.mid --steps N --output DIR/``: interpolate with the phrase VAE.

Writes N MIDI files (both ends included, re-decoded by the VAE) named morph-01.mid ... into
DIR, in A's key, meter and tempo. ``--json`` prints one JSON object per melody.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from desktop_app.commands import options as opt
from desktop_app.core.errors import UsageError
from desktop_app.core.paths import PHRASE_MODEL


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("a", type=opt.text, metavar="A.mid")
    p.add_argument("b", type=opt.text, metavar="B.mid")
    p.add_argument("--steps", type=opt.int_in(2, 32), default=5, help="melodies including both ends (2-32)")
    p.add_argument("--model", type=opt.text, default=PHRASE_MODEL, help="phrase VAE name or folder")
    p.add_argument("--hard-mask", action="store_true", help="only allow pitches of A's key")
    p.add_argument("--instrument", type=opt.MIDI_PROGRAM, default=0, help="General MIDI program 0-127")
    p.add_argument("--output", type=opt.output_dir, required=True, metavar="DIR")
    p.add_argument("--json", action="store_true")


def run(args: argparse.Namespace) -> int:
    from desktop_app.core import melody_stats
    from desktop_app.core.midi import read_midi, write_midi
    from desktop_app.core.paths import resolve_model_dir

    if not 2 <= args.steps <= 32:
        raise UsageError(f"--steps {args.steps} is not allowed: use 2-32")
    if not 0 <= args.instrument <= 127:
        raise UsageError(f"--instrument {args.instrument} is not allowed: use 0-127")
    a, b = read_midi(args.a), read_midi(args.b)
    model_dir = resolve_model_dir(args.model, "music")

    import torch

    from desktop_app.ml.music.loader import load_phrase_vae
    from desktop_app.ml.music.morph import interpolate
    torch.set_num_threads(1)
    mels = interpolate(load_phrase_vae(model_dir), a, b, args.steps, hard_mask=args.hard_mask)
    out = Path(args.output)
    out.mkdir(parents=True, exist_ok=True)
    for i, mel in enumerate(mels, 1):
        path = write_midi(mel, out / f"morph-{i:02d}.mid", program=args.instrument)
        if args.json:
            print(json.dumps({"file": str(path), "step": i, "t": (i - 1) / (len(mels) - 1),
                              "key": mel.key.name, "meter": str(mel.meter), "tempo": mel.tempo,
                              "notes": [[n.pitch, n.start, n.duration] for n in mel.notes],
                              "stats": melody_stats.summary(mel)}))
        else:
            print(f"wrote {path} ({mel.n_bars} bars, {len(mel.notes)} notes)")
    return 0
