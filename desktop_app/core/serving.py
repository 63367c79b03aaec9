"""Serving engines as text backends: which server, which API, and how Reverie's settings map.

Pure Python (no Qt, no torch, no network). A :class:`ServerSpec` names a running serving
engine — llama.cpp's ``llama-server``, vLLM (or any OpenAI-compatible ``/v1/completions``)
or Ollama — and travels inside text jobs; the HTTP client is
``desktop_app.backends.remote_text``. A spec never holds a secret: only the *name* of the
environment variable with the API key (or nothing, and then the system keyring is asked).

:func:`map_settings` turns :class:`~desktop_app.core.sampling.SamplerSettings` into the
server's own parameter names and lists, with a reason, every active setting the server has no
equivalent for — those are shown as unavailable, never dropped silently.
"""

from __future__ import annotations

import ipaddress
import os
import re
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from desktop_app.core.errors import UsageError
from desktop_app.core.sampling import DEFAULT_ORDER, SamplerSettings

#: API kinds: llama.cpp's native /completion, OpenAI-compatible /v1/completions (vLLM), Ollama.
APIS = ("llama.cpp", "openai", "ollama")
API_CHOICES = ("auto",) + APIS
API_TITLES = {"llama.cpp": "llama.cpp server", "openai": "OpenAI-compatible (vLLM)",
              "ollama": "Ollama"}
#: The most top log-probabilities each API returns per token (vLLM's default --max-logprobs and
#: Ollama's documented limit are 20; llama.cpp has no cap).
MAX_TOP_LOGPROBS = {"llama.cpp": 100, "openai": 20, "ollama": 20}
KEYRING_SERVICE = "reverie"  # keyring entry: service "reverie", user = the server's URL
_MAX_URL = 2048

#: What a seed buys on each engine (shown by --json and the room).
REPRODUCIBILITY = {
    "llama.cpp": "a seed reproduces the text on the same server build, model file and hardware "
                 "when requests are not batched together (one slot, or one request at a time)",
    "openai": "vLLM reproduces a seeded request on the same version, model and GPU; batching "
              "with other requests can change the numbers slightly",
    "ollama": "a seed reproduces the text with the same Ollama version, model and hardware; "
              "Ollama may reload or batch and then differ",
}

# Reverie setting -> the server's parameter name, per API. A setting missing from an API's
# table has no equivalent there; _NOT_SUPPORTED says why.
_NAMES: dict[str, dict[str, str]] = {
    "llama.cpp": {
        "temperature": "temperature", "top_k": "top_k", "top_p": "top_p", "min_p": "min_p",
        "typical_p": "typical_p", "repeat_penalty": "repeat_penalty",
        "repeat_last_n": "repeat_last_n", "frequency_penalty": "frequency_penalty",
        "presence_penalty": "presence_penalty", "dry_multiplier": "dry_multiplier",
        "dry_base": "dry_base", "dry_allowed_length": "dry_allowed_length",
        "dry_penalty_last_n": "dry_penalty_last_n",
        "dry_sequence_breakers": "dry_sequence_breakers", "xtc_probability": "xtc_probability",
        "xtc_threshold": "xtc_threshold", "seed": "seed", "order": "samplers"},
    "openai": {
        "temperature": "temperature", "top_k": "top_k", "top_p": "top_p", "min_p": "min_p",
        "repeat_penalty": "repetition_penalty", "frequency_penalty": "frequency_penalty",
        "presence_penalty": "presence_penalty", "seed": "seed"},
    "ollama": {
        "temperature": "temperature", "top_k": "top_k", "top_p": "top_p", "min_p": "min_p",
        "typical_p": "typical_p", "repeat_penalty": "repeat_penalty",
        "repeat_last_n": "repeat_last_n", "frequency_penalty": "frequency_penalty",
        "presence_penalty": "presence_penalty", "seed": "seed"},
}
_NOT_SUPPORTED = {
    "typical_p": "no locally typical sampling",
    "repeat_last_n": "its repetition penalty covers the whole prompt and output (no window)",
    "dry": "no DRY sampler",
    "xtc": "no XTC sampler",
    "order": "its samplers run in a fixed order",
}
# Reverie stage names -> llama.cpp's `samplers` names (common/sampling.cpp).
_LLAMA_SAMPLERS = {"penalties": "penalties", "dry": "dry", "top_k": "top_k",
                   "typical_p": "typ_p", "top_p": "top_p", "min_p": "min_p", "xtc": "xtc",
                   "temperature": "temperature"}
