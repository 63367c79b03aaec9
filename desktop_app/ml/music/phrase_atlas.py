"""The phrase VAE's atlas: the phrases the Explore room maps, shipped with the model.

The Explore room's phrase map used to cut the development melody data (``../shared/data/music``)
into phrases at run time, so it failed everywhere but in the development tree. Like the image
models' ``atlas.safetensors``, the phrase VAE folder now carries what the map needs, computed
once from the data:

``atlas.safetensors``  ``mu`` (N x latent, float16: the encoder's means), ``grid`` (N x
                       max_steps, uint8: the phrase's tokens, for the hover piano roll and the
                       MIDI export of a path), ``tonic`` (N, uint8) and ``tempo`` (N, float32)
                       of the tune each phrase came from.
``atlas.json``         ``names`` (tune title and bars), ``categories`` (meter, mode,
                       collection, split: one label per phrase), ``source``, ``version``.

Build (reads the melody data; ~4,000 phrases, held-out tunes first, ~1 MB)::

    python -m desktop_app.ml.music.phrase_atlas models/music/phrase-vae [--data DIR] [--max N]

The reader treats the files as untrusted: sizes are checked against :data:`MAX_PHRASES` and
against each other before anything is built from them.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

from desktop_app.core.errors import DataError, ReverieError
from desktop_app.core.melody import Key, Melody, Meter, Note

ATLAS_VERSION = 1
MAX_PHRASES = 4000
CATEGORIES = ("meter", "mode", "collection", "split")
BATCH = 256


def phrase_melody(grid, key: Key, meter: Meter, tempo: float, title: str) -> Melody:
    """A phrase grid (pitches relative to the tonic) as a Melody in that key, meter, tempo."""
    from desktop_app.ml.music import phrase_vae as V
    notes, now, base = [], 0.0, 60 + key.tonic
    for rel, dur in V.grid_to_events([int(t) for t in grid if int(t) != V.PAD]):
        if rel is not None and 0 <= base + rel <= 127:
            notes.append(Note(start=now, pitch=base + rel, duration=float(dur)))
        now += float(dur)
    return Melody(notes=tuple(notes), key=key, meter=meter, tempo=tempo, title=title)


def collect_phrases(tunes, max_steps: int, limit: int, token=None):
    """(grids, tune melodies, names, categories) of up to ``limit`` phrases from ``tunes``."""
    from desktop_app.ml.music import data as D
    from desktop_app.ml.music.morph import melody_phrases
    grids, likes, names = [], [], []
    cats: dict[str, list[str]] = {c: [] for c in CATEGORIES}
    for tune in tunes:
        if len(grids) >= limit:
            break
        if token is not None:
            token.raise_if_cancelled()
        melody = D.tune_melody(tune)
        if melody is None:
            continue
        try:
            phrases = melody_phrases(melody, max_steps)
        except DataError:
            continue
        title = tune.get("title") or f"{tune.get('collection', '')} #{tune.get('index', 0)}"
        for k, grid in enumerate(phrases[: limit - len(grids)]):
            grids.append(grid)
            likes.append(melody)
            names.append(f"{title}, bars {2 * k + 1}-{2 * k + 2}")
            cats["meter"].append(str(melody.meter))
            cats["mode"].append(melody.key.mode)
            cats["collection"].append(str(tune.get("collection", "")))
            cats["split"].append("held out" if D.is_holdout(tune) else "training")
    return grids, likes, names, cats


def build_atlas(folder: Path, tunes: list[dict], *, limit: int = MAX_PHRASES, seed: int = 0,
                progress=None) -> int:
    """Encode up to ``limit`` phrases of ``tunes`` (held-out first) into ``folder``'s atlas."""
    import torch

    from desktop_app.ml import checkpoints as ck
    from desktop_app.ml.music import data as D
    from desktop_app.ml.music.loader import load_phrase_vae
    vae = load_phrase_vae(folder)
    rng = np.random.default_rng(seed)
    held = [t for t in tunes if D.is_holdout(t)]
    train = [t for t in tunes if not D.is_holdout(t)]
    order = [held[i] for i in rng.permutation(len(held))] + \
        [train[i] for i in rng.permutation(len(train))]
    grids, likes, names, cats = collect_phrases(order, vae.cfg.max_steps, min(limit, MAX_PHRASES))
    if not grids:
        raise DataError("no tune gives a 2-bar phrase the phrase VAE can encode")
    mus = []
    with torch.no_grad():
        for s in range(0, len(grids), BATCH):
            mu, _ = vae.encode(torch.tensor(grids[s: s + BATCH], dtype=torch.long))
            mus.append(mu.float())
            if progress:
                progress(f"encoded {min(s + BATCH, len(grids))}/{len(grids)} phrases")
    tensors = {"mu": torch.cat(mus).half(),
               "grid": torch.tensor(grids, dtype=torch.uint8),
               "tonic": torch.tensor([m.key.tonic for m in likes], dtype=torch.uint8),
               "tempo": torch.tensor([m.tempo for m in likes], dtype=torch.float32)}
    ck.save_tensors(folder / "atlas.safetensors", tensors)
    ck.save_json(folder / "atlas.json", {
        "version": ATLAS_VERSION, "kind": "phrase-atlas", "names": names, "categories": cats,
        "source": f"{len(held)} held-out and {len(train)} training tunes; held-out phrases first",
        "built_by": "python -m desktop_app.ml.music.phrase_atlas"})
    return len(grids)


