"""The sampler chain: from a model's logits to the distribution the next token is drawn from.

Pure numpy (no torch, no Qt). Semantics are llama.cpp's (src/llama-sampling.cpp, checked against
its tests/test-sampling.cpp vectors); stage implementations live in :mod:`sampling_stages` and
:mod:`sampling_dry`. Stable public API (the text engine, the Write room's inspector, the CLI
and outside checks use it):

``SamplerSettings``      frozen dataclass; defaults = the Balanced preset (= llama.cpp's defaults).
                         ``to_dict()`` / ``SamplerSettings.from_dict(d)`` for JSON; ``replace(**kw)``.
``STAGES``               stage names; ``DEFAULT_ORDER`` penalties, dry, top_k, typical_p, top_p,
                         min_p, xtc, temperature. The draw always comes last and is not a stage.
                         ``CHAIN`` holds the stages themselves (:class:`Stage`).
``PRESETS``              {"Precise", "Balanced", "Creative", "Wild"} -> SamplerSettings;
                         ``PRESET_DESCRIPTIONS`` one line each (tooltips); ``preset(name)``.
``next_token_distribution(logits, settings, history=(), *, rng=None, breaker_ids=())``
                         -> float64 array over the vocabulary, summing to 1, exactly 0 for tokens
                         a stage removed.
``sampler_trace(...)``   same arguments -> [("raw", softmax(logits)), (stage, probs), ...] for the
                         enabled stages in order; its last entry equals next_token_distribution.
``softmax(logits)``      the raw distribution (float64), as the trace's "raw" entry.
``draw(probs, rng)``     inverse-CDF draw with one ``rng.random()``; deterministic for a seeded rng.
``make_rng(seed)``       numpy Generator (PCG64); ``fresh_seed()`` a random seed to report.
``Sampler``              per-job object: settings with a concrete seed, its rng, DRY breaker ids;
                         ``sample(logits, history) -> (token_id, probs)``.

Neutral values switch a stage off: top_k <= 0, top_p >= 1, min_p 0, typical_p >= 1,
repeat_penalty 1 with frequency and presence 0 (or repeat_last_n 0), dry_multiplier 0 (or
dry_penalty_last_n 0), xtc_probability 0 (or xtc_threshold > 0.5), temperature 1. A stage left
out of ``order`` is off too. temperature <= 0 is greedy: one-hot on the largest logit, lowest
token id on ties. repeat_last_n / dry_penalty_last_n of -1 mean the whole history.

Random numbers: XTC's coin (only when XTC is enabled and has >= 2 candidates) and then the draw,
both from the job's generator, so a seed reproduces a run exactly. ``rng=None`` in the
functions above means a generator seeded from ``settings.seed`` (fresh if None).
"""

from __future__ import annotations

import dataclasses
import math
import secrets
from dataclasses import dataclass, field
from typing import Any, Callable

import numpy as np

from desktop_app.core import sampling_stages as st
from desktop_app.core.errors import ReverieError, UsageError
from desktop_app.core.sampling_dry import dry_breaker_ids, normalize_breakers

__all__ = [
    "CHAIN", "DEFAULT_ORDER", "PRESETS", "PRESET_DESCRIPTIONS", "STAGES", "Sampler",
    "SamplerSettings", "Stage",
    "draw", "dry_breaker_ids", "fresh_seed", "make_rng", "next_token_distribution", "preset",
    "sampler_trace", "softmax",
]

@dataclass(frozen=True)
class Stage:
    """One stage of the chain. As llama.cpp keeps its chain as a list of sampler objects, adding
    a stage here is one entry in :data:`CHAIN` (and its settings fields on SamplerSettings):
    its name, the settings it reads (validated as numbers or whole numbers, with its own
    rules), when it is on, how far back in the history it looks, and what it does."""

    name: str
    numbers: tuple[str, ...]
    integers: tuple[str, ...]
    #: (field, ok(value), the rule said when it is not) for this stage's fields.
    checks: tuple[tuple[str, Callable[[Any], bool], str], ...]
    enabled: Callable[[Any], bool]            # settings -> off at its neutral values
    apply: Callable[[st.Candidates, Any, "_Pass"], st.Candidates]
    #: settings -> how many past tokens it reads (-1: all), for stages that read the history.
    window: Callable[[Any], int] | None = None


