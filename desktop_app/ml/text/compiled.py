"""The decode step of a Llama-family model compiled by ``torch.compile``, built in the background.

One generated token of SmolLM2-135M at int4 is ~200 small torch ops in eager mode (norms,
rotary embeddings, casts, attention over the cache) around ~150 matrix products; the compiled
step fuses the small ops into a few C++ loops. Measured on a quiet 2-core AVX-512 Xeon, one
thread: 17.5 ms a token eager, 12 ms compiled (README, "Quantized text decode").

Compiling takes ~35 s the first time (~6 s once torch's on-disk caches are warm), so it never
happens on the thread that generates: :meth:`DecodeCompiler.start` (called after a model is
loaded) traces and compiles on a background thread, at the lowest CPU priority, by running the
step on a scratch cache; until :attr:`DecodeCompiler.ready`, generations keep the eager path.
Shapes are dynamic (cache length, position), so one compile serves every generation of batch
1 (variants decode in batches and stay eager). Inductor's caches live in Reverie's cache
folder (``$REVERIE_CACHE_DIR``, default ``~/.cache/reverie``) so the next start reuses them.

Switch: :func:`set_enabled` (Preferences → "Compile text models", ``--compile`` /
``--no-compile`` on the command line). Any compile failure leaves the eager path in place
and is logged once; a call that would recompile runs eagerly instead of compiling on the
generating thread.
"""

from __future__ import annotations

import logging
import os
import sys
import threading
import time
from pathlib import Path
from typing import Callable

import torch

log = logging.getLogger(__name__)

_ENABLED = [True]
#: held while a compile (trace + codegen) runs: compiled calls made meanwhile go eager, so
#: a compile never happens on a generating thread and never sees another thread's stance
_COMPILING = threading.Lock()


def set_enabled(on: bool) -> None:
    """Compile models loaded from now on (the Preferences / command-line switch)."""
    _ENABLED[0] = bool(on)


def enabled() -> bool:
    return _ENABLED[0] and os.environ.get("REVERIE_NO_COMPILE", "") in ("", "0")


def cache_dir() -> Path:
    base = os.environ.get("REVERIE_CACHE_DIR") or os.environ.get("XDG_CACHE_HOME") or str(
        Path.home() / ".cache")
    sub = "" if os.environ.get("REVERIE_CACHE_DIR") else "reverie"
    isa = torch.backends.cpu.get_cpu_capability().lower()  # code for one ISA never meets another
    return Path(base) / sub / "inductor" / f"torch-{torch.__version__}-{isa}"


def supported(model) -> bool:
    """Whether the model is a Llama-family decoder (the one this module compiles) and ATen
    runs at the CPU's own vector width: with ``ATEN_CPU_CAPABILITY`` forcing another one
    (e.g. avx2 on an AVX-512 CPU), the compiled int4 graph crashed (segfault), so that case
    stays eager."""
    if os.environ.get("ATEN_CPU_CAPABILITY"):
        return False
    return hasattr(model, "new_cache") and hasattr(model, "ensure_rope")


class DecodeCompiler:
    """Owns the compiled decode step of one model. ``step(ids (1,1), cache, pos)`` gives the
    last position's logits (1, V) through the compiled graph when ready, else ``None``."""

    def __init__(self, model, *, on_done: Callable[[str], None] | None = None) -> None:
        self.model = model
        self.state = "idle"  # idle | compiling | ready | failed
        self.error = ""
        self.compile_s = 0.0
        self._fn = None
        self._thread: threading.Thread | None = None
        self._on_done = on_done or (lambda state: None)

    @property
    def ready(self) -> bool:
        return self.state == "ready"

    def start(self, threads: int | None = None) -> bool:
        """Begin compiling on a background thread (once). False when switched off or not
        supported."""
        if self.state != "idle" or not enabled() or not supported(self.model):
            return False
        self.state = "compiling"
        n = threads or torch.get_num_threads()
        self._thread = threading.Thread(target=self._run, args=(n,), name="reverie-compile",
                                        daemon=True)
        self._thread.start()
        return True

    def wait(self, timeout: float | None = None) -> bool:
        """Block until the compile ends (benchmarks and tests); True when ready."""
        if self._thread is not None:
            self._thread.join(timeout)
        return self.ready

    def _run(self, threads: int) -> None:
        t0 = time.perf_counter()
        try:
            _lower_priority()
            torch.set_num_threads(threads)  # per-thread in OpenMP builds: match the worker's
            with _COMPILING, _short_gil_slices():
                fn = _compile(self.model)
                _warm_up(self.model, fn)
            self._fn = fn
            self.compile_s = time.perf_counter() - t0
            self.state = "ready"
            log.info("decode step compiled in %.1f s", self.compile_s)
        except Exception as exc:  # noqa: BLE001 - any failure leaves the eager path in use
            self.error = f"{type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}"
            self.state = "failed"
            log.warning("torch.compile of the decode step failed, decoding stays eager: %s",
                        self.error)
        self._on_done(self.state)

    def step(self, ids: torch.Tensor, cache, pos: int) -> torch.Tensor | None:
        if self.state != "ready" or ids.shape[0] != 1:
            return None
        if not _COMPILING.acquire(blocking=False):  # another model is compiling right now
            return None
        try:
            with torch.compiler.set_stance("eager_on_recompile"):
                return self._fn(ids, cache, pos)
        finally:
            _COMPILING.release()


def _decode(model, ids: torch.Tensor, cache, pos: int) -> torch.Tensor:
    return model(ids, cache, pos)[:, -1]


def _compile(model):
    os.environ.setdefault("TORCHINDUCTOR_CACHE_DIR", str(cache_dir()))
    import torch._inductor.config as inductor_config

    inductor_config.compile_threads = 1  # no pool of worker processes (memory, 2 cores)
    compiled = torch.compile(_decode, dynamic=True)
    return lambda ids, cache, pos: compiled(model, ids, cache, pos)


@torch.inference_mode()
def _warm_up(model, fn) -> None:
    """Trace and compile by running the step twice on a scratch cache made the way
    generation makes its own (inference mode, the model's cache dtype)."""
    dtype = getattr(model, "cache_dtype", None) or next(model.parameters()).dtype
    cache = model.new_cache(1, 50, dtype)
    ids = torch.zeros((1, 1), dtype=torch.long)
    for pos in (3, 4):
        fn(ids, cache, pos)


class _short_gil_slices:
    """Tracing is pure Python: while it runs, hand the GIL over every 1 ms instead of 5, so
    the GUI thread and a generating thread wait less for it (restored afterwards)."""

    def __enter__(self):
        self.old = sys.getswitchinterval()
        sys.setswitchinterval(min(self.old, 0.001))

    def __exit__(self, *exc):
        sys.setswitchinterval(self.old)


def _lower_priority() -> None:
    """Nice this thread (and the compiler processes it starts) to 19 on Linux: the GUI and
    the generation thread keep the cores."""
    try:
        os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), 19)
    except (AttributeError, OSError):
        pass
