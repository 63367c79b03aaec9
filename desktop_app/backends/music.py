"""Handlers of the music jobs; run on the engine's worker thread (no Qt).

Models load lazily through ``ctx.models`` (the worker's cache). Each melody is emitted as a
``MelodyReady`` event as soon as it exists; the cancel token is checked at every token.
"""

from __future__ import annotations

import time

from desktop_app.core import melody_stats
from desktop_app.core.errors import UsageError
from desktop_app.core.events import MelodyReady
from desktop_app.core.melody import Key, Meter
from desktop_app.core.music import (ContinueMelodyJob, GenerateMelodyJob, InterpolateMelodiesJob,
                                    MelodyResult)


def _model(ctx, model_dir: str, kind: str):
    from desktop_app.ml.music import loader
    load = loader.load_melody_model if kind == "lm" else loader.load_phrase_vae

    def _load(progress):
        progress(0.0, f"Loading {model_dir}")
        return load(model_dir)
    return ctx.models.get(f"music:{kind}:{model_dir}", _load)


def _request(job: GenerateMelodyJob, key: Key, meter: str, tempo: float):
    from desktop_app.ml.music.generate import MelodyRequest
    return MelodyRequest(key=key, meter=meter, bars=job.bars, tempo=tempo, low=job.low,
                         high=job.high, hard_mask=job.hard_mask, title=job.title)


def _generate(job: GenerateMelodyJob, ctx, req, primer=None) -> MelodyResult:
    from desktop_app.core.sampling import fresh_seed
    from desktop_app.ml.music.generate import MUSIC_DEFAULTS, generate_melody
    if not 1 <= job.variants <= 16:
        raise UsageError(f"variants must be 1-16, got {job.variants}")
    model = _model(ctx, job.model_dir, "lm")
    base_seed = job.seed if job.seed is not None else fresh_seed()
    t0, melodies, seeds, stats, notice = time.perf_counter(), [], [], [], ""
    for i in range(job.variants):
        def on_bar(done, total, i=i):
            ctx.progress((i + done / total) / job.variants, f"Melody {i + 1}: bar {done}/{total}")
        mel, seed, notice = generate_melody(model, req, job.sampler or MUSIC_DEFAULTS,
                                            seed=base_seed + i, primer=primer,
                                            cancel=ctx.token, on_bar=on_bar)
        ctx.emit(MelodyReady(job_id=job.job_id, melody=mel, index=i))
        melodies.append(mel)
        seeds.append(seed)
        stats.append(melody_stats.summary(mel))
    return MelodyResult(tuple(melodies), tuple(seeds), notice, tuple(stats),
                        time.perf_counter() - t0)


def run_generate(job: GenerateMelodyJob, ctx) -> MelodyResult:
    return _generate(job, ctx, _request(job, Key.parse(job.key), str(Meter.parse(job.meter)),
                                        job.tempo))


def run_continue(job: ContinueMelodyJob, ctx) -> MelodyResult:
    p = job.primer
    key = Key.parse(job.key) if job.key else p.key
    meter = str(Meter.parse(job.meter)) if job.meter else str(p.meter)
    return _generate(job, ctx, _request(job, key, meter, job.tempo or p.tempo), primer=p)


def run_interpolate(job: InterpolateMelodiesJob, ctx) -> MelodyResult:
    from desktop_app.ml.music.morph import interpolate
    vae = _model(ctx, job.model_dir, "vae")
    t0 = time.perf_counter()
    mels = interpolate(vae, job.a, job.b, job.steps, hard_mask=job.hard_mask, cancel=ctx.token)
    for i, m in enumerate(mels):
        ctx.emit(MelodyReady(job_id=job.job_id, melody=m, index=i))
    return MelodyResult(tuple(mels), (), "", tuple(melody_stats.summary(m) for m in mels),
                        time.perf_counter() - t0)