class _Pass:
    """What one run of the chain shares between its stages."""

    __slots__ = ("history", "rng", "breakers")

    def __init__(self, history: np.ndarray, rng, breakers) -> None:
        self.history, self.rng, self.breakers = history, rng, breakers


def _xtc(c: st.Candidates, s, run: _Pass) -> st.Candidates:
    if run.rng is None:
        run.rng = make_rng(s.seed)
    return st.xtc(c, s.xtc_probability, s.xtc_threshold, run.rng)


_WHOLE_OR_MORE = "-1 (whole history), 0 (off) or more"
CHAIN: tuple[Stage, ...] = (
    Stage("penalties", ("repeat_penalty", "frequency_penalty", "presence_penalty"),
          ("repeat_last_n",),
          (("repeat_penalty", lambda v: v > 0, "above 0 (1 switches it off)"),
           ("repeat_last_n", lambda v: v >= -1, _WHOLE_OR_MORE)),
          lambda s: s.repeat_last_n != 0 and (
              s.repeat_penalty != 1 or s.frequency_penalty != 0 or s.presence_penalty != 0),
          lambda c, s, r: st.penalties(c, r.history, s.repeat_penalty, s.repeat_last_n,
                                       s.frequency_penalty, s.presence_penalty),
          window=lambda s: s.repeat_last_n),
    Stage("dry", ("dry_multiplier", "dry_base"), ("dry_allowed_length", "dry_penalty_last_n"),
          (("dry_multiplier", lambda v: v >= 0, "0 (off) or more"),
           ("dry_base", lambda v: v >= 1, "1 or more"),
           ("dry_allowed_length", lambda v: v >= 0, "0 or more"),
           ("dry_penalty_last_n", lambda v: v >= -1, _WHOLE_OR_MORE)),
          lambda s: s.dry_multiplier != 0 and s.dry_penalty_last_n != 0,
          lambda c, s, r: st.dry(c, r.history, s.dry_multiplier, s.dry_base,
                                 s.dry_allowed_length, s.dry_penalty_last_n, r.breakers),
          window=lambda s: s.dry_penalty_last_n),
    Stage("top_k", (), ("top_k",), (), lambda s: s.top_k > 0,
          lambda c, s, r: st.top_k(c, s.top_k)),
    Stage("typical_p", ("typical_p",), (),
          (("typical_p", lambda v: v >= 0, "0 or more (1 switches it off)"),),
          lambda s: s.typical_p < 1, lambda c, s, r: st.typical(c, s.typical_p)),
    Stage("top_p", ("top_p",), (), (("top_p", lambda v: v >= 0, "0 or more (1 switches it off)"),),
          lambda s: s.top_p < 1, lambda c, s, r: st.top_p(c, s.top_p)),
    Stage("min_p", ("min_p",), (), (("min_p", lambda v: v >= 0, "0 or more (0 switches it off)"),),
          lambda s: s.min_p > 0, lambda c, s, r: st.min_p(c, s.min_p)),
    Stage("xtc", ("xtc_probability", "xtc_threshold"), (),
          (("xtc_probability", lambda v: 0 <= v <= 1, "between 0 and 1"),
           ("xtc_threshold", lambda v: 0 <= v <= 1, "between 0 and 1")),
          lambda s: s.xtc_probability > 0 and s.xtc_threshold <= 0.5, _xtc),
    Stage("temperature", ("temperature",), (), (), lambda s: s.temperature != 1,
          lambda c, s, r: st.temperature(c, s.temperature)),
)
STAGES = tuple(stage.name for stage in CHAIN)
DEFAULT_ORDER = STAGES
_STAGE = {stage.name: stage for stage in CHAIN}
SEED_LIMIT = 2**64  # seeds are 0 <= seed < 2**64


