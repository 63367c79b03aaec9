"""Bounded argparse types shared by every ``reverie`` command: use them for EVERY option.

Why: an option with no range is a crash waiting for a typo (``--threads 100000`` segfaulted
inside OpenMP, ``--top-p 7`` was accepted silently, ``--lr nan`` trained a model of NaNs).
Checking in the parser means a bad value never reaches the code that allocates, and the user
gets argparse's usage line plus one ``error:`` line with exit status 2 — never a traceback.

How to use (each factory returns a function for ``add_argument(type=...)``)::

    from desktop_app.commands import options as opt
    p.add_argument("--steps", type=opt.int_in(1, 10_000_000), default=2000)
    p.add_argument("--lr", type=opt.float_in(0, 10, above=True), default=2e-3)
    p.add_argument("--top-p", type=opt.PROBABILITY, default=1.0)
    p.add_argument("--threads", type=opt.THREADS, default=None)
    p.add_argument("--seed", type=opt.SEED, default=None)
    p.add_argument("--prompt", type=opt.text)                   # valid UTF-8 only
    p.add_argument("--data", type=opt.existing_dir)             # -> Path
    p.add_argument("--model", type=opt.existing_file)           # -> Path
    p.add_argument("--out", type=opt.output_dir)                # folder: not an existing file
    p.add_argument("--output", type=opt.output_file)            # file: not an existing folder
    p.add_argument("--device", type=opt.device)                 # cpu | cuda | cuda:N | mps

Rules: integers are written as integers (``"1e3"`` is refused for a count); floats must be
finite (``nan``/``inf`` refused); every numeric type has BOTH bounds, so pick an honest upper
limit (what the code can allocate or what makes sense), not "no limit". Defaults are not
passed through the type (argparse only converts strings), so keep them inside the range.
Paths come back as :class:`pathlib.Path` with ``~`` expanded. This module never imports
torch at import time (``device`` imports it only when a CUDA device is named).
"""

from __future__ import annotations

import argparse
import math
import re
from pathlib import Path
from typing import Callable

#: Most CPU threads any command accepts. Far above any desktop's core count, far below the
#: values that crash OpenMP (``--threads 100000`` segfaulted).
MAX_THREADS = 256


def int_in(lo: int, hi: int) -> Callable[[str], int]:
    """A whole number with ``lo <= n <= hi``."""
    rule = f"a whole number from {lo} to {hi}"

    def parse(text: str) -> int:
        try:
            value = int(text.strip().replace("_", ""), 10)
        except (ValueError, AttributeError):
            raise argparse.ArgumentTypeError(f"must be {rule}, not {text!r}") from None
        if not lo <= value <= hi:
            raise argparse.ArgumentTypeError(f"must be {rule}, not {text!r}")
        return value

    parse.__name__ = f"int_in({lo}, {hi})"
    parse.bounds = (lo, hi)  # type: ignore[attr-defined]  # read by the range tests
    return parse


def float_in(lo: float, hi: float, *, above: bool = False) -> Callable[[str], float]:
    """A finite number with ``lo <= x <= hi`` (``lo < x`` when ``above``); NaN/inf refused."""
    rule = f"a number {'above' if above else 'from'} {lo:g} {'and at most' if above else 'to'} {hi:g}"

    def parse(text: str) -> float:
        try:
            value = float(text)
        except (ValueError, TypeError):
            raise argparse.ArgumentTypeError(f"must be {rule}, not {text!r}") from None
        ok = math.isfinite(value) and (lo < value if above else lo <= value) and value <= hi
        if not ok:
            raise argparse.ArgumentTypeError(f"must be {rule}, not {text!r}")
        return value

    parse.__name__ = f"float_in({lo}, {hi})"
    parse.bounds = (lo, hi)  # type: ignore[attr-defined]
    return parse


