"""The decode step of a Llama-family model compiled ahead of time, built in the background.

One generated token of SmolLM2-135M at int4 is ~200 small torch ops in eager mode (norms,
rotary embeddings, casts, attention over the cache) around ~150 matrix products; inductor
fuses the small ops into a few C++ loops. The step is built by AOTInductor into a package
(:mod:`.aot_step`), so at run time no Dynamo guards are evaluated and nothing is traced in the
app's process, and the step runs with the GIL released. Measured on the quiet 2-core AVX-512
Xeon, one thread, positions 140-260: 27.5 ms a token eager, 20.1-20.9 ms with
``torch.compile`` (what this module used before), 14.7 ms from the package (README,
"Quantized text decode").

Building takes ~60 s (export and C++ compile), so it never happens in the app's process: a
**child process** at the lowest priority loads the same model file and writes the package
into Reverie's cache folder (``$REVERIE_CACHE_DIR``, default ``~/.cache/reverie``), keyed by
the model's shape, precision, thread count, torch version and CPU capability; a background
thread of the app then loads it (~0.1 s, then a 2-token check against the eager step) and
from then on generations of batch 1 use it (variants decode in batches and stay eager). Both
the child and the load wait until the model has been unused for :data:`QUIET_S` seconds
(``LoadedTextModel.use``: generations and the inspector's forward passes): the child takes a
core (the first generation after a load ran at 16 tokens/s beside it instead of 23). A frozen
app, which has no interpreter to start, builds in its background thread instead. Shapes are
dynamic (cache length, position), so one package serves every generation and every file of
that shape.

Switch: :func:`set_enabled` (Preferences → "Compile text models", ``--compile`` /
``--no-compile`` on the command line). Any failure leaves the eager path in place and is
logged once.
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
#: compiled packages kept (about 8 MB each with the library unpacked beside it): every shape
#: and precision of a model has one, and so has every LoRA adapter (its kept ranks are part
#: of the shape), so a writer who fine-tunes often would fill the disk without a bound; the
#: packages used least recently go first
MAX_PACKAGES = 16


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
    last position's logits (1, V) through the compiled step when ready, else ``None``."""

    def __init__(self, model, *, source: tuple[str, str] | None = None,
                 on_done: Callable[[str], None] | None = None,
                 wait_idle: Callable[[float], None] | None = None) -> None:
        self.model = model
        # blocks until the model has been unused for so many seconds (LoadedTextModel.use)
        self._wait_idle = wait_idle or (lambda quiet_s: None)
        self.source = source  # (model path, precision): what the building child process loads
        self.state = "idle"  # idle | compiling | ready | failed
        self.error = ""
        self.compile_s = 0.0
        self._run_step = None
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
        from desktop_app.ml.text import aot_step

        t0 = time.perf_counter()
        try:
            _lower_priority()
            torch.set_num_threads(threads)  # per-thread in OpenMP builds: match the worker's
            package = package_path(self.model)
            failed = package.with_suffix(".failed")
            if failed.exists():  # a package that built but did not work: do not build again
                raise RuntimeError(f"the compiled step of this model shape did not work "
                                   f"before; delete {failed} to try again")
            self._wait_idle(QUIET_S)  # the first generation after a load stays at full speed
            if not package.exists():
                if self.source is not None and not getattr(sys, "frozen", False):
                    warm_in_child(*self.source, threads, package)  # waits without the GIL
                else:  # a frozen app has no interpreter to start: build here
                    os.environ["TORCHINDUCTOR_CACHE_DIR"] = inductor_dir()
                    with gc_quiet.young_only():
                        aot_step.build(self.model, package)
            self._wait_idle(QUIET_S)
            try:
                run = aot_step.load(package, self.model)
                aot_step.check(self.model, run)
            except Exception as exc:
                failed.write_text(f"{type(exc).__name__}: {exc}"[:2000], encoding="utf-8")
                package.unlink(missing_ok=True)
                raise
            touch_package(package)
            prune_packages(package.parent, keep=MAX_PACKAGES)
            gc_quiet.freeze()
            self._run_step = run
            self.compile_s = time.perf_counter() - t0
            self.state = "ready"
            log.info("decode step compiled and loaded in %.1f s", self.compile_s)
        except Exception as exc:  # noqa: BLE001 - any failure leaves the eager path in use
            self.error = f"{type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}"
            self.state = "failed"
            log.warning("compiling the decode step failed, decoding stays eager: %s",
                        self.error)
        self._on_done(self.state)

    def step(self, ids: torch.Tensor, cache, pos: int) -> torch.Tensor | None:
        if self.state != "ready" or ids.shape != (1, 1) or cache.rope is None:
            return None
        # positions 0 and 1 were specialised away by export (sizes 0 and 1 are); past the end
        # of the cache the eager step raises the cache's own overflow error
        if not 2 <= pos < cache.k[0].shape[2]:
            return None
        from desktop_app.ml.text.aot_step import step_inputs

        try:
            return self._run_step(step_inputs(ids, cache, pos))
        except RuntimeError as exc:  # inputs the package's checks refuse: eager from now on
            self.state, self.error = "failed", str(exc).splitlines()[0][:200]
            log.warning("the compiled decode step refused its inputs, decoding stays eager: "
                        "%s", self.error)
            return None