@dataclass(frozen=True)
class SamplerSettings:
    """Every knob of the chain. Defaults are the Balanced preset, which equals llama.cpp's
    defaults (temperature 0.8, top-k 40, top-p 0.95, min-p 0.05, no repetition penalty)."""

    temperature: float = 0.8
    top_k: int = 40
    top_p: float = 0.95
    min_p: float = 0.05
    typical_p: float = 1.0
    repeat_penalty: float = 1.0
    repeat_last_n: int = 64
    frequency_penalty: float = 0.0
    presence_penalty: float = 0.0
    dry_multiplier: float = 0.0
    dry_base: float = 1.75
    dry_allowed_length: int = 2
    dry_penalty_last_n: int = -1
    dry_sequence_breakers: tuple[str, ...] = ("\n", ":", "\"", "*")
    xtc_probability: float = 0.0
    xtc_threshold: float = 0.1
    seed: int | None = None
    order: tuple[str, ...] = field(default=DEFAULT_ORDER)

    def __post_init__(self) -> None:
        for name, value in _validated(self).items():
            object.__setattr__(self, name, value)

    # --- convenience ---------------------------------------------------------------------------
    def replace(self, **changes: Any) -> SamplerSettings:
        """A copy with some fields changed (validated)."""
        unknown = sorted(set(changes) - _FIELD_NAMES)
        if unknown:
            raise UsageError(_unknown_message(unknown))
        return dataclasses.replace(self, **changes)

    def with_seed(self, seed: int | None) -> SamplerSettings:
        return self.replace(seed=seed)

    @property
    def greedy(self) -> bool:
        return "temperature" in self.order and self.temperature <= 0

    def enabled_stages(self) -> tuple[str, ...]:
        """The stages that will run, in order (those with non-neutral values)."""
        return tuple(name for name in self.order if _STAGE[name].enabled(self))

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict (tuples become lists)."""
        d = dataclasses.asdict(self)
        d["order"] = list(self.order)
        d["dry_sequence_breakers"] = list(self.dry_sequence_breakers)
        return d

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> SamplerSettings:
        """Settings from a dict like :meth:`to_dict` makes; missing keys take the defaults,
        unknown keys are refused."""
        if not isinstance(data, dict):
            raise UsageError(f"sampler settings must be a JSON object, got {type(data).__name__}")
        unknown = sorted(set(data) - _FIELD_NAMES)
        if unknown:
            raise UsageError(_unknown_message(unknown))
        return cls(**data)


_FIELD_NAMES = frozenset(f.name for f in dataclasses.fields(SamplerSettings))


def _unknown_message(unknown: list[str]) -> str:
    return (f"unknown sampler setting(s): {', '.join(unknown)}; known settings are: "
            f"{', '.join(f.name for f in dataclasses.fields(SamplerSettings))}")


# --- validation -------------------------------------------------------------------------------

def _number(name: str, value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)):
        raise UsageError(f"sampler setting {name} must be a number, got {value!r}")
    value = float(value)
    if not math.isfinite(value):
        raise UsageError(f"sampler setting {name} must be a finite number, got {value}")
    return value


def _integer(name: str, value: Any) -> int:
    number = _number(name, value)
    if not number.is_integer():
        raise UsageError(f"sampler setting {name} must be a whole number, got {value!r}")
    return int(number)


def _check(ok: bool, name: str, rule: str, value: Any) -> None:
    if not ok:
        raise UsageError(f"sampler setting {name} must be {rule}, got {value!r}")


def _validated(s: SamplerSettings) -> dict[str, Any]:
    """Normalised field values; raises UsageError naming the first bad field."""
    v: dict[str, Any] = {}
    for stage in CHAIN:
        for name in stage.numbers:
            v[name] = _number(name, getattr(s, name))
        for name in stage.integers:
            v[name] = _integer(name, getattr(s, name))
        for name, ok, rule in stage.checks:
            _check(ok(v[name]), name, rule, getattr(s, name))

    breakers = s.dry_sequence_breakers
    if isinstance(breakers, str) or not isinstance(breakers, (list, tuple)) or not all(
            isinstance(b, str) for b in breakers):
        raise UsageError("sampler setting dry_sequence_breakers must be a list of strings, "
                         f"got {breakers!r}")
    v["dry_sequence_breakers"] = tuple(breakers)

    if s.seed is not None:
        seed = s.seed
        if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)):
            raise UsageError(f"sampler setting seed must be a whole number or None, got {seed!r}")
        _check(0 <= seed < SEED_LIMIT, "seed", "a whole number from 0 to 2**64 - 1, or None",
               s.seed)
        v["seed"] = int(seed)

    order = s.order
    if isinstance(order, str) or not isinstance(order, (list, tuple)):
        raise UsageError(f"sampler setting order must be a list of stage names, got {order!r}")
    unknown = [n for n in order if n not in STAGES]
    if unknown:
        raise UsageError(f"unknown sampler stage(s) in order: {', '.join(map(repr, unknown))}; "
                         f"the stages are: {', '.join(STAGES)}")
    dupes = sorted({n for n in order if list(order).count(n) > 1})
    if dupes:
        raise UsageError(f"sampler stage(s) listed more than once in order: {', '.join(dupes)}")
    v["order"] = tuple(order)
    return v


# --- presets ----------------------------------------------------------------------------------

PRESETS: dict[str, SamplerSettings] = {
    "Precise": SamplerSettings(temperature=0.3, top_k=20, top_p=0.9, min_p=0.1,
                               repeat_penalty=1.1, repeat_last_n=64),
    "Balanced": SamplerSettings(),
    "Creative": SamplerSettings(temperature=1.0, top_k=0, top_p=1.0, min_p=0.05,
                                dry_multiplier=0.8),
    "Wild": SamplerSettings(temperature=1.25, top_k=0, top_p=1.0, min_p=0.02,
                            dry_multiplier=0.8, xtc_probability=0.5, xtc_threshold=0.1),
}
PRESET_DESCRIPTIONS: dict[str, str] = {
    "Precise": "Focused and nearly deterministic: low temperature, a mild repetition penalty; "
               "for facts, code and summaries.",
    "Balanced": "llama.cpp's defaults: temperature 0.8, top-k 40, top-p 0.95, min-p 0.05; "
                "a good start for most text.",
    "Creative": "More varied wording: temperature 1 with only min-p pruning, and DRY to stop "
                "repeated phrases.",
    "Wild": "Surprising and loose: high temperature, and XTC often skips the most obvious "
            "choices; may drift off topic.",
}


def preset(name: str) -> SamplerSettings:
    """The settings of a named preset (case-insensitive)."""
    for key, settings in PRESETS.items():
        if key.lower() == str(name).lower():
            return settings
    raise UsageError(f"unknown sampler preset {name!r}; choose one of: {', '.join(PRESETS)}")


# --- random numbers ---------------------------------------------------------------------------

def fresh_seed() -> int:
    """A new random seed (32 bits, short enough to read out and type back)."""
    return secrets.randbelow(2**32)


def make_rng(seed: int | None) -> np.random.Generator:
    """The job's generator: PCG64 seeded with ``seed`` (fresh entropy when None)."""
    return np.random.default_rng(seed)


