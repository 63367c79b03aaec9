"""What the Train room can start: size presets per medium, and the exact command line for a run.

Qt-free (the room, the tests and ``benchmarks/bench_train_room.py`` share it). Each preset maps
to options of the real ``reverie train text|image|music`` commands; the seconds per step are
measured on the 2-core development CPU with ``benchmarks/bench_train_room.py`` (one torch thread,
the machine otherwise busy: other jobs shared its two cores, so these are on the slow side),
so the room's time estimate is ``steps x seconds_per_step``. Measured 2026-11-29 with
``--steps 4``: text tiny 2.13 s (1,924 tokens/s), small 7.88 s (520 tokens/s), base 51.6 s
(76 tokens/s); image 28x28 0.36 s (177 images/s), 64x64 1.10 s (61 images/s); melody tiny
0.09 s, small 1.37 s (3,845 tokens/s).
"""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass
from pathlib import Path

from desktop_app.commands.train_text_lora import (DEFAULT_BATCH, DEFAULT_CONTEXT,
                                                   ONE_THREAD_TOKENS_PER_S, REFERENCE_PARAMETERS,
                                                   default_steps)
from desktop_app.core import paths
from desktop_app.core.cpu_features import cpu_has_bf16
from desktop_app.core.errors import ReverieError
from desktop_app.core.untrusted import read_json


@dataclass(frozen=True)
class Preset:
    label: str
    parameters: int               # with the preset's default vocabulary (text: BPE size)
    seconds_per_step: float       # measured, see the module docstring
    default_steps: int
    size_args: tuple[str, ...]    # the command options that pick the size
    note: str = ""


#: kind -> size name -> Preset. Kinds are the models/<kind>/ folder names.
PRESETS: dict[str, dict[str, Preset]] = {
    "text": {
        "tiny": Preset("tiny", 4_212_992, 2.13, 1000, ("--size", "tiny")),
        "small": Preset("small", 13_767_552, 7.9, 1000, ("--size", "small")),
        "base": Preset("base", 29_893_120, 51.6, 1000, ("--size", "base"),
                       note="a GPU, or a night on this CPU"),
    },
    "image": {
        "small": Preset("small: 28x28 greyscale", 728_001, 0.36, 1000, ("--size", "28")),
        "base": Preset("base: 64x64 colour", 3_132_483, 1.1, 1000, ("--size", "64")),
    },
    "music": {
        "tiny": Preset("tiny", 30_848, 0.09, 1000, ("--size", "test")),
        "small": Preset("small", 839_424, 1.37, 1000, ("--size", "small")),
    },
}

#: LoRA fine-tuning of a built-in writing model (``train text --lora``): tokens per step (the
#: command's default windows of 512 a step) and the training rate the command itself expects
#: (``train_text_lora.ONE_THREAD_TOKENS_PER_S``: the default adapters on SmolLM2-135M, one
#: thread, measured with ``benchmarks/bench_finetune.py``; one thread is the least the room's
#: run uses: it takes every core while the app is idle, so there it is faster than estimated),
#: taken down by LORA_APP_SHARE for the app and whatever else shares the CPU. The bf16 figure
#: is the two-window step recomputed in backward (a Xeon with AMX): the one-window step was not
#: measured there, so that estimate errs long. Other bases scale by their parameter count.
LORA_TOKENS_PER_STEP = DEFAULT_BATCH * DEFAULT_CONTEXT
LORA_APP_SHARE = 0.85
LORA_TOKENS_PER_S = {bf16: rate * LORA_APP_SHARE      # by "the CPU multiplies bf16"
                     for bf16, rate in ONE_THREAD_TOKENS_PER_S.items()}
LORA_REFERENCE_PARAMETERS = REFERENCE_PARAMETERS
LORA_DEFAULT_STEPS = 40          # until the data check has measured the text
#: SmolLM2's tokenizer on English prose: 4.07 bytes a token (Eight Cousins, 356,822 bytes in
#: 87,701 tokens); the room sizes the steps from the checked text's bytes with it until the
#: background check has counted the tokens with the base's own tokenizer.
LORA_BYTES_PER_TOKEN = 4.07
#: A fine-tune's time limit in the room unless the person sets another (``--max-minutes``):
#: with a novel's worth of text the command's four passes would take an hour on one core.
LORA_DEFAULT_MINUTES = 15
#: A LoRA run's held-out evaluations: before the first step and six more, each scoring at most
#: the command's EVAL_MAX_BYTES (commands/train_text_lora.py) of the held-out text, in float32
#: at 2,048 tokens: 8.2 ms a token on one core (`reverie eval text` on 40 kB of Alcott, 9,885
#: tokens in 81 s, 2026-12-07), about 4 bytes a token for English prose.
LORA_EVALS = 7
LORA_EVAL_MAX_BYTES = 12_000
LORA_EVAL_S_PER_BYTE = 0.0082 / 4
BUILTIN_WRITER = paths.WRITING_MODEL

KIND_LABELS = {"text": "Text (writing)", "image": "Image", "music": "Melody"}
#: The trainers that take ``--max-minutes`` (the melody trainer has no time budget).
TIME_LIMIT_KINDS = ("text", "image")
UNITS = {"text": "tokens/s", "image": "images/s", "music": "tokens/s"}
#: What the folder field asks for, by kind (core/text_files.py reads documents as their words).
DATA_HINTS = {"text": "a folder or a file of your writing: .txt, .md, .docx, .doc, .odt, .rtf, "
                      ".epub, .html, .fdx, .reverie",
              "image": "a folder of pictures: PNG, JPEG, WebP…",
              "music": "a folder of melodies: .mid files"}


