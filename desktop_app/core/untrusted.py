"""Reading values from files Reverie did not write itself: bounded, typed, one clear sentence.

Every file the app reads — autosaves, session files, model configs and safetensors headers,
PNG metadata, MIDI — is untrusted: a hand edit, a crash or a hostile download can put a string
where a number belongs, ``1e308`` where a slider amount belongs, a 100 000-deep nesting in
JSON, or ``../elsewhere`` in a file name. These helpers are the one place that checks such
values, *before* anything is allocated from them, and raise
:class:`~desktop_app.core.errors.DataError` naming the file and the field:

* :func:`loads_json` / :func:`read_json` parse JSON with a size and nesting-depth bound
  (checked by a cheap scan first, so a deep file never reaches the recursive parser) and
  refuse ``NaN`` / ``Infinity`` (Python's json accepts them; nothing Reverie writes uses them).
* :func:`int_in`, :func:`float_in`, :func:`str_in`, :func:`choice` check one field's type and
  range; booleans never count as numbers, and numeric strings are not numbers.
* :func:`child_file` resolves a file name taken from a file inside a folder and refuses one that
  leaves it (``../x``, an absolute path, a symlink pointing out).

Pure Python (core: no Qt, no torch).
"""

from __future__ import annotations

import json
import math
import re
from pathlib import Path
from typing import Any

from desktop_app.core.errors import DataError

#: Deeper JSON than this is refused: nothing Reverie reads nests more than a few levels.
MAX_JSON_DEPTH = 64
#: Default size bound for small JSON files (configs, autosaves without documents).
MAX_JSON_BYTES = 16 * 1024 * 1024

_STRINGS = re.compile(r'"(?:[^"\\]|\\.)*"', re.DOTALL)
_BRACKETS = re.compile(r"[\[\]{}]")


def json_depth(text: str) -> int:
    """The deepest nesting of ``[`` / ``{`` in JSON ``text`` (strings skipped), without recursion."""
    depth = deepest = 0
    for match in _BRACKETS.finditer(_STRINGS.sub("", text)):
        if match.group() in "[{":
            depth += 1
            deepest = max(deepest, depth)
        else:
            depth -= 1
    return deepest


def _no_constant(name: str):
    raise ValueError(f"{name} is not a number JSON allows")


def loads_json(text: str | bytes, *, source: str, max_bytes: int = MAX_JSON_BYTES,
               max_depth: int = MAX_JSON_DEPTH) -> Any:
    """Parse untrusted JSON; DataError("<source> ...") when too large, too deep or invalid."""
    if len(text) > max_bytes:
        raise DataError(f"{source} is too large ({len(text) / 2**20:.1f} MB; at most "
                        f"{max_bytes / 2**20:.0f} MB)")
    if isinstance(text, bytes):
        try:
            text = text.decode("utf-8-sig")
        except UnicodeDecodeError as exc:
            raise DataError(f"{source} is not UTF-8 text (byte {exc.start} is invalid)") from None
    if json_depth(text) > max_depth:
        raise DataError(f"{source} nests deeper than {max_depth} levels; it is damaged")
    try:
        return json.loads(text, parse_constant=_no_constant)
    except json.JSONDecodeError as exc:
        raise DataError(f"{source} is damaged: {exc.msg} at line {exc.lineno}") from None
    except (ValueError, RecursionError) as exc:
        raise DataError(f"{source} is damaged: {exc}") from None


def read_json(path: str | Path, *, source: str | None = None, max_bytes: int = MAX_JSON_BYTES,
              max_depth: int = MAX_JSON_DEPTH) -> Any:
    """Read and parse a JSON file with :func:`loads_json`'s bounds (size checked before reading)."""
    path = Path(path)
    source = source or path.name
    try:
        size = path.stat().st_size
        if size > max_bytes:
            raise DataError(f"{source} is too large ({size / 2**20:.1f} MB; at most "
                            f"{max_bytes / 2**20:.0f} MB)")
        data = path.read_bytes()
    except OSError as exc:
        raise DataError(f"cannot read {source}: {exc.strerror or exc}") from None
    return loads_json(data, source=source, max_bytes=max_bytes, max_depth=max_depth)