def draw(probs: np.ndarray, rng: np.random.Generator) -> int:
    """Draw a token id from ``probs`` by inverse CDF with one ``rng.random()``.

    Never returns a token of probability 0. ``probs`` need not be normalised.
    """
    p = np.asarray(probs, dtype=np.float64)
    cdf = np.cumsum(p)
    total = cdf[-1] if cdf.size else 0.0
    if not (total > 0 and math.isfinite(total)):
        raise ReverieError("cannot draw a token: the sampler left no token with a probability "
                           "above zero.")
    i = int(np.searchsorted(cdf, rng.random() * total, side="right"))
    if i >= p.size:  # u * total rounded up to total
        i = int(np.flatnonzero(p > 0)[-1])
    return i


# --- the chain --------------------------------------------------------------------------------

def _start(logits) -> st.Candidates:
    z = np.array(logits, dtype=np.float64)  # always a copy: stages work in place
    if z.ndim != 1 or z.size == 0:
        raise ValueError(f"logits must be a non-empty 1-D array, got shape {z.shape}")
    if not np.isfinite(z).all():
        if np.isnan(z).any() or np.isposinf(z).any():
            raise ReverieError("the model produced invalid logits (NaN or +inf); try float32 "
                               "precision or another model.")
        if np.isneginf(z).all():
            raise ReverieError("every token has logit -inf, so there is nothing to sample.")
    return st.Candidates(z, None, z.size)