_DRY = ("dry_multiplier", "dry_base", "dry_allowed_length", "dry_penalty_last_n",
        "dry_sequence_breakers")
_XTC = ("xtc_probability", "xtc_threshold")


@dataclass(frozen=True)
class ServerSpec:
    """A serving engine to generate with. ``api`` "auto" is detected on first contact;
    ``model`` names the server's model where it serves several (vLLM, Ollama);
    ``api_key_env`` names the environment variable holding the key (never the key)."""

    url: str
    api: str = "auto"
    model: str = ""
    api_key_env: str = ""
    connect_timeout_s: float = 5.0
    read_timeout_s: float = 300.0  # the longest silence allowed (a long prompt's first token)
    retries: int = 3

    def __post_init__(self) -> None:
        object.__setattr__(self, "url", validate_url(self.url))
        object.__setattr__(self, "api", parse_api(self.api))
        if self.api_key_env and not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]{0,127}",
                                                 self.api_key_env):
            raise UsageError(f"--api-key-env must name an environment variable, got "
                             f"{self.api_key_env!r}")
        if not isinstance(self.model, str) or len(self.model) > 512 or any(
                ord(c) < 32 for c in self.model):
            raise UsageError("the server's model name must be one line of at most 512 "
                             "characters")
        if not 0 <= int(self.retries) <= 10:
            raise UsageError("retries must be 0 to 10")

    @property
    def label(self) -> str:
        where = urlsplit(self.url).netloc
        return f"{self.model} on {where}" if self.model else where

    def to_json(self) -> dict[str, Any]:
        return {"url": self.url, "api": self.api, "model": self.model,
                "api_key_env": self.api_key_env}


def parse_api(value: str) -> str:
    v = str(value).strip().lower()
    v = {"llamacpp": "llama.cpp", "llama-cpp": "llama.cpp", "vllm": "openai"}.get(v, v)
    if v not in API_CHOICES:
        raise UsageError(f"unknown server API {value!r}; choose {', '.join(API_CHOICES)}")
    return v


def validate_url(text: str) -> str:
    """The server URL normalised (no trailing slash, no trailing ``/v1``); raises UsageError
    with one line for anything that is not a plain http(s) URL of a host."""
    if not isinstance(text, str) or not text.strip():
        raise UsageError("the server URL is empty; give one like http://127.0.0.1:8080")
    url = text.strip()
    if len(url) > _MAX_URL or any(ord(c) < 33 or ord(c) == 127 for c in url):
        raise UsageError("the server URL must be one line without spaces or control characters")
    if "://" not in url:
        url = "http://" + url
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as exc:
        raise UsageError(f"the server URL {text!r} is not valid: {exc}") from None
    if parts.scheme not in ("http", "https"):
        raise UsageError(f"the server URL must start with http:// or https://, got "
                         f"{parts.scheme}://")
    if not parts.hostname:
        raise UsageError(f"the server URL {text!r} names no host")
    if parts.username is not None or parts.password is not None:
        raise UsageError("do not put credentials in the server URL; put the API key in an "
                         "environment variable and pass --api-key-env NAME")
    if parts.query or parts.fragment:
        raise UsageError("the server URL must not have a query (?…) or fragment (#…)")
    if port == 0:
        raise UsageError("the server URL's port must be 1 to 65535")
    path = parts.path.rstrip("/")
    if path.endswith("/v1"):  # "http://host:8000/v1" is how OpenAI clients are configured
        path = path[:-3]
    return f"{parts.scheme}://{parts.netloc}{path}"


def is_local(url: str) -> bool:
    """Whether ``url`` points at this machine (loopback), where plain http is harmless."""
    host = (urlsplit(url).hostname or "").lower()
    if host == "localhost" or host.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


_WARNED: set[str] = set()


