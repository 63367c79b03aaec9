"""Write an edit strip for an image model's card: each row is an input image, its
reconstruction, then +1, +2, +3 standard deviations along one named direction.

    python benchmarks/edit_strip.py --model emoji --output models/image/emoji/edit_strip.png \
        IMAGE=DIRECTION [IMAGE=DIRECTION ...]
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from desktop_app.ml.image import files  # noqa: E402
from desktop_app.ml.image.runtime import ImageModel  # noqa: E402
from desktop_app.core.paths import IMAGE_MODEL  # noqa: E402  (spelled once)


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--model", default=IMAGE_MODEL)
    p.add_argument("--output", required=True)
    p.add_argument("--steps", default="1,2,3", help="amounts in standard deviations")
    p.add_argument("rows", nargs="+", metavar="IMAGE=DIRECTION")
    args = p.parse_args(argv)
    m = ImageModel.from_name(args.model)
    amounts = [float(a) for a in args.steps.split(",")]
    tiles = []
    for row in args.rows:
        path, _, name = row.rpartition("=")
        m.check_directions([name])
        pixels = m.load_image(path)
        z = m.encode_pixels(pixels[None])[0]
        moved = [m.move(z, {name: a}) for a in amounts]
        tiles += [pixels, *m.decode(np.stack([z, *moved]))]
    files.save_image(args.output, files.grid(np.stack(tiles), cols=2 + len(amounts)), 2)
    print(f"wrote {args.output}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
