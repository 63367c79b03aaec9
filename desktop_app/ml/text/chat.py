"""Chat templates: wrap a user instruction the way an instruction-tuned model was trained to see it.

The template is the Jinja2 ``chat_template`` of the folder's ``tokenizer_config.json``,
rendered in an immutable *sandboxed* environment (a template from a model hub is untrusted
code) with the globals Hugging Face provides: ``raise_exception``, ``strftime_now``, a
``tojson`` filter that does not HTML-escape, ``bos_token`` / ``eos_token``, and
``add_generation_prompt=True`` so the text ends where the assistant's answer begins.
Reference: ``transformers/utils/chat_template_utils.py``.
"""

from __future__ import annotations

import json
from datetime import datetime
from functools import lru_cache

import jinja2
import jinja2.ext
from jinja2.sandbox import ImmutableSandboxedEnvironment

from desktop_app.core.errors import ReverieError


def _raise_exception(message):
    raise jinja2.exceptions.TemplateError(message)


def _tojson(x, ensure_ascii=False, indent=None, separators=None, sort_keys=False):
    return json.dumps(x, ensure_ascii=ensure_ascii, indent=indent, separators=separators,
                      sort_keys=sort_keys)


def _strftime_now(fmt):
    return datetime.now().strftime(fmt)


class _Namespace(jinja2.utils.Namespace):
    """``namespace()`` that refuses underscore names (no reaching CPython internals)."""

    def __init__(*args, **kwargs):  # noqa: N805 - mirrors jinja2.utils.Namespace
        self, args = args[0], args[1:]
        attrs = dict(*args, **kwargs)
        for name in attrs:
            _Namespace._check(name)
        jinja2.utils.Namespace.__init__(self, attrs)

    def __setitem__(self, name, value):
        _Namespace._check(name)
        jinja2.utils.Namespace.__setitem__(self, name, value)

    @staticmethod
    def _check(name):
        if isinstance(name, str) and name.startswith("_"):
            raise jinja2.exceptions.SecurityError(f"chat templates cannot set {name!r}")


@lru_cache(maxsize=8)
def _compile(template: str) -> jinja2.Template:
    env = ImmutableSandboxedEnvironment(trim_blocks=True, lstrip_blocks=True,
                                        extensions=[jinja2.ext.loopcontrols])
    env.filters["tojson"] = _tojson
    env.globals["raise_exception"] = _raise_exception
    env.globals["strftime_now"] = _strftime_now
    env.globals["namespace"] = _Namespace
    return env.from_string(template)


def render_chat(template: str, user: str, *, system: str | None = None,
                special_tokens: dict[str, str] | None = None,
                add_generation_prompt: bool = True) -> str:
    """The prompt text for one user message (and an optional system message)."""
    messages = ([{"role": "system", "content": system}] if system else []) + [
        {"role": "user", "content": user}]
    tokens = special_tokens or {}
    try:
        return _compile(template).render(
            messages=messages, add_generation_prompt=add_generation_prompt, tools=None,
            bos_token=tokens.get("bos_token", ""), eos_token=tokens.get("eos_token", ""),
            pad_token=tokens.get("pad_token", ""), unk_token=tokens.get("unk_token", ""))
    except jinja2.exceptions.SecurityError as exc:
        raise ReverieError(f"the model's chat template tried something unsafe and was "
                           f"stopped: {exc}") from None
    except jinja2.exceptions.TemplateError as exc:
        raise ReverieError(f"the model's chat template failed: {exc}") from None
