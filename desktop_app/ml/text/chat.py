"""Chat templates: wrap a user instruction the way an instruction-tuned model was trained to see it.

The template is the Jinja2 ``chat_template`` of the folder's ``tokenizer_config.json``,
rendered in an immutable *sandboxed* environment (a template from a model hub is untrusted
code) with the globals Hugging Face provides: ``raise_exception``, ``strftime_now``, a
``tojson`` filter that does not HTML-escape, ``bos_token`` / ``eos_token``, and
``add_generation_prompt=True`` so the text ends where the assistant's answer begins.
Reference: ``transformers/utils/chat_template_utils.py``.

The sandbox stops unsafe *operations*, not unbounded *work*: ``{{ 'a' * 100000000 }}`` or
nested ``range(100000)`` loops would fill the memory. :class:`_BoundedEnvironment` bounds
them: every string or list an operator, ``~``, a call or a filter makes is at most
:data:`MAX_TEXT` long, no call or filter takes a number above it (``center(10**9)``), all
``range()`` calls of one render together yield at most :data:`MAX_RANGE_TOTAL` numbers, and the
rendered prompt is streamed and stopped at :data:`MAX_OUTPUT` characters.
"""

from __future__ import annotations

import contextvars
import functools
import json
import re
from datetime import datetime
from functools import lru_cache

import jinja2
import jinja2.ext
from jinja2.compiler import CodeGenerator
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


#: Longest string or list one template operation may make (real prompts are kilobytes).
MAX_TEXT = 1_000_000
#: Longest rendered prompt.
MAX_OUTPUT = 4_000_000
#: Numbers all ``range()`` calls of one render may yield together (nested loops included).
MAX_RANGE_TOTAL = 100_000
_range_budget: contextvars.ContextVar[list[int]] = contextvars.ContextVar("range_budget")
_HUGE_WIDTH = re.compile(r"(%[-+ #0]*(\d{7,}|\*))|(\{[^{}]*\d{7,}[^{}]*\})")


def _too_big(value) -> bool:
    return isinstance(value, (str, list, tuple, bytes)) and len(value) > MAX_TEXT


def _limit(what: str):
    raise jinja2.exceptions.SecurityError(f"{what} exceeds the template limits "
                                          f"(at most {MAX_TEXT:,} characters or items)")


def _check_args(args, kwargs) -> None:
    for a in (*args, *kwargs.values()):
        if isinstance(a, int) and not isinstance(a, bool) and abs(a) > MAX_TEXT:
            _limit(f"the number {a}")
        if isinstance(a, str) and _HUGE_WIDTH.search(a):
            _limit("a format width")


def _bounded_range(*args):
    rng = range(*args)
    budget = _range_budget.get(None)
    if budget is not None:
        budget[0] -= len(rng)
        if budget[0] < 0:
            raise jinja2.exceptions.SecurityError(
                f"the template's loops exceed {MAX_RANGE_TOTAL:,} iterations")
    return rng


def _bounded_filter(func):
    @functools.wraps(func)  # keeps jinja's pass_context / pass_environment marker
    def wrapper(*args, **kwargs):
        _check_args(args, kwargs)
        out = func(*args, **kwargs)
        if _too_big(out):
            _limit(f"the result of the filter {func.__name__}")
        return out
    return wrapper


class _BoundedCodeGenerator(CodeGenerator):
    def visit_Concat(self, node, frame) -> None:  # noqa: N802 - jinja's visitor name
        # ``a ~ b``: joined through the environment so its length is checked
        self.write("environment.bounded_join((")
        for arg in node.nodes:
            self.visit(arg, frame)
            self.write(", ")
        self.write("))")


class _BoundedEnvironment(ImmutableSandboxedEnvironment):
    intercepted_binops = frozenset({"*", "+", "**"})
    code_generator_class = _BoundedCodeGenerator

    def call_binop(self, context, operator, left, right):
        if operator == "*":
            for seq, n in ((left, right), (right, left)):
                if isinstance(seq, (str, list, tuple)) and isinstance(n, int) and (
                        len(seq) * n > MAX_TEXT):
                    _limit("a repeated string or list")
        elif operator == "**" and isinstance(right, (int, float)) and abs(right) > 64:
            _limit(f"the power {right}")
        elif operator == "+" and isinstance(left, (str, list, tuple)) and isinstance(
                right, (str, list, tuple)) and len(left) + len(right) > MAX_TEXT:
            _limit("a joined string or list")
        return super().call_binop(context, operator, left, right)

    def call(__self, __context, __obj, *args, **kwargs):  # noqa: N805 - jinja's signature
        bound = getattr(__obj, "__wrapped__", __obj)  # the sandbox wraps str.format
        _check_args((*args, getattr(bound, "__self__", None)), kwargs)  # "fmt".format(...)
        out = super().call(__context, __obj, *args, **kwargs)
        if _too_big(out):
            _limit(f"the result of {getattr(__obj, '__name__', 'a call')}")
        return out

    @staticmethod
    def bounded_join(parts) -> str:
        if sum(len(p) if isinstance(p, str) else 0 for p in parts) > MAX_TEXT:
            _limit("a joined string")
        text = "".join(map(str, parts))
        if len(text) > MAX_TEXT:
            _limit("a joined string")
        return text


@lru_cache(maxsize=8)
def _compile(template: str) -> jinja2.Template:
    env = _BoundedEnvironment(trim_blocks=True, lstrip_blocks=True,
                              extensions=[jinja2.ext.loopcontrols])
    env.filters = {name: _bounded_filter(f) for name, f in env.filters.items()}
    env.globals["range"] = _bounded_range
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
    budget = _range_budget.set([MAX_RANGE_TOTAL])
    try:
        chunks, size = [], 0
        for chunk in _compile(template).generate(
                messages=messages, add_generation_prompt=add_generation_prompt, tools=None,
                bos_token=tokens.get("bos_token", ""), eos_token=tokens.get("eos_token", ""),
                pad_token=tokens.get("pad_token", ""), unk_token=tokens.get("unk_token", "")):
            size += len(chunk)
            if size > MAX_OUTPUT:
                raise jinja2.exceptions.SecurityError(
                    f"its output exceeds {MAX_OUTPUT:,} characters")
            chunks.append(chunk)
        return "".join(chunks)
    except jinja2.exceptions.SecurityError as exc:
        raise ReverieError(f"the model's chat template tried something unsafe and was "
                           f"stopped: {exc}") from None
    except jinja2.exceptions.TemplateError as exc:
        raise ReverieError(f"the model's chat template failed: {exc}") from None
    finally:
        _range_budget.reset(budget)