def _where(source: str, name: str) -> str:
    return f"{source}: {name!r}" if source else repr(name)


def int_in(value: Any, name: str, lo: int, hi: int, *, source: str = "") -> int:
    """``value`` as an int in [lo, hi]; an integral float (``4.0``) is accepted, bool/str are not."""
    if isinstance(value, float) and math.isfinite(value) and value.is_integer():
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, int):
        raise DataError(f"{_where(source, name)} must be a whole number, not {_show(value)}")
    if not lo <= value <= hi:
        raise DataError(f"{_where(source, name)} is {value}; it must be {lo}-{hi}")
    return value


def float_in(value: Any, name: str, lo: float, hi: float, *, source: str = "") -> float:
    """``value`` as a finite float in [lo, hi] (ints accepted; bool, str, NaN, inf refused)."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise DataError(f"{_where(source, name)} must be a number, not {_show(value)}")
    value = float(value)
    if not math.isfinite(value) or not lo <= value <= hi:
        raise DataError(f"{_where(source, name)} is {value:g}; it must be {lo:g} to {hi:g}")
    return value


def str_in(value: Any, name: str, *, max_len: int = 4096, source: str = "") -> str:
    if not isinstance(value, str):
        raise DataError(f"{_where(source, name)} must be text, not {_show(value)}")
    if len(value) > max_len:
        raise DataError(f"{_where(source, name)} is {len(value)} characters; at most {max_len}")
    return value


def choice(value: Any, name: str, allowed, *, source: str = ""):
    if isinstance(value, bool) or value not in allowed:
        raise DataError(f"{_where(source, name)} is {_show(value)}; it must be one of "
                        f"{', '.join(map(str, allowed))}")
    return value


def _show(value: Any) -> str:
    text = repr(value) if not isinstance(value, (dict, list)) else type(value).__name__
    return text if len(text) <= 40 else text[:37] + "..."


def child_file(folder: str | Path, name: Any, *, source: str = "") -> Path:
    """``folder / name`` for a file name read from a file, refused if it leaves ``folder``."""
    name = str_in(name, "file name", max_len=255, source=source)
    folder = Path(folder)
    candidate = Path(name)
    if (not name or candidate.is_absolute() or ".." in candidate.parts or "\\" in name
            or "\0" in name):
        raise DataError(f"{source or folder.name} names the file {name!r}, which is outside "
                        f"the model folder; refusing it")
    path = folder / candidate
    try:
        inside = path.resolve().is_relative_to(folder.resolve())
    except (OSError, RuntimeError):
        inside = False
    if not inside:
        raise DataError(f"{source or folder.name} names the file {name!r}, which leads outside "
                        f"the model folder; refusing it")
    return path


#: Latent slider amounts are in standard deviations; the Imagine sliders span ±3.
MAX_AMOUNT_SIGMA = 3.0
MAX_AMOUNTS = 256


def slider_amounts(value: Any, *, source: str = "", limit: float = MAX_AMOUNT_SIGMA
                   ) -> dict[str, float]:
    """A ``{direction name: amount}`` dict from a file: names short text, amounts finite and
    within ±``limit`` (a PNG saying ``{"smile": 1e308}`` is refused before anything applies it)."""
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise DataError(f"{_where(source, 'amounts')} must be a mapping, not {_show(value)}")
    if len(value) > MAX_AMOUNTS:
        raise DataError(f"{_where(source, 'amounts')} has {len(value)} entries; at most "
                        f"{MAX_AMOUNTS}")
    return {str_in(k, "amount name", max_len=128, source=source):
            float_in(v, f"amount {k}", -limit, limit, source=source) for k, v in value.items()}


def check_sizes(values: dict[str, Any], bounds: dict[str, tuple[int, int]], *,
                source: str) -> None:
    """Check each ``name: value`` against ``bounds[name] = (lo, hi)`` with :func:`int_in`
    (a model config's sizes, before any layer is built from them); None values are skipped."""
    for name, (lo, hi) in bounds.items():
        if values.get(name) is not None:
            int_in(values[name], name, lo, hi, source=source)