def package_path(model) -> Path:
    """Where the compiled step of this model's shape lives (the weights are handed over at
    load, so every file of one architecture, size and precision shares it)."""
    key = repr((type(model).__name__, repr(getattr(model, "config", None)), repr(model),
                str(getattr(model, "cache_dtype", None)), torch.get_num_threads()))
    name = hashlib.sha256(key.encode()).hexdigest()[:24]
    return Path(inductor_dir()) / "reverie-aot" / f"{name}.pt2"


def touch_package(package: Path) -> None:
    """Mark a package as just used (its library after it: :func:`aot_step._extract_library`
    unpacks again when the library is older than the package)."""
    try:
        os.utime(package)
        os.utime(package.with_suffix(".so"))
    except OSError:
        pass


def prune_packages(folder: Path, keep: int = MAX_PACKAGES) -> list[Path]:
    """Delete all but the ``keep`` packages in ``folder`` used most recently (each with its
    unpacked library and failure note), and all but the ``keep`` newest notes of packages that
    failed; returns the packages deleted. A window still running a deleted library keeps it
    (the file lives on while it is mapped); another one builds the package again when it needs
    it."""
    try:
        packages = sorted((f for f in folder.glob("*.pt2") if ".partial" not in f.name),
                          key=lambda f: f.stat().st_mtime, reverse=True)   # not one being built
    except OSError:
        return []
    gone = []
    for old in packages[keep:]:
        for f in (old, old.with_suffix(".so"), old.with_suffix(".failed")):
            try:
                f.unlink(missing_ok=True)
            except OSError:
                pass
        gone.append(old)
    # a package that failed leaves only its note (no package): keep the newest ``keep`` of
    # those too, or one note per failed shape would pile up for good (an old shape's note
    # gone costs one more build in the background if that shape ever comes back)
    try:
        notes = sorted((f for f in folder.glob("*.failed") if not f.with_suffix(".pt2").exists()),
                       key=lambda f: f.stat().st_mtime, reverse=True)
    except OSError:
        notes = []
    for note in notes[keep:]:
        try:
            note.unlink(missing_ok=True)
        except OSError:
            pass
    if gone:
        log.info("deleted %d compiled decode steps not used lately", len(gone))
    return gone


def warm_in_child(path: str, precision: str, threads: int, package: Path,
                  timeout_s: float = 3600) -> None:
    """Build the compiled step of ``path`` at ``precision`` into ``package`` in a child
    process at the lowest priority; raises RuntimeError (one line) when it fails."""
    env = dict(os.environ, TORCHINDUCTOR_CACHE_DIR=inductor_dir())
    cmd = [sys.executable, "-m", "desktop_app.ml.text.compile_child", path, precision,
           str(threads), str(package)]
    t0 = time.perf_counter()
    done = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=timeout_s,
                          preexec_fn=_die_with_parent if sys.platform == "linux" else None)
    if done.returncode != 0 or not package.exists():
        tail = (done.stderr or "").strip().splitlines()[-1:] or [f"exit {done.returncode}"]
        raise RuntimeError(f"the compile process failed: {tail[0][:200]}")
    log.info("decode step built in a child process in %.1f s", time.perf_counter() - t0)


def _die_with_parent() -> None:
    """In the child, before exec: end with the app (Linux PR_SET_PDEATHSIG), never outlive it."""
    import ctypes
    import signal

    try:
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
        os.setpriority(os.PRIO_PROCESS, 0, 19)
    except (OSError, AttributeError):
        pass


def _lower_priority() -> None:
    """Nice this thread (and the compiler processes it starts) to 19 on Linux: the GUI and
    the generation thread keep the cores."""
    try:
        os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), 19)
    except (AttributeError, OSError):
        pass
