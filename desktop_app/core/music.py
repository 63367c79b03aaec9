"""Music jobs: requests the Compose room and the CLI send to the engine (frozen, keyword-only).

Keys, meters and MIDI paths are plain strings here so a job is cheap to build and to show;
the handler (:mod:`desktop_app.backends.music`) parses and validates them. Sampler settings
travel as ``desktop_app.core.sampling.SamplerSettings``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, ClassVar

from desktop_app.core.jobs import Job
from desktop_app.core.melody import Melody


@dataclass(frozen=True, kw_only=True)
class GenerateMelodyJob(Job):
    """Generate ``variants`` melodies of ``bars`` bars; each one arrives as a MelodyReady event."""

    model_dir: str
    key: str = "C major"
    meter: str = "4/4"
    bars: int = 16
    tempo: float = 120.0
    variants: int = 1
    seed: int | None = None          # variant i uses seed + i
    sampler: Any = None              # SamplerSettings, or None for the music defaults
    hard_mask: bool = False
    low: int | None = None           # pitch range (MIDI numbers), None for no limit
    high: int | None = None
    title: str = ""
    label: ClassVar[str] = "Composing melodies"
    supersede_group: ClassVar[str] = ""


@dataclass(frozen=True, kw_only=True)
class ContinueMelodyJob(GenerateMelodyJob):
    """Continue ``primer`` (a Melody) with ``bars`` new bars; key/meter/tempo from the primer
    unless ``key`` / ``meter`` are given (empty strings mean "from the primer")."""

    primer: Melody = field(default_factory=Melody)
    key: str = ""
    meter: str = ""
    tempo: float = 0.0               # 0: the primer's tempo
    label: ClassVar[str] = "Continuing the melody"


@dataclass(frozen=True, kw_only=True)
class InterpolateMelodiesJob(Job):
    """``steps`` melodies from ``a`` to ``b`` (both ends included) with the phrase VAE."""

    model_dir: str
    a: Melody
    b: Melody
    steps: int = 5
    hard_mask: bool = False
    label: ClassVar[str] = "Interpolating melodies"
    supersede_group: ClassVar[str] = "interpolate-melodies"


@dataclass(frozen=True)
class MelodyResult:
    """What a music job returns in ``Finished.result``: melodies, seeds, notices, per-melody figures."""

    melodies: tuple[Melody, ...]
    seeds: tuple[int, ...] = ()
    notice: str = ""
    stats: tuple[dict, ...] = ()
    seconds: float = 0.0
