"""Engine handlers for text jobs: load a model folder, stream a generation as TokenChunk events.

Runs on the engine's worker thread. Models come from ``ctx.models`` (kept loaded between jobs,
keyed by folder and precision); loading reports progress through the cache, then starts the
background compile of the decode step (:mod:`desktop_app.ml.text.compiled`). Each generated
token becomes one ``TokenChunk`` (the engine coalesces them to one every ~30 ms) carrying its
:class:`~desktop_app.core.textgen.TokenInfo`, its variant index and the running tokens/s.
"""

from __future__ import annotations

import dataclasses

import time
from pathlib import Path

from desktop_app.backends.base import JobContext
from desktop_app.core.errors import UsageError
from desktop_app.core.events import TokenChunk
from desktop_app.core.textgen import (PRECISIONS, GenerationResult, LoadTextModelJob,
                                      TextGenerationJob, TextModelInfo)


def get_model(ctx: JobContext, model_dir: str, precision: str = "fp32"):
    """The loaded model for ``model_dir`` at ``precision``, from the worker's model cache."""
    from desktop_app.ml.text.loader import load_text_model

    if precision not in PRECISIONS:
        raise UsageError(f"unknown precision {precision!r}; choose {' or '.join(PRECISIONS)}")
    folder = Path(model_dir).expanduser().resolve()
    key = f"text:{folder}:{precision}"

    def load(progress):
        lm = load_text_model(folder, precision=precision, progress=progress)
        lm.start_compile()  # background thread; generations stay eager until it is ready
        return lm

    return ctx.models.get(key, load, size_bytes=lambda lm: lm.size_bytes())


def model_info(lm) -> TextModelInfo:
    return TextModelInfo(
        name=lm.name, path=str(lm.folder), arch=lm.arch,
        parameters=lm.n_parameters or sum(p.numel() for p in lm.model.parameters()),
        max_context=lm.max_context, precision=lm.precision,
        has_chat_template=bool(lm.chat_template),
        generation_defaults=tuple(sorted(lm.generation_defaults.items())))


def run_load_text_model(job: LoadTextModelJob, ctx: JobContext) -> TextModelInfo:
    if job.server is not None:
        from desktop_app.backends import remote_text  # noqa: PLC0415 - no torch on this path

        return remote_text.run_load(job, ctx)
    return model_info(get_model(ctx, job.model_dir, job.precision))


def run_text_generation(job: TextGenerationJob, ctx: JobContext) -> tuple[GenerationResult, ...]:
    """Stream ``job`` and return one :class:`GenerationResult` per variant."""
    if job.server is not None:
        from desktop_app.backends import remote_text  # noqa: PLC0415 - no torch on this path

        return remote_text.run_generation(job, ctx)
    from desktop_app.ml.text.generate import Generation, prompt_ids

    if job.max_tokens < 1 or job.variants < 1:
        raise UsageError("max_tokens and variants must be at least 1")
    lm = get_model(ctx, job.model_dir, job.precision)
    ctx.token.raise_if_cancelled()
    ids = prompt_ids(lm, job.prompt, chat=job.chat, system=job.system_prompt)
    gen = Generation(lm, ids, job.settings, max_tokens=job.max_tokens, stop=job.stop,
                     variants=job.variants, cancel=ctx.token,
                     top_alternatives=job.top_alternatives, context_length=job.context_length)
    if gen.dropped:
        ctx.progress(None, f"The prompt is longer than the context: the oldest {gen.dropped} "
                           f"tokens were left out")
    emit_steps(job, ctx, gen.steps())
    ctx.token.raise_if_cancelled()
    # The weights hash makes every generation reproducible from the session history; it is
    # computed once per loaded model (the loader caches it).
    sha = lm.sha256()
    return tuple(dataclasses.replace(result, model_sha256=sha) for result in gen.results)


def emit_steps(job: TextGenerationJob, ctx: JobContext, steps) -> None:
    """Send each generation step as a ``TokenChunk`` with its variant's running tokens/s
    (local models and serving engines alike)."""
    counts = [0] * job.variants
    start = None
    for step in steps:
        now = time.perf_counter()
        start = start or now
        rate = None
        if step.token is not None:
            counts[step.variant] += 1
            if counts[step.variant] > 1:
                rate = (counts[step.variant] - 1) / max(now - start, 1e-9)
        ctx.emit(TokenChunk(job_id=job.job_id, text=step.text,
                            tokens=(step.token,) if step.token is not None else (),
                            variant=step.variant, tokens_per_s=rate))
