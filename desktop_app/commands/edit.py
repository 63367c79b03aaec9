"""``reverie edit``: encode an image, move it along named latent directions, decode it.

``--direction smile=+1.5`` moves 1.5 standard deviations along "smile"; repeat the option to
combine directions. An unknown name lists the directions the model has.
"""

from __future__ import annotations

import argparse
import math

from desktop_app.commands import options as opt
from desktop_app.core.errors import UsageError
from desktop_app.core.imaging import DEFAULT_IMAGE_MODEL

#: Largest move along a direction, in standard deviations (beyond it the image is noise).
MAX_AMOUNT = 100.0


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--model", type=opt.text, default=DEFAULT_IMAGE_MODEL)
    p.add_argument("image", type=opt.text, help="the picture to edit (any size; centre-cropped)")
    p.add_argument("--direction", action="append", default=[], type=opt.text, metavar="NAME=AMOUNT",
                   help="move AMOUNT std devs along NAME (repeatable)")
    p.add_argument("--scale", type=opt.SCALE, default=1,
                   help="enlarge by this factor, 1-16 (nearest)")
    p.add_argument("--output", type=opt.output_file, required=True, help="FILE.png")


def parse_direction(text: str) -> tuple[str, float]:
    name, sep, amount = text.partition("=")
    try:
        value = float(amount)
    except ValueError:
        value = math.nan
    if not sep or not name.strip() or not math.isfinite(value):
        raise UsageError(f"--direction must look like NAME=AMOUNT (e.g. smile=+1.5), "
                         f"not {text!r}")
    if abs(value) > MAX_AMOUNT:
        raise UsageError(f"--direction {text!r}: the amount must be between -{MAX_AMOUNT:g} "
                         f"and {MAX_AMOUNT:g} standard deviations")
    return name.strip(), value


def run(args: argparse.Namespace) -> int:
    if not args.direction:
        raise UsageError("give at least one --direction NAME=AMOUNT")
    amounts: dict[str, float] = {}
    for text in args.direction:
        name, value = parse_direction(text)
        amounts[name] = amounts.get(name, 0.0) + value
    if not str(args.output).lower().endswith((".png", ".jpg", ".jpeg", ".webp")):
        raise UsageError(f"--output must be a .png (or .jpg/.webp) file, not {str(args.output)!r}")
    from desktop_app.ml.image import files
    from desktop_app.ml.image.runtime import ImageModel

    model = ImageModel.from_name(args.model)
    model.check_directions(amounts)
    z = model.move(model.encode_file(args.image), amounts)
    files.save_image(args.output, model.decode(z), args.scale)
    print(args.output)
    return 0
