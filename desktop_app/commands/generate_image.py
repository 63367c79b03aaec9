"""``reverie generate image``: sample images from an image model and write PNG files.

``--count N`` writes FILE-1.png ... FILE-N.png, or one grid image with ``--grid``.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from desktop_app.commands import options as opt
from desktop_app.core.errors import UsageError
from desktop_app.core.imaging import DEFAULT_IMAGE_MODEL


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--model", type=opt.text, default=DEFAULT_IMAGE_MODEL,
                   help=f"model name or folder (default {DEFAULT_IMAGE_MODEL})")
    p.add_argument("--seed", type=opt.SEED, default=0)
    p.add_argument("--temperature", type=opt.TEMPERATURE, default=1.0,
                   help="noise scale tau of z ~ N(0, tau^2 I), 0-10 (default 1.0)")
    p.add_argument("--count", type=opt.int_in(1, 256), default=1, help="images, 1-256")
    p.add_argument("--grid", action="store_true", help="write one grid image")
    p.add_argument("--scale", type=opt.SCALE, default=1,
                   help="enlarge by this factor, 1-16 (nearest)")
    p.add_argument("--output", type=opt.output_file, required=True, help="FILE.png")


def output_paths(output: str, count: int, as_grid: bool) -> list[Path]:
    out = Path(output)
    if out.suffix.lower() not in (".png", ".jpg", ".jpeg", ".webp"):
        raise UsageError(f"--output must be a .png (or .jpg/.webp) file, not {output!r}")
    if count == 1 or as_grid:
        return [out]
    return [out.with_name(f"{out.stem}-{i}{out.suffix}") for i in range(1, count + 1)]


def run(args: argparse.Namespace) -> int:
    if not 1 <= args.count <= 256:
        raise UsageError(f"--count must be between 1 and 256, not {args.count}")
    if not 0.0 <= args.temperature <= 10.0:
        raise UsageError(f"--temperature must be between 0 and 10, not {args.temperature}")
    if not 1 <= args.scale <= 16:
        raise UsageError("--scale must be between 1 and 16")
    paths = output_paths(args.output, args.count, args.grid)
    from desktop_app.ml.image import files
    from desktop_app.ml.image.runtime import ImageModel

    model = ImageModel.from_name(args.model)
    images = model.decode(model.sample_latents(args.seed, args.count, args.temperature))
    if args.grid:
        files.save_image(paths[0], files.grid(images), args.scale)
    else:
        for p, img in zip(paths, images):
            files.save_image(p, img, args.scale)
    for p in paths:
        print(p)
    return 0
