"""``reverie morph``: morph one image (or seed) into another through the latent space.

N frames including both ends, along a slerp (default) or a straight line; written as an
animated GIF or WebP, or as numbered PNG frames in a folder (the first being the start).
"""

from __future__ import annotations

import argparse
from pathlib import Path

from desktop_app.commands import options as opt
from desktop_app.core.errors import UsageError
from desktop_app.core.imaging import DEFAULT_IMAGE_MODEL, LatentSource


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--model", type=opt.text, default=DEFAULT_IMAGE_MODEL)
    a = p.add_mutually_exclusive_group(required=True)
    a.add_argument("--from", dest="from_image", type=opt.text, metavar="IMAGE", help="start image file")
    a.add_argument("--from-seed", type=opt.SEED, metavar="S", help="start from a sampled seed")
    b = p.add_mutually_exclusive_group(required=True)
    b.add_argument("--to", dest="to_image", type=opt.text, metavar="IMAGE", help="end image file")
    b.add_argument("--to-seed", type=opt.SEED, metavar="S", help="end at a sampled seed")
    p.add_argument("--frames", type=opt.int_in(2, 1000), default=16,
                   help="frames including both ends, 2-1000")
    p.add_argument("--method", choices=("slerp", "lerp"), default="slerp")
    p.add_argument("--temperature", type=opt.TEMPERATURE, default=1.0,
                   help="tau for seeded ends, 0-10")
    p.add_argument("--duration", type=opt.int_in(10, 10000), default=80,
                   help="milliseconds per frame, 10-10000")
    p.add_argument("--scale", type=opt.SCALE, default=1,
                   help="enlarge by this factor, 1-16 (nearest)")
    p.add_argument("--output", type=opt.text, required=True, help="FILE.gif, FILE.webp or DIR/")


def run(args: argparse.Namespace) -> int:
    out = Path(args.output).expanduser()
    to_dir = args.output.endswith(("/", "\\")) or out.is_dir()
    if to_dir and out.exists() and not out.is_dir():
        raise UsageError(f"--output {args.output} is an existing file; a folder is needed here")
    if not to_dir and out.suffix.lower() not in (".gif", ".webp"):
        raise UsageError(f"--output must be a .gif or .webp file or a folder ending in /, "
                         f"not {args.output!r}")
    from desktop_app.core.latent import path
    from desktop_app.core.animation import save_animation, save_frames
    from desktop_app.ml.image.runtime import ImageModel

    model = ImageModel.from_name(args.model)
    start = model.latent_for(LatentSource(image_path=args.from_image, seed=args.from_seed,
                                          temperature=args.temperature))
    end = model.latent_for(LatentSource(image_path=args.to_image, seed=args.to_seed,
                                        temperature=args.temperature))
    frames = model.decode(path(start, end, args.frames, args.method))
    if to_dir:
        written = save_frames(out, frames, scale=args.scale)
        print(f"{out} ({len(written)} frames)")
    else:
        save_animation(out, frames, duration_ms=args.duration, scale=args.scale)
        print(out)
    return 0
