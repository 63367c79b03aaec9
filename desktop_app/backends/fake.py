"""Fake jobs and their handlers, for UI tests, engine tests and benchmarks (no models needed).

Each handler runs on the engine's worker thread like a real one: it checks ``ctx.token`` at
every step, so cancellation and shutdown work exactly as with a model. ``EchoJob``,
``BusyJob`` and ``WaitJob`` share the supersede group ``"fake"`` so supersede can be tested.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import ClassVar

import numpy as np

from desktop_app.backends.base import JobContext
from desktop_app.core.errors import ReverieError
from desktop_app.core.events import TokenChunk
from desktop_app.core.jobs import Job


@dataclass(frozen=True, kw_only=True)
class EchoJob(Job):
    """Returns ``text`` at once."""

    text: str = ""
    label: ClassVar[str] = "Echoing"
    supersede_group: ClassVar[str] = "fake"


@dataclass(frozen=True, kw_only=True)
class StreamJob(Job):
    """Streams ``n_tokens`` TokenChunks of ``text_per_token`` each; returns the full text.

    ``delay_s`` waits on the cancel token between tokens (a slow model); 0 streams at once.
    """

    n_tokens: int = 10
    text_per_token: str = "a"
    delay_s: float = 0.0
    variants: int = 1
    label: ClassVar[str] = "Streaming"


@dataclass(frozen=True, kw_only=True)
class BusyJob(Job):
    """CPU-heavy numpy work for ``seconds`` on one core, in slices of about a millisecond.

    Element-wise maths on ``size`` floats per slice (numpy releases the GIL while it runs);
    not a matmul, whose BLAS threads stall when a core is taken away on a busy machine.
    """

    seconds: float = 1.0
    size: int = 100_000
    label: ClassVar[str] = "Busy (numpy)"
    supersede_group: ClassVar[str] = "fake"


@dataclass(frozen=True, kw_only=True)
class TorchBusyJob(Job):
    """CPU-heavy torch matmuls for ``seconds`` (the realistic load for the GUI-stall benchmark)."""

    seconds: float = 1.0
    size: int = 256
    label: ClassVar[str] = "Busy (torch)"


@dataclass(frozen=True, kw_only=True)
class FailJob(Job):
    """Fails: a ReverieError with ``message`` if ``expected``, else a RuntimeError (a bug)."""

    message: str = "it failed"
    expected: bool = True
    label: ClassVar[str] = "Failing"


@dataclass(frozen=True, kw_only=True)
class WaitJob(Job):
    """Blocks on its cancel token (for cancel tests); gives up after ``timeout_s``."""

    timeout_s: float = 60.0
    label: ClassVar[str] = "Waiting"
    supersede_group: ClassVar[str] = "fake"


def run_echo(job: EchoJob, ctx: JobContext) -> str:
    ctx.token.raise_if_cancelled()
    return job.text


def run_stream(job: StreamJob, ctx: JobContext) -> str:
    t0 = time.perf_counter()
    for variant in range(job.variants):
        for i in range(job.n_tokens):
            ctx.token.raise_if_cancelled()
            if job.delay_s and ctx.token.wait(job.delay_s):
                ctx.token.raise_if_cancelled()
            rate = (i + 1) / max(time.perf_counter() - t0, 1e-9)
            ctx.emit(TokenChunk(job.job_id, text=job.text_per_token, tokens=(i,),
                                variant=variant, tokens_per_s=rate))
    return job.text_per_token * job.n_tokens


def _timed_slices(seconds: float, ctx: JobContext, step, what: str) -> int:
    """Call ``step()`` until ``seconds`` pass, checking the token before each; return the count."""
    t0 = time.perf_counter()
    count = 0
    last_report = t0
    while (now := time.perf_counter()) - t0 < seconds:
        ctx.token.raise_if_cancelled()
        step()
        count += 1
        if now - last_report > 0.05:
            last_report = now
            ctx.progress(min(1.0, (now - t0) / seconds), what,
                         rate=(count / (now - t0), "steps/s"))
    return count


def run_busy(job: BusyJob, ctx: JobContext) -> int:
    x = np.random.default_rng(0).standard_normal(job.size)
    y = np.empty_like(x)
    return _timed_slices(job.seconds, ctx, lambda: np.sin(x, out=y), "Crunching numbers")


def run_torch_busy(job: TorchBusyJob, ctx: JobContext) -> dict:
    """Returns the matmul count and the torch thread count this (worker) thread used."""
    import torch  # noqa: PLC0415 - torch is imported in the worker, never at module import

    gen = torch.Generator().manual_seed(0)
    a = torch.randn(job.size, job.size, generator=gen)
    steps = _timed_slices(job.seconds, ctx, lambda: torch.mm(a, a), "Crunching tensors")
    return {"steps": steps, "num_threads": torch.get_num_threads()}


def run_fail(job: FailJob, ctx: JobContext) -> None:
    ctx.token.raise_if_cancelled()
    if job.expected:
        raise ReverieError(job.message)
    raise RuntimeError(job.message)


def run_wait(job: WaitJob, ctx: JobContext) -> str:
    ctx.progress(None, "Waiting to be cancelled")
    ctx.token.wait(job.timeout_s)
    ctx.token.raise_if_cancelled()
    return "timed out"
