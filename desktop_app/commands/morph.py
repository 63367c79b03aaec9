"""``reverie morph``: morph one image (or seed) into another through the latent space.

N frames including both ends, along a slerp (default) or a straight line; written as an
animated GIF or WebP, or as numbered PNG frames in a folder (the first being the start).
"""

from __future__ import annotations

import argparse
from pathlib import Path

from desktop_app.core.errors import UsageError
from desktop_app.core.imaging import DEFAULT_IMAGE_MODEL, LatentSource


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--model", default=DEFAULT_IMAGE_MODEL)
    a = p.add_mutually_exclusive_group(required=True)
    a.add_argument("--from", dest="from_image", metavar="IMAGE", help="start image file")
    a.add_argument("--from-seed", type=int, metavar="S", help="start from a sampled seed")
    b = p.add_mutually_exclusive_group(required=True)
    b.add_argument("--to", dest="to_image", metavar="IMAGE", help="end image file")
    b.add_argument("--to-seed", type=int, metavar="S", help="end at a sampled seed")
    p.add_argument("--frames", type=int, default=16, help="frames including both ends")
    p.add_argument("--method", choices=("slerp", "lerp"), default="slerp")
    p.add_argument("--temperature", type=float, default=1.0, help="tau for seeded ends")
    p.add_argument("--duration", type=int, default=80, help="milliseconds per frame")
    p.add_argument("--scale", type=int, default=1, help="enlarge by this factor (nearest)")
    p.add_argument("--output", required=True, help="FILE.gif, FILE.webp or DIR/")


def run(args: argparse.Namespace) -> int:
    if not 2 <= args.frames <= 1000:
        raise UsageError(f"--frames must be between 2 and 1000, not {args.frames}")
    if not 1 <= args.scale <= 16 or not 10 <= args.duration <= 10000:
        raise UsageError("--scale must be 1..16 and --duration 10..10000 ms")
    out = Path(args.output)
    to_dir = args.output.endswith(("/", "\\")) or out.is_dir()
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
