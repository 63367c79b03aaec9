"""Instant fake text backends for the Write room's UI tests (run inline by SyncEngine).

They speak the real jobs' language (``TextGenerationJob`` → ``TokenChunk``s of ``TokenInfo`` and
a tuple of ``GenerationResult``; ``LoadTextModelJob`` → ``TextModelInfo``;
``NextTokenLogitsJob`` → ``NextTokenLogits``) and are deterministic in the seed, so the tests
can check what reaches the editor without a model.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from desktop_app.backends import registry
from desktop_app.core.errors import ModelLoadError
from desktop_app.core.events import TokenChunk
from desktop_app.core.textgen import (GenerationResult, LoadTextModelJob, TextGenerationJob,
                                      TextModelInfo, TokenAlternative, TokenInfo)
from desktop_app.core.textgen_inspect import NextTokenLogits, NextTokenLogitsJob

WORDS = [" the", " fox", " sang", " moon", " river", " and", " a", " night", " wood", " bright"]
VOCAB = 500


class FakeText:
    """Handlers with knobs the tests turn (``stop_after`` cancels from inside the stream)."""

    def __init__(self) -> None:
        self.jobs: list = []
        self.on_chunk = None  # callable(index) run after each chunk is emitted
        self.fail_load: set[str] = set()

    def handler_for(self, job):
        if isinstance(job, TextGenerationJob):
            return self.generate
        if isinstance(job, LoadTextModelJob):
            return self.load
        if isinstance(job, NextTokenLogitsJob):
            return self.logits
        return registry.handler_for(job)

    def load(self, job, ctx):
        ctx.progress(0.5, "Reading weights")
        if job.model_dir in self.fail_load:
            raise ModelLoadError(f"{job.model_dir}/config.json is missing: not a model folder")
        return TextModelInfo(name=Path(job.model_dir).name, path=job.model_dir, arch="llama",
                             parameters=1234, max_context=256, precision="fp32",
                             has_chat_template=True)

    def generate(self, job, ctx):
        self.jobs.append(job)
        results = []
        for v in range(job.variants):
            rng = np.random.default_rng(job.settings.seed + v)
            tokens = []
            for i in range(job.max_tokens):
                ctx.token.raise_if_cancelled()
                ids = rng.permutation(len(WORDS))[:4]
                alts = tuple(TokenAlternative(id=int(k), text=WORDS[k], probability=p, raw_probability=p / 2)
                             for k, p in zip(ids, (0.5, 0.3, 0.15, 0.05)))
                info = TokenInfo(id=alts[0].id, text=alts[0].text, probability=0.5,
                                 raw_probability=0.25, alternatives=alts)
                tokens.append(info)
                ctx.emit(TokenChunk(job.job_id, text=info.text, tokens=(info,), variant=v,
                                    tokens_per_s=42.0))
                if self.on_chunk is not None:
                    self.on_chunk(i)
            results.append(GenerationResult(
                text="".join(t.text for t in tokens), token_ids=tuple(t.id for t in tokens),
                tokens=tuple(tokens), finish_reason="length", dropped_context_tokens=0,
                settings=job.settings.with_seed(job.settings.seed + v), seed=job.settings.seed + v,
                model_name=Path(job.model_dir).name, model_sha256="ab" * 32,
                prompt_tokens=len(job.prompt) // 4, generated_tokens_per_s=42.0, variant=v))
        return tuple(results)

    def logits(self, job, ctx):
        rng = np.random.default_rng(len(job.text))
        row = (rng.standard_normal(VOCAB) * 3).astype(np.float32)
        row.setflags(write=False)
        labels = tuple((i, f"w{i}") for i in range(VOCAB))
        return NextTokenLogits(model_dir=job.model_dir, text_chars=len(job.text), logits=row,
                               history=tuple(range(min(len(job.text), 50))), labels=labels,
                               breaker_ids=(), prompt_tokens=len(job.text) // 4,
                               dropped_tokens=0, max_context=256)