def _history(history, s: SamplerSettings, stages: tuple[str, ...]) -> np.ndarray:
    """The tail of ``history`` the enabled stages look at, as int64."""
    windows = [_STAGE[name].window(s) for name in stages if _STAGE[name].window is not None]
    if not windows:
        return np.zeros(0, dtype=np.int64)
    if not isinstance(history, (np.ndarray, list, tuple)):
        history = list(history)
    if -1 not in windows:
        history = history[max(len(history) - max(windows), 0):]
    return np.asarray(history, dtype=np.int64).ravel()


def _run(logits, settings: SamplerSettings, history, rng, breaker_ids,
         trace: list | None = None) -> st.Candidates:
    if not isinstance(settings, SamplerSettings):
        raise TypeError(f"settings must be SamplerSettings, got {type(settings).__name__}")
    c = _start(logits)
    if trace is not None:
        trace.append(("raw", c.full_probs()))
    stages = settings.enabled_stages()
    hist = _history(history, settings, stages)
    if "dry" not in stages:
        breakers = {}
    elif isinstance(breaker_ids, dict):  # already normalised (Sampler keeps them that way)
        breakers = breaker_ids
    else:
        breakers = normalize_breakers(breaker_ids)
    run = _Pass(hist, rng, breakers)
    for name in stages:
        c = _STAGE[name].apply(c, settings, run)
        if trace is not None:
            trace.append((name, c.full_probs()))
    return c


def softmax(logits) -> np.ndarray:
    """The raw distribution of ``logits`` over the whole vocabulary (float64)."""
    return _start(logits).full_probs()


def next_token_distribution(logits, settings, history=(), *, rng=None, breaker_ids=()):
    """The final renormalised distribution over the whole vocabulary that the next token is
    drawn from (float64, sums to 1, exactly 0 for removed tokens).

    ``logits``: 1-D float array over the vocabulary. ``history``: token ids so far (prompt and
    generated; the penalty windows take their tail). ``rng``: the job's numpy Generator, used by
    XTC's coin (None: one seeded from ``settings.seed``). ``breaker_ids``: DRY sequence breakers
    already tokenized, as ints and/or tuples of ints.
    """
    return _run(logits, settings, history, rng, breaker_ids).full_probs()


def sampler_trace(logits, settings, history=(), *, rng=None, breaker_ids=()):
    """``[("raw", softmax(logits)), (stage, probs), ...]``: the distribution after each enabled
    stage, in order; the last entry equals :func:`next_token_distribution`. Uses the rng the
    same way, so pass a copy (``copy.deepcopy(rng)``) to inspect without disturbing a job."""
    trace: list[tuple[str, np.ndarray]] = []
    _run(logits, settings, history, rng, breaker_ids, trace)
    return trace


class Sampler:
    """One job's sampler: settings with a concrete seed, the job's generator and the DRY
    breakers. Used by the thread that runs the job; not thread-safe.

    ``sample`` is ``next_token_distribution`` followed by ``draw`` on the same generator (it
    draws over the surviving candidates only, which gives the identical token).
    """

    def __init__(self, settings: SamplerSettings | None = None, *, breaker_ids=(),
                 rng: np.random.Generator | None = None):
        settings = settings or SamplerSettings()
        if settings.seed is None:
            settings = settings.with_seed(fresh_seed())
        self.settings = settings
        self.seed: int = settings.seed
        self.rng = rng if rng is not None else make_rng(self.seed)
        self.breaker_ids = tuple(breaker_ids)
        self._breakers = normalize_breakers(self.breaker_ids)  # fails early if malformed

    def distribution(self, logits, history=()) -> np.ndarray:
        return _run(logits, self.settings, history, self.rng, self._breakers).full_probs()

    def sample(self, logits, history=()) -> tuple[int, np.ndarray]:
        """Draw the next token: ``(token_id, probs)`` with ``probs`` the final distribution."""
        c = _run(logits, self.settings, history, self.rng, self._breakers)
        probs = c.probs()
        i = draw(probs, self.rng)
        token = i if c.ids is None else int(c.ids[i])
        return token, c.full_probs(probs)
