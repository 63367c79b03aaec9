"""Frozen events sent from the engine's worker thread back to the GUI thread.

Every event carries the ``job_id`` of the job it belongs to. Events are immutable; payload
arrays (images, probabilities) are handed over and never written to again by the worker.

Life cycle of one job: ``Started`` → any number of ``Progress`` / ``TokenChunk`` /
``ImageReady`` / ``MelodyReady`` / ``ModelLoaded`` → exactly one of ``Finished``,
``Failed`` or ``Cancelled``. A job cancelled while still queued gets only ``Cancelled``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from desktop_app.core.jobs import JobId


@dataclass(frozen=True)
class Event:
    job_id: JobId


@dataclass(frozen=True)
class Started(Event):
    label: str = ""


@dataclass(frozen=True)
class Progress(Event):
    """Progress of long work. ``fraction`` in [0, 1], or None when unknown."""

    fraction: float | None = None
    message: str = ""
    #: Throughput for the status bar, e.g. (12.5, "tokens/s") or (30.0, "steps/s").
    rate: tuple[float, str] | None = None


@dataclass(frozen=True)
class ModelLoaded(Event):
    """A model is ready in the worker's cache. ``info`` is a plain dict (name, params, ...)."""

    model_dir: str = ""
    info: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class TokenChunk(Event):
    """Streamed text. Several tokens may be coalesced into one chunk (at most one per ~30 ms).

    ``tokens`` holds per-token details (any frozen/immutable objects the text backend defines,
    e.g. ``desktop_app.core.textgen.TokenInfo``) in the order they were generated; ``text`` is
    their concatenation. ``variant`` is the index of the continuation for multi-variant jobs.
    """

    text: str = ""
    tokens: tuple[Any, ...] = ()
    variant: int = 0
    tokens_per_s: float | None = None


@dataclass(frozen=True)
class ImageReady(Event):
    """A decoded image: ``pixels`` is a uint8 numpy array (H, W, 3) or (H, W)."""

    pixels: Any = None
    latent: Any = None
    index: int = 0


@dataclass(frozen=True)
class MelodyReady(Event):
    melody: Any = None
    index: int = 0


@dataclass(frozen=True)
class Finished(Event):
    """The job completed. ``result`` is the handler's return value (immutable by convention)."""

    result: Any = None
    elapsed_s: float = 0.0


@dataclass(frozen=True)
class Failed(Event):
    """The job raised. ``message`` is one readable line for the user; ``detail`` the traceback."""

    message: str = ""
    detail: str = ""


@dataclass(frozen=True)
class Cancelled(Event):
    #: Seconds from the cancel request to the worker noticing it (for the latency benchmark).
    latency_s: float | None = None


TERMINAL_EVENTS = (Finished, Failed, Cancelled)
