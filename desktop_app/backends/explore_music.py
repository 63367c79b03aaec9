"""The phrase map for the Explore room: the phrase VAE's shipped atlas (worker thread).

The phrases, their latent means and labels come from the model folder's ``atlas.safetensors``
/ ``atlas.json`` (see :mod:`desktop_app.ml.music.phrase_atlas`, which builds them from the
melody data once). Nothing here reads the development data folder, so the map works wherever
the model is installed. Colours: meter, mode, collection and split.
"""

from __future__ import annotations

from pathlib import Path

from desktop_app.backends.base import JobContext
from desktop_app.core import explore as ex
from desktop_app.core.errors import DataError
from desktop_app.core.untrusted import read_json


def _config(folder: Path) -> dict:
    cfg = read_json(folder / "config.json", source=str(folder / "config.json"))   # bounded
    if not isinstance(cfg, dict):
        raise DataError(f"{folder / 'config.json'} is not a JSON object")
    latent, steps = cfg.get("latent"), cfg.get("max_steps")
    if not all(isinstance(v, int) and 0 < v <= 4096 for v in (latent, steps)):
        raise DataError(f"{folder / 'config.json'} has no usable latent / max_steps")
    return cfg


def phrase_map(folder: Path, job: ex.BuildMapJob, ctx: JobContext) -> ex.MapData:
    from desktop_app.ml.music.phrase_atlas import load_atlas
    cfg = _config(folder)
    ctx.progress(None, "Reading the phrase atlas")
    loaded = load_atlas(folder, cfg["latent"], cfg["max_steps"])
    if loaded is None:
        raise DataError(f"{folder.name} has no phrase atlas; build one with: python -m "
                        f"desktop_app.ml.music.phrase_atlas {folder}")
    mu, mels, names, cats, held = loaded
    n = min(len(mu), job.max_points)
    return ex.MapData("music", str(folder), mu[:n], names[:n],
                      {k: v[:n] for k, v in cats.items()}, melodies=mels[:n],
                      held_out=held[:n], note=f"{n:,} phrases (held-out tunes first)")
