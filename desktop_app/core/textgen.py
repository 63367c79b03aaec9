"""Text generation requests and results (pure Python: no Qt, no torch).

Jobs are built on the GUI thread (or by the CLI) and run by ``desktop_app.backends.text`` on
the engine's worker thread. Per-token details travel back inside ``TokenChunk.tokens`` as
:class:`TokenInfo`; the handler's result is a tuple of :class:`GenerationResult`, one per
variant. ``GenerationResult.to_json()`` is the object ``reverie generate text --json`` prints.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, ClassVar

from desktop_app.core.jobs import Job
from desktop_app.core.sampling import SamplerSettings
from desktop_app.core.serving import ServerSpec

#: Why generation stopped: the token budget, an end-of-sequence token, a stop string, or Stop.
FINISH_REASONS = ("length", "eos", "stop", "cancelled")
#: weight precisions: "auto" keeps the file's own (a GGUF file's Q4 blocks -> int4, Q8 -> int8,
#: F16/BF16 -> bf16; a safetensors folder's torch_dtype); int8/int4 are weight-only with bf16
#: activations (desktop_app.ml.text.quant / int4)
PRECISIONS = ("auto", "fp32", "bf16", "int8", "int4")


def parse_precision(value: str) -> str:
    """A precision given as text (``--precision``, a setting): lower-cased and checked.
    Raises ValueError naming the choices."""
    v = str(value).strip().lower()
    if v not in PRECISIONS:
        raise ValueError(f"unknown precision {value!r}; choose {', '.join(PRECISIONS)}")
    return v


def precision_arg(value: str) -> str:
    """:func:`parse_precision` as an argparse ``type`` (its message becomes the usage error)."""
    import argparse

    try:
        return parse_precision(value)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


@dataclass(frozen=True)
class TokenAlternative:
    """One candidate for a position: its probability after the samplers and before them."""

    id: int
    text: str
    probability: float
    raw_probability: float

    def to_json(self) -> dict[str, Any]:
        return {"id": self.id, "text": self.text, "probability": self.probability,
                "raw_probability": self.raw_probability}


@dataclass(frozen=True)
class TokenInfo:
    """A generated token. ``text`` is the text this token completed (empty while a multi-byte
    character is still incomplete); ``alternatives`` are the top candidates at its position,
    ordered by post-sampler probability, then raw probability."""

    id: int
    text: str
    probability: float
    raw_probability: float
    alternatives: tuple[TokenAlternative, ...] = ()

    def to_json(self) -> dict[str, Any]:
        return {"id": self.id, "text": self.text, "probability": self.probability,
                "raw_probability": self.raw_probability,
                "alternatives": [a.to_json() for a in self.alternatives]}


@dataclass(frozen=True)
class GenerationResult:
    """One finished continuation (one variant)."""

    text: str
    token_ids: tuple[int, ...]
    tokens: tuple[TokenInfo, ...]
    finish_reason: str
    dropped_context_tokens: int
    settings: SamplerSettings
    seed: int
    model_name: str
    model_sha256: str = ""
    prompt_tokens: int = 0
    prompt_tokens_per_s: float = 0.0
    generated_tokens_per_s: float = 0.0
    variant: int = 0

    def to_json(self) -> dict[str, Any]:
        return {
            "text": self.text,
            "token_ids": list(self.token_ids),
            "tokens": [t.to_json() for t in self.tokens],
            "finish_reason": self.finish_reason,
            "dropped_context_tokens": self.dropped_context_tokens,
            "settings": self.settings.to_dict(),
            "seed": self.seed,
            "model": {"name": self.model_name, "sha256": self.model_sha256},
            "timings": {"prompt_tokens_per_s": self.prompt_tokens_per_s,
                        "generated_tokens_per_s": self.generated_tokens_per_s},
        }


@dataclass(frozen=True, kw_only=True)
class TextGenerationJob(Job):
    """Continue ``prompt`` with the model in ``model_dir``.

    ``variants`` continuations share one prompt prefill; variant ``i`` draws with seed
    ``settings.seed + i`` (a fresh seed is chosen, and reported, when ``settings.seed`` is None).
    ``chat`` wraps the prompt as a user message with the model's chat template.
    ``context_length`` caps the model's context (None: the model's own limit).
    ``server``: generate on that serving engine instead (``model_dir`` is then its URL);
    ``precision`` and ``context_length`` are the server's business there.
    """

    model_dir: str
    prompt: str
    settings: SamplerSettings = field(default_factory=SamplerSettings)
    max_tokens: int = 200
    stop: tuple[str, ...] = ()
    variants: int = 1
    chat: bool = False
    system_prompt: str | None = None
    precision: str = "auto"
    top_alternatives: int = 5
    context_length: int | None = None
    server: ServerSpec | None = None
    label: ClassVar[str] = "Generating text"
    supersede_group: ClassVar[str] = "text-generate"


@dataclass(frozen=True, kw_only=True)
class LoadTextModelJob(Job):
    """Load (or find in the cache) a text model; the result is a :class:`TextModelInfo`.
    With ``server`` set, contact that serving engine instead and describe its model."""

    model_dir: str
    precision: str = "auto"
    server: ServerSpec | None = None
    label: ClassVar[str] = "Loading text model"


@dataclass(frozen=True)
class TextModelInfo:
    """What the Write room needs to know about a loaded text model."""

    name: str
    path: str
    arch: str
    parameters: int
    max_context: int
    precision: str
    has_chat_template: bool
    generation_defaults: tuple[tuple[str, Any], ...] = ()
    server_api: str = ""  # "" for a local model, else the serving engine's API (core.serving)
    reproducibility: str = ""  # what a seed buys on that server

    def defaults_dict(self) -> dict[str, Any]:
        return dict(self.generation_defaults)