def load_atlas(folder: Path, latent: int, max_steps: int):
    """(mu float32, melodies, names, categories, held_out) from ``folder``'s atlas, or None
    when there is none. A damaged atlas raises DataError (one line), never an IndexError."""
    from desktop_app.ml import checkpoints as ck
    folder = Path(folder)
    if not (folder / "atlas.json").is_file() and not (folder / "atlas.safetensors").is_file():
        return None
    meta = ck.load_json(folder / "atlas.json")
    t = ck.load_tensors(folder / "atlas.safetensors")

    def bad(why: str) -> DataError:
        return DataError(f"the phrase atlas in {folder} is damaged ({why}); rebuild it with "
                         f"python -m desktop_app.ml.music.phrase_atlas {folder}")

    if not isinstance(meta, dict) or meta.get("version") != ATLAS_VERSION:
        raise bad("unknown version")
    if not {"mu", "grid", "tonic", "tempo"} <= set(t):
        raise bad("missing tensors")
    n = int(t["mu"].shape[0]) if t["mu"].dim() == 2 else -1
    if not 0 < n <= MAX_PHRASES or tuple(t["mu"].shape) != (n, latent):
        raise bad(f"mu has shape {tuple(t['mu'].shape)}")
    if tuple(t["grid"].shape) != (n, max_steps) or tuple(t["tonic"].shape) != (n,) \
            or tuple(t["tempo"].shape) != (n,):
        raise bad("tensor sizes disagree")
    names, cats = meta.get("names"), meta.get("categories")
    if not isinstance(names, list) or len(names) != n or not all(isinstance(x, str) for x in names):
        raise bad("names")
    if not isinstance(cats, dict) or any(
            not isinstance(cats.get(c), list) or len(cats[c]) != n
            or not all(isinstance(x, str) for x in cats[c]) for c in CATEGORIES):
        raise bad("categories")
    mu = t["mu"].float().numpy()
    if not np.isfinite(mu).all():
        raise bad("non-finite codes")
    melodies = []
    try:
        for i in range(n):
            key = Key(int(t["tonic"][i]), cats["mode"][i])
            meter = Meter.parse(cats["meter"][i])
            melodies.append(phrase_melody(t["grid"][i].tolist(), key, meter,
                                          float(t["tempo"][i]), names[i]))
    except (ReverieError, ValueError, TypeError) as exc:
        raise bad(str(exc)) from None
    held = np.array([s == "held out" for s in cats["split"]])
    return mu, tuple(melodies), tuple(names), {c: tuple(cats[c]) for c in CATEGORIES}, held


def main(argv: list[str] | None = None) -> int:
    from desktop_app.commands import options as opt
    p = argparse.ArgumentParser(prog="python -m desktop_app.ml.music.phrase_atlas",
                                description="write atlas.safetensors/.json into a phrase VAE "
                                            "folder (the phrases the Explore room maps)")
    p.add_argument("folder", type=opt.existing_dir, help="the phrase VAE folder")
    p.add_argument("--data", type=opt.existing_dir, default=None,
                   help="a folder of MIDI files (default: the melody data it was trained on)")
    p.add_argument("--max", type=opt.int_in(10, MAX_PHRASES), default=MAX_PHRASES)
    p.add_argument("--seed", type=opt.SEED, default=0)
    args = p.parse_args(argv)
    from desktop_app.ml.music import data as D
    try:
        tunes = D.midi_folder_tunes(args.data) if args.data else D.load_tunes()
        n = build_atlas(args.folder, tunes, limit=args.max, seed=args.seed,
                        progress=lambda m: print(m, file=sys.stderr))
    except ReverieError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    size = sum((args.folder / f).stat().st_size for f in ("atlas.json", "atlas.safetensors"))
    print(f"wrote the atlas of {n} phrases to {args.folder} ({size / 1e6:.2f} MB)")
    return 0


if __name__ == "__main__":
    sys.exit(main())