def human_count(n: int) -> str:
    for limit, suffix in ((1e6, "M"), (1e3, "K")):
        if n >= limit:
            return f"{n / limit:.1f}{suffix}"
    return str(n)


def human_time(seconds: float) -> str:
    s = int(round(seconds))
    if s < 90:
        return f"{s} s"
    if s < 5400:
        return f"{round(s / 60)} min"
    return f"{s / 3600:.1f} h"


def estimate(kind: str, size: str, steps: int) -> str:
    """'about 35 min on this computer' for a preset and a number of steps."""
    p = PRESETS[kind][size]
    return f"about {human_time(p.seconds_per_step * steps)} on a 2-core CPU"


def intervals(steps: int) -> dict[str, int]:
    """How often to log, evaluate, sample and checkpoint for a run of ``steps`` steps."""
    return {"log": max(1, min(10, steps // 100)), "eval": max(1, steps // 20),
            "sample": max(1, steps // 10), "checkpoint": max(1, min(200, steps // 10))}


def train_threads() -> tuple[int, int]:
    """(threads while the app is idle, threads while it works): every core, and one less so
    the app's generations keep theirs (commands/core_sharing.py; the room sends the signals)."""
    cores = max(1, os.cpu_count() or 2)
    return cores, max(1, cores - 1)


def lora_eval_seconds(heldout_bytes: int, parameters: int | None) -> float:
    """The held-out evaluations of a LoRA run, in seconds (scaled by the base's size)."""
    n = parameters or LORA_REFERENCE_PARAMETERS
    return (LORA_EVALS * min(heldout_bytes, LORA_EVAL_MAX_BYTES) * LORA_EVAL_S_PER_BYTE
            * n / LORA_REFERENCE_PARAMETERS)


def lora_seconds_per_step(parameters: int | None) -> float:
    n = parameters or LORA_REFERENCE_PARAMETERS
    rate = LORA_TOKENS_PER_S[cpu_has_bf16()]
    return LORA_TOKENS_PER_STEP / rate * n / LORA_REFERENCE_PARAMETERS


def lora_steps_for(train_bytes: int, train_tokens: int = 0) -> int:
    """The command's own default for this much training text: about four passes over it
    (``train_text_lora.default_steps``), from its tokens when counted, else its bytes."""
    tokens = train_tokens or round(train_bytes / LORA_BYTES_PER_TOKEN)
    return default_steps(tokens, LORA_TOKENS_PER_STEP)


def command_args(kind: str, size: str | None, *, data: str | None, out: str, steps: int,
                 resume: bool = False, init_from: str | None = None,
                 progress_every: int | None = None, extra: tuple[str, ...] = (),
                 lora: bool = False, max_minutes: float = 0.0) -> list[str]:
    """The options after ``reverie train <kind>`` for one run (JSON progress on stdout)."""
    every = intervals(steps)
    if lora:  # a float32 held-out evaluation costs several steps: six a run (the best is kept)
        every["eval"] = max(1, steps // 6)
    if progress_every:
        every["log"] = progress_every
    args: list[str] = []
    if kind == "music":
        args += ["--model", paths.MELODY_MODEL]
    if data:
        args += ["--data", data]
    args += ["--out", out]
    if init_from:
        args += ["--init-from", init_from] + (["--lora"] if lora else [])
    elif size:
        args += list(PRESETS[kind][size].size_args)
    args += ["--steps", str(steps), "--eval-every", str(every["eval"]),
             "--checkpoint-every", str(every["checkpoint"])]
    args += ["--progress", "json"]
    if kind != "image":          # image training logs and samples at each --eval-every
        args += ["--log-every", str(every["log"]), "--sample-every", str(every["sample"])]
    idle, busy = train_threads()
    args += ["--threads", str(idle)] + (["--busy-threads", str(busy)] if busy < idle else [])
    if max_minutes > 0 and kind in TIME_LIMIT_KINDS:
        args += ["--max-minutes", f"{max_minutes:g}"]
    if resume:
        args += ["--resume"]
    return args + list(extra)


def full_command(kind: str, args: list[str]) -> list[str]:
    """The whole argv the room runs (``python -m desktop_app train <kind> ...``)."""
    return [sys.executable, "-m", "desktop_app", "train", kind, *args]


def shell_line(kind: str, args: list[str]) -> str:
    """The command as a user would type it (``reverie train ...``), shell-quoted."""
    import shlex
    return shlex.join(["reverie", "train", kind, *args])


def display_lines(line: str) -> str:
    """A long command shown with one ``--option value`` per line (shell continuation)."""
    parts = line.split(" --")
    return " \\\n  --".join(parts)


def adapter_base(m, models):
    """The installed base (a ``ModelInfo`` of ``models``) of the adapter ``m``; None when
    ``m`` is not an adapter or its base is not installed (then it cannot be trained further
    here)."""
    config = Path(m.path) / "adapter_config.json"
    if not config.is_file():
        return None
    try:
        ref = read_json(config).get("base_model_name_or_path")   # bounded: size, nesting
    except (OSError, ValueError, AttributeError, ReverieError):
        return None
    if not isinstance(ref, str) or not ref.strip():
        return None
    path = Path(ref).expanduser()
    if not path.is_absolute():
        path = Path(m.path) / path
    return next((b for b in models if not (Path(b.path) / "adapter_config.json").is_file()
                 and (ref == b.name or path == Path(b.path))), None)
