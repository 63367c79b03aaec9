"""Request for the raw next-token logits at a point in a text, without generating (no Qt/torch).

The Write room's distribution inspector submits a :class:`NextTokenLogitsJob` (latest request
wins) when the cursor or the text changes, then re-runs the sampler chain on the GUI thread
from the returned logits as the controls move. The handler lives in
``desktop_app.backends.text_inspect`` and caches results per (model, text).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

from desktop_app.core.jobs import Job
from desktop_app.core.sampling import SamplerSettings
from desktop_app.core.serving import ServerSpec


@dataclass(frozen=True, kw_only=True)
class NextTokenLogitsJob(Job):
    """The model's logits for the token that would follow ``text``.

    ``label_count`` most probable tokens come back with their text (for the chart's labels);
    ``dry_sequence_breakers`` are tokenized so the inspector can run DRY exactly as generation.
    """

    model_dir: str
    text: str
    precision: str = "auto"
    context_length: int | None = None
    label_count: int = 256
    dry_sequence_breakers: tuple[str, ...] = ()
    label: ClassVar[str] = "Reading the next-token distribution"
    supersede_group: ClassVar[str] = "text-inspect"


@dataclass(frozen=True)
class NextTokenLogits:
    """The result: ``logits`` a read-only 1-D float32 numpy array over the vocabulary."""

    model_dir: str
    text_chars: int
    logits: Any
    history: tuple[int, ...]  # the prompt's token ids (what the penalties look at)
    labels: tuple[tuple[int, str], ...]  # (token id, its text) for the most probable tokens
    breaker_ids: tuple[Any, ...]
    prompt_tokens: int  # tokens the text came to (before any were dropped)
    dropped_tokens: int  # tokens dropped from the front to fit the context
    max_context: int
    model_sha256: str = ""  # SHA-256 over the weight files (for the generation history)


@dataclass(frozen=True, kw_only=True)
class ServerNextTokenJob(Job):
    """The next token's top-``top_n`` after ``text``, as a serving engine reports it (a
    server sends no full logits, so the inspector draws the server's own numbers)."""

    server: ServerSpec
    text: str
    settings: SamplerSettings
    top_n: int = 20
    label: ClassVar[str] = "Asking the server for the next-token distribution"
    supersede_group: ClassVar[str] = "text-inspect"


@dataclass(frozen=True)
class ServerNextToken:
    """``raw``: TokenAlternatives before the server's samplers (``raw_probability`` set);
    ``post``: after them (``probability`` set) — None where the server cannot report it
    (vLLM, Ollama)."""

    url: str
    text_chars: int
    raw: tuple[Any, ...]
    post: tuple[Any, ...] | None
    api: str
    prompt_tokens: int = 0
    max_context: int = 0
