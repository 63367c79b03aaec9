"""The phrase map for the Explore room: melody phrases encoded by the phrase VAE (worker thread).

Tunes come from the melody data the music engine reads (``desktop_app.ml.music.data``;
held-out tunes first, then training tunes), cut into the VAE's 2-bar phrases. Each phrase is
encoded to its latent mean and kept as a small Melody (for the hover piano roll and for the
MIDI export of a path). Colours: meter, mode, collection and split.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import numpy as np

from desktop_app.backends.base import JobContext
from desktop_app.core import explore as ex
from desktop_app.core.errors import DataError
from desktop_app.core.melody import Note

MAX_PHRASES = 4000
BATCH = 256


def _phrase_melody(grid: list[int], like, title: str):
    """A phrase grid (pitches relative to the tonic) as a Melody in ``like``'s key and meter."""
    from desktop_app.ml.music import phrase_vae as V
    notes, now, base = [], 0.0, 60 + like.key.tonic
    for rel, dur in V.grid_to_events([t for t in grid if t != V.PAD]):
        if rel is not None and 0 <= base + rel <= 127:
            notes.append(Note(start=now, pitch=base + rel, duration=float(dur)))
        now += float(dur)
    return replace(like, notes=tuple(notes), title=title)


def collect_phrases(tunes, max_steps: int, limit: int, token=None):
    """(grids, melodies, names, categories) of up to ``limit`` phrases from ``tunes``."""
    from desktop_app.ml.music import data as D
    from desktop_app.ml.music.morph import melody_phrases
    grids, mels, names = [], [], []
    cats: dict[str, list[str]] = {"meter": [], "mode": [], "collection": [], "split": []}
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
            mels.append(_phrase_melody(grid, melody, f"{title}, bars {2 * k + 1}-{2 * k + 2}"))
            names.append(f"{title}, bars {2 * k + 1}-{2 * k + 2}")
            cats["meter"].append(str(melody.meter))
            cats["mode"].append(melody.key.mode)
            cats["collection"].append(str(tune.get("collection", "")))
            cats["split"].append("held out" if D.is_holdout(tune) else "training")
    return grids, mels, names, cats


def phrase_map(folder: Path, job: ex.BuildMapJob, ctx: JobContext) -> ex.MapData:
    import torch

    from desktop_app.ml.music import data as D
    from desktop_app.ml.music.loader import load_phrase_vae
    vae = ctx.models.get(f"music-vae:{folder}", lambda progress: load_phrase_vae(folder))
    try:
        train, held = D.split(D.load_tunes())
    except DataError as exc:
        raise DataError(f"the phrase map needs the melody data the music models were trained "
                        f"on: {exc}") from None
    rng = np.random.default_rng(job.seed)
    order = [held[i] for i in rng.permutation(len(held))] + \
        [train[i] for i in rng.permutation(len(train))]
    limit = min(job.max_points, MAX_PHRASES)
    ctx.progress(None, "Cutting tunes into 2-bar phrases")
    grids, mels, names, cats = collect_phrases(order, vae.cfg.max_steps, limit, ctx.token)
    if not grids:
        raise DataError("no tune in the melody data gives a 2-bar phrase the phrase VAE can "
                        "encode")
    mus = []
    with torch.no_grad():
        for s in range(0, len(grids), BATCH):
            ctx.token.raise_if_cancelled()
            mu, _ = vae.encode(torch.tensor(grids[s: s + BATCH], dtype=torch.long))
            mus.append(mu.float().numpy())
            ctx.progress(min((s + BATCH) / len(grids), 1.0), f"Encoding phrases {s + BATCH}")
    codes = np.concatenate(mus).astype(np.float32)
    return ex.MapData("music", str(folder), codes, tuple(names),
                      {k: tuple(v) for k, v in cats.items()}, melodies=tuple(mels),
                      held_out=np.array([s == "held out" for s in cats["split"]]),
                      note=f"{len(codes):,} phrases (held-out tunes first)")