def plain_http_warning(url: str) -> str | None:
    """A one-time warning for ``http://`` to another machine (once per host and process)."""
    parts = urlsplit(url)
    if parts.scheme != "http" or is_local(url) or parts.netloc in _WARNED:
        return None
    _WARNED.add(parts.netloc)
    return (f"warning: {parts.netloc} is reached over plain http://, so the text (and any API "
            f"key) crosses the network unencrypted; use https:// or an SSH tunnel "
            f"(docs/serving.md)")


def read_api_key(spec: ServerSpec) -> str | None:
    """The API key: from the environment variable the spec names, else the system keyring
    (``keyring``, optional; service "reverie", user = the URL), else None. Never logged."""
    if spec.api_key_env:
        value = os.environ.get(spec.api_key_env)
        if not value:
            raise UsageError(f"the environment variable {spec.api_key_env} (--api-key-env) is "
                             f"not set or empty")
        return value.strip()
    try:
        import keyring  # noqa: PLC0415 - optional dependency
    except ImportError:
        return None
    try:
        value = keyring.get_password(KEYRING_SERVICE, spec.url)
    except Exception:  # noqa: BLE001 - no keyring back end (headless): no key, not a failure
        return None
    return value or None


# --- settings ------------------------------------------------------------------------------

@dataclass(frozen=True)
class MappedSettings:
    """The sampler parameters under the server's names, and what could not be sent."""

    params: dict[str, Any]
    unsupported: tuple[tuple[str, Any, str], ...]  # (setting, value, reason)

    def report(self) -> dict[str, Any]:
        return {"sent": dict(self.params),
                "unsupported": [{"setting": n, "value": v, "reason": r}
                                for n, v, r in self.unsupported]}


def unsupported_settings(api: str) -> dict[str, str]:
    """Every Reverie setting the API has no equivalent for -> why (for the room's controls)."""
    names = _NAMES[api]
    out = {}
    for field in SamplerSettings.__dataclass_fields__:
        if field not in names:
            out[field] = _reason(field)
    return out


def _reason(field: str) -> str:
    if field in _DRY:
        return _NOT_SUPPORTED["dry"]
    if field in _XTC:
        return _NOT_SUPPORTED["xtc"]
    return _NOT_SUPPORTED.get(field, "no equivalent parameter")


def _active(field: str, s: SamplerSettings) -> bool:
    """Whether a setting changes anything (a neutral value not sent loses nothing)."""
    stages = s.enabled_stages()
    if field in _DRY:
        return "dry" in stages
    if field in _XTC:
        return "xtc" in stages
    if field == "typical_p":
        return "typical_p" in stages
    if field == "repeat_last_n":
        return "penalties" in stages and s.repeat_last_n not in (-1,)
    if field == "order":
        return tuple(s.order) != DEFAULT_ORDER
    return False


def map_settings(settings: SamplerSettings, api: str, *, context: int | None = None
                 ) -> MappedSettings:
    """``settings`` under ``api``'s parameter names. ``context`` (the server's context size)
    stands in for Reverie's "-1 = the whole history" windows, which llama.cpp refuses."""
    if api not in APIS:
        raise ValueError(f"unknown API {api!r}")
    s = settings
    names = _NAMES[api]
    params: dict[str, Any] = {}
    unsupported = []
    for field in SamplerSettings.__dataclass_fields__:
        value = getattr(s, field)
        if field not in names:
            if _active(field, s):
                unsupported.append((field, _json_value(value), _reason(field)))
            continue
        if field == "seed":
            if value is None:
                continue
            if value >= 2**32:
                raise UsageError(f"serving engines take 32-bit seeds (0 to {2**32 - 1}); got "
                                 f"{value}")
        elif field == "order":
            value = [_LLAMA_SAMPLERS[n] for n in value]
        elif field in ("repeat_last_n", "dry_penalty_last_n") and value == -1:
            value = context if context else 4096
        elif field == "top_p":
            value = min(float(value), 1.0)
        elif field == "dry_sequence_breakers":
            value = list(value)
        elif field == "temperature" and "temperature" not in s.order:
            value = 1.0  # the stage left out of the order is off
        params[names[field]] = value
    return MappedSettings(params, tuple(unsupported))


def _json_value(value: Any) -> Any:
    return list(value) if isinstance(value, tuple) else value
