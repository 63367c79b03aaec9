"""What the CPU can do natively, read once from the operating system (no torch needed).

Why it matters: bfloat16 matrix products are fast only where the CPU has bf16 matrix units
(AVX512-BF16 or AMX). Elsewhere — every AVX2 laptop, AMD before Zen 4 — oneDNN emulates them,
and a product of many rows (a prompt, a training step) runs 5-9x slower than the same product
in float32 (measured on a 2-core AMD EPYC with AVX2 only: SmolLM2's 1536x576 projection on 128
rows, 23.4 ms in bf16 against 3.3 ms in float32). The training command and the decoders read
this to choose their products' type.
"""

from __future__ import annotations

import functools
from pathlib import Path


@functools.lru_cache(maxsize=1)
def cpu_has_bf16() -> bool:
    """True where the CPU multiplies bf16 natively (AVX512-BF16 or AMX). Read once: the
    answer cannot change while the program runs. False where it cannot be read (no
    ``/proc/cpuinfo``): float32 is never the slow choice."""
    return _flags_say_bf16(_read_cpuinfo())


def _read_cpuinfo(path: str = "/proc/cpuinfo") -> str:
    try:
        return Path(path).read_text(errors="replace")
    except OSError:
        return ""


def _flags_say_bf16(cpuinfo: str) -> bool:
    for line in cpuinfo.splitlines():
        if line.startswith("flags"):
            flags = set(line.partition(":")[2].split())
            return bool(flags & {"avx512_bf16", "amx_bf16"})
    return False
