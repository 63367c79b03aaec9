"""The decode step of a Llama-family model compiled by ``torch.compile``, built in the background.

One generated token of SmolLM2-135M at int4 is ~200 small torch ops in eager mode (norms,
rotary embeddings, casts, attention over the cache) around ~150 matrix products; the compiled
step fuses the small ops into a few C++ loops. Measured on the quiet 2-core AVX-512 Xeon, one
thread, positions 128-400: 27.5 ms a token eager, 21-22 ms compiled; in the generation loop,
sampler included, 30-32 against 23-24 ms (README, "Quantized text decode").

Compiling takes ~35 s the first time (~6 s once torch's on-disk caches are warm), so it never
happens on the thread that generates: :meth:`DecodeCompiler.start` (called after a model is
loaded) compiles on a background thread; until :attr:`DecodeCompiler.ready`, generations keep
the eager path. Shapes are dynamic (cache length, position), so one compile serves every
generation of batch 1 (variants decode in batches and stay eager). Inductor's caches live in
Reverie's cache folder (``$REVERIE_CACHE_DIR``, default ``~/.cache/reverie``).

The GUI shares this process's GIL, so the cold compile (inductor's code generation, seconds of
Python, and the full garbage collections its millions of objects set off: 1.8 s and 2.9 s
measured) runs in a **separate process** at the lowest priority, which loads the same model
file and fills the on-disk caches (:func:`warm_in_child`); only then does the background
thread compile in-process against the warm caches (Dynamo's trace and cache hits), with full
collections held off (:mod:`desktop_app.core.gc_quiet`). Both parts wait until the model has
been unused for :data:`QUIET_S` seconds (``LoadedTextModel.use``: generations and the
inspector's forward passes): the child takes a core (the first generation after a load ran at
16 tokens/s beside it instead of 23), and the trace, ~10 s of Python with warm caches, hands
the GIL round in slices of up to 64 ms (measured with a 2 ms ticker thread). A marker per model shape and
precision remembers that the caches are warm, so later loads skip the child.

Switch: :func:`set_enabled` (Preferences → "Compile text models", ``--compile`` /
``--no-compile`` on the command line). Any compile failure leaves the eager path in place
and is logged once; a call that would recompile runs eagerly instead of compiling on the
generating thread.
"""

from __future__ import annotations

import hashlib
import logging
import os
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Callable

import torch

from desktop_app.core import gc_quiet

log = logging.getLogger(__name__)

_ENABLED = [True]
#: seconds the model must have been unused before each part of the compile starts
QUIET_S = 3.0
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


def inductor_dir() -> str:
    """Where inductor keeps its caches: ``$TORCHINDUCTOR_CACHE_DIR`` when the user chose it,
    else :func:`cache_dir`. Torch writes its own default (under /tmp) into that variable the
    first time anything asks, so that value counts as unset."""
    from torch._inductor.runtime.cache_dir_utils import default_cache_dir

    env = os.environ.get("TORCHINDUCTOR_CACHE_DIR")
    return env if env and os.path.abspath(env) != os.path.abspath(default_cache_dir()) else str(
        cache_dir())


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

    def __init__(self, model, *, source: tuple[str, str] | None = None,
                 on_done: Callable[[str], None] | None = None,
                 wait_idle: Callable[[float], None] | None = None) -> None:
        self.model = model
        # blocks until the model has been unused for so many seconds (LoadedTextModel.use)
        self._wait_idle = wait_idle or (lambda quiet_s: None)
        self.source = source  # (model path, precision): what a warm-up child process loads
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
            marker = warm_marker(self.model)
            self._wait_idle(QUIET_S)  # the first generation after a load stays at full speed
            if self.source is not None and not marker.exists() and not getattr(
                    sys, "frozen", False):  # a frozen app has no interpreter to start
                warm_in_child(*self.source, threads, marker)  # waits without the GIL
            self._wait_idle(QUIET_S)  # the trace's GIL slices reach 64 ms: not while in use
            with _COMPILING, _short_gil_slices(), gc_quiet.young_only():
                fn = compile_step(self.model)
            gc_quiet.freeze()  # the compiled graph's objects live as long as the model
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
            if not ids.is_inference():
                # The graph was traced with inference tensors; a normal tensor (the generation
                # loop's step ids, written in place outside inference mode) fails its guard,
                # and the stance below then runs the step eagerly, every step: measured 29.7
                # ms a token against 22.9 compiled (SmolLM2 int4, 1 thread).
                with torch.inference_mode():
                    ids = ids.clone()
            with torch.compiler.set_stance("eager_on_recompile"):
                return self._fn(ids, cache, pos)
        finally:
            _COMPILING.release()


def warm_marker(model) -> Path:
    """File that says the on-disk caches hold this model shape's compiled step (the weights
    are graph inputs, so every file of one architecture, size and precision shares it)."""
    key = repr((type(model).__name__, repr(getattr(model, "config", None)), repr(model),
                str(getattr(model, "cache_dtype", None)), torch.get_num_threads()))
    return Path(inductor_dir()) / "reverie-warm" / hashlib.sha256(key.encode()).hexdigest()[:24]


def warm_in_child(path: str, precision: str, threads: int, marker: Path,
                  timeout_s: float = 3600) -> None:
    """Compile the decode step of ``path`` at ``precision`` in a child process at the lowest
    priority, filling the on-disk caches; raises RuntimeError (one line) when it fails."""
    env = dict(os.environ, TORCHINDUCTOR_CACHE_DIR=inductor_dir())
    cmd = [sys.executable, "-m", "desktop_app.ml.text.compile_child", path, precision,
           str(threads), str(marker)]
    t0 = time.perf_counter()
    done = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=timeout_s,
                          preexec_fn=_die_with_parent if sys.platform == "linux" else None)
    if done.returncode != 0 or not marker.exists():
        tail = (done.stderr or "").strip().splitlines()[-1:] or [f"exit {done.returncode}"]
        raise RuntimeError(f"the compile process failed: {tail[0][:200]}")
    log.info("decode step compiled in a child process in %.1f s", time.perf_counter() - t0)


def _die_with_parent() -> None:
    """In the child, before exec: end with the app (Linux PR_SET_PDEATHSIG), never outlive it."""
    import ctypes
    import signal

    try:
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
        os.setpriority(os.PRIO_PROCESS, 0, 19)
    except (OSError, AttributeError):
        pass


def _decode(model, ids: torch.Tensor, cache, pos: int) -> torch.Tensor:
    return model(ids, cache, pos)[:, -1]


def compile_step(model):
    """The model's decode step compiled and run once, so that the compile happens here (the
    app's background thread, or the warm-up child process), never on a generating thread."""
    fn = _compile(model)
    _warm_up(model, fn)
    return fn


def _compile(model):
    os.environ["TORCHINDUCTOR_CACHE_DIR"] = inductor_dir()
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