#: A probability or fraction: 0 to 1.
PROBABILITY = float_in(0.0, 1.0)
#: CPU threads: 1 to :data:`MAX_THREADS`.
THREADS = int_in(1, MAX_THREADS)
#: A random seed: what numpy and torch both accept (0 to 2**64 - 1).
SEED = int_in(0, 2**64 - 1)
#: A sampling temperature: 0 (greedy) to 10 (already noise).
TEMPERATURE = float_in(0.0, 10.0)
#: Nearest-neighbour enlargement of a written image.
SCALE = int_in(1, 16)
#: A General MIDI program number.
MIDI_PROGRAM = int_in(0, 127)


def text(value: str) -> str:
    """Text that is valid UTF-8. Bytes that are not UTF-8 arrive from the command line as lone
    surrogates (Python's surrogateescape) and would crash the tokenizer or a file write."""
    try:
        value.encode("utf-8")
    except UnicodeEncodeError as exc:
        raise argparse.ArgumentTypeError(
            f"is not valid UTF-8 text (bad byte at character {exc.start + 1})") from None
    return value


def _path(value: str) -> Path:
    return Path(text(value)).expanduser()


def existing_file(value: str) -> Path:
    """A file that exists (not a folder)."""
    path = _path(value)
    if path.is_dir():
        raise argparse.ArgumentTypeError(f"{value} is a folder; a file is needed here")
    if not path.is_file():
        raise argparse.ArgumentTypeError(f"{value}: no such file")
    return path


def existing_dir(value: str) -> Path:
    """A folder that exists (not a file)."""
    path = _path(value)
    if path.is_file():
        raise argparse.ArgumentTypeError(f"{value} is a file; a folder is needed here")
    if not path.is_dir():
        raise argparse.ArgumentTypeError(f"{value}: no such folder")
    return path


def existing_path(value: str) -> Path:
    """A file or folder that exists."""
    path = _path(value)
    if not path.exists():
        raise argparse.ArgumentTypeError(f"{value}: no such file or folder")
    return path


def output_dir(value: str) -> Path:
    """A folder to write into: it may not exist yet, but must not be an existing file."""
    path = _path(value)
    if path.exists() and not path.is_dir():
        raise argparse.ArgumentTypeError(f"{value} is an existing file; a folder is needed here")
    return path


def output_file(value: str) -> Path:
    """A file to write: it may exist (it is replaced), but must not be an existing folder, and
    its parent must not be a file."""
    path = _path(value)
    if path.is_dir():
        raise argparse.ArgumentTypeError(f"{value} is a folder; a file name is needed here")
    for parent in path.parents:
        if parent.exists():
            if not parent.is_dir():
                raise argparse.ArgumentTypeError(f"{value}: {parent} is a file, not a folder")
            break
    return path


_DEVICE = re.compile(r"^(cpu|mps|cuda)(?::(\d{1,3}))?$")


def device(value: str) -> str:
    """``cpu``, ``cuda``, ``cuda:N`` or ``mps``, and it must exist on this machine."""
    m = _DEVICE.match(value.strip().lower())
    if not m or (m.group(2) is not None and m.group(1) != "cuda"):
        raise argparse.ArgumentTypeError(f"must be cpu, cuda, cuda:N or mps, not {value!r}")
    kind, index = m.group(1), m.group(2)
    if kind == "cpu":
        return "cpu"
    import torch  # only here: naming a GPU is rare, and torch is slow to import

    if kind == "mps":
        if not (getattr(torch.backends, "mps", None) and torch.backends.mps.is_available()):
            raise argparse.ArgumentTypeError("mps is not available on this machine")
        return "mps"
    count = torch.cuda.device_count() if torch.cuda.is_available() else 0
    if count == 0:
        raise argparse.ArgumentTypeError(f"{value}: this machine has no CUDA GPU (use cpu)")
    if index is not None and int(index) >= count:
        raise argparse.ArgumentTypeError(
            f"{value}: this machine has {count} CUDA GPU(s), numbered 0 to {count - 1}")
    return m.group(0)
