"""``reverie generate image``: sample images from an image model and write PNG files.

``--count N`` writes FILE-1.png ... FILE-N.png, or one grid image with ``--grid``. Image
``i`` of ``--count N`` is what ``--seed S+i-1 --count 1`` draws (the Imagine room's grid cells).
A model with a learned prior can be asked for a ``--category`` (Unicode emoji group) and a
``--style`` with classifier-free ``--guidance``; ``--temperature`` scales the starting noise.
Pictures are written at ``--size`` pixels (default 256, smooth, as the room's export), or
``--scale``-times larger with pixel-exact squares.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from desktop_app.commands import options as opt
from desktop_app.core.errors import UsageError
from desktop_app.core.imaging import (CATEGORIES, DEFAULT_GUIDANCE, DEFAULT_IMAGE_MODEL,
                                      GUIDANCE_RANGE, STYLES)

DEFAULT_SIZE = 256
MAX_SIZE = 2048


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--model", type=opt.text, default=DEFAULT_IMAGE_MODEL,
                   help=f"model name or folder (default {DEFAULT_IMAGE_MODEL})")
    p.add_argument("--seed", type=opt.SEED, default=0)
    p.add_argument("--temperature", type=opt.TEMPERATURE, default=1.0,
                   help="noise scale tau of the starting noise, 0-10 (default 1.0)")
    p.add_argument("--category", type=opt.text, default="any", metavar="NAME",
                   help="what to draw, for models with a learned prior: any (default), "
                        + ", ".join(k for k, _, _ in CATEGORIES))
    p.add_argument("--style", type=opt.text, default="any", metavar="NAME",
                   help="drawing style, for models with a learned prior: any (default), "
                        + ", ".join(k for k, _ in STYLES))
    p.add_argument("--guidance", type=opt.float_in(*GUIDANCE_RANGE), default=DEFAULT_GUIDANCE,
                   help=f"how strongly the category (for any: a category drawn from the "
                        f"seed) and style steer ({GUIDANCE_RANGE[0]:g}-"
                        f"{GUIDANCE_RANGE[1]:g}, default {DEFAULT_GUIDANCE:g}; 1 = plain)")
    p.add_argument("--count", type=opt.int_in(1, 256), default=1, help="images, 1-256")
    p.add_argument("--grid", action="store_true", help="write one grid image")
    p.add_argument("--size", type=opt.int_in(8, MAX_SIZE), default=None,
                   help=f"side of each picture in pixels, 8-{MAX_SIZE}, smooth scaling "
                        f"(default {DEFAULT_SIZE}, as the Imagine room's export)")
    p.add_argument("--scale", type=opt.SCALE, default=None,
                   help="enlarge by this factor, 1-16, with pixel-exact squares instead")
    p.add_argument("--output", type=opt.output_file, required=True, help="FILE.png")


def output_paths(output: str, count: int, as_grid: bool) -> list[Path]:
    out = Path(output)
    if out.suffix.lower() not in (".png", ".jpg", ".jpeg", ".webp"):
        raise UsageError(f"--output must be a .png (or .jpg/.webp) file, not {output!r}")
    if out.is_dir():
        raise UsageError(f"--output {output!r} is a folder; name a .png file")
    if count == 1 or as_grid:
        return [out]
    return [out.with_name(f"{out.stem}-{i}{out.suffix}") for i in range(1, count + 1)]


def _check(args: argparse.Namespace) -> None:
    categories = [k for k, _, _ in CATEGORIES]
    if args.category not in categories + ["any"]:
        raise UsageError(f"unknown --category {args.category!r}; choose any, "
                         + ", ".join(categories))
    styles = [k for k, _ in STYLES]
    if args.style not in styles + ["any"]:
        raise UsageError(f"unknown --style {args.style!r}; choose any, " + ", ".join(styles))
    if not 1 <= args.count <= 256:
        raise UsageError(f"--count must be between 1 and 256, not {args.count}")
    if not 0.0 <= args.temperature <= 10.0:   # also refuses NaN
        raise UsageError(f"--temperature must be between 0 and 10, not {args.temperature}")
    lo, hi = GUIDANCE_RANGE
    if not lo <= args.guidance <= hi:
        raise UsageError(f"--guidance must be between {lo:g} and {hi:g}, not {args.guidance}")
    if args.scale is not None and args.size is not None:
        raise UsageError("give --size (smooth) or --scale (pixel-exact), not both")
    if args.scale is not None and not 1 <= args.scale <= 16:
        raise UsageError(f"--scale must be between 1 and 16, not {args.scale}")
    if args.size is not None and not 8 <= args.size <= MAX_SIZE:
        raise UsageError(f"--size must be between 8 and {MAX_SIZE}, not {args.size}")


def resize(img, size: int | None, scale: int | None):
    """A PIL image: ``scale`` x larger (nearest) or ``size`` px square (bicubic when enlarging)."""
    from PIL import Image

    pil = Image.fromarray(img)
    if scale is not None:
        return pil.resize((pil.width * scale, pil.height * scale), Image.Resampling.NEAREST)
    side = DEFAULT_SIZE if size is None else size
    if side == pil.width:
        return pil
    method = Image.Resampling.BICUBIC if side > pil.width else Image.Resampling.LANCZOS
    return pil.resize((side, side), method)


def run(args: argparse.Namespace) -> int:
    _check(args)
    paths = output_paths(str(args.output), args.count, args.grid)
    import numpy as np

    from desktop_app.ml.image import files
    from desktop_app.ml.image.runtime import ImageModel

    model = ImageModel.from_name(args.model)
    category = None if args.category == "any" else args.category
    style = None if args.style == "any" else args.style
    z = model.sample_seeds(range(args.seed, args.seed + args.count), args.temperature,
                           category=category, style=style, guidance=args.guidance)
    images = [np.asarray(resize(img, args.size, args.scale)) for img in model.decode(z)]
    if args.grid:
        files.save_image(paths[0], files.grid(np.stack(images)))
    else:
        for p, img in zip(paths, images):
            files.save_image(p, img)
    for p in paths:
        print(p)
    return 0
