"""The warm-up job: import torch on the engine's worker thread and choose its thread count.

Importing torch holds Python's GIL for about a second, so the app does it once, right after
the main window is shown, with the status bar saying so (``WarmUpJob.label``). Runs on the
worker thread: ``torch.set_num_threads`` sets the intra-op thread count of the *calling*
thread's OpenMP team, so it must be called on the thread that will run the models.
"""

from __future__ import annotations

import os
import time

from desktop_app.backends.base import JobContext
from desktop_app.core import gc_quiet
from desktop_app.core.jobs import WarmUpJob


def available_cores() -> int:
    """CPU cores this process may run on (honours taskset / cgroup affinity where known)."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except (AttributeError, OSError):  # not Linux
        return max(1, os.cpu_count() or 1)


def default_num_threads(cores: int | None = None) -> int:
    """All cores but one, so the GUI thread keeps a core to itself (1 on a 2-core machine)."""
    return max(1, (available_cores() if cores is None else cores) - 1)


def run_warm_up(job: WarmUpJob, ctx: JobContext) -> dict:
    """Import torch, set its thread count; return what was done (shown in the log and About)."""
    ctx.token.raise_if_cancelled()
    n = job.num_threads if job.num_threads else default_num_threads()
    ctx.progress(None, "Loading torch")
    t0 = time.perf_counter()
    import torch  # noqa: PLC0415 - imported here, on the worker thread, on purpose

    import_s = time.perf_counter() - t0
    torch.set_num_threads(n)
    from desktop_app.ml.text import compiled  # noqa: PLC0415 - torch is imported by now

    compiled.set_enabled(job.compile_text)
    ctx.progress(None, "Preparing the writing model's tokenizer")
    _prepare_writing_tokenizer()
    gc_quiet.freeze()  # torch's modules live as long as the app: out of every collection
    ctx.progress(1.0, f"torch {torch.__version__} ready, {n} thread(s)")
    return {"torch": torch.__version__, "num_threads": torch.get_num_threads(),
            "import_s": import_s, "cores": available_cores(), "compile_text": job.compile_text}


def _prepare_writing_tokenizer() -> None:
    """Build the built-in writing model's tokenizer now, while the window is idle: its BPE
    constructor holds the GIL for 37 ms, the largest stall of the window while that model
    loads (``gguf_tokenizer.prepare``; the load then reuses it)."""
    from desktop_app.core.model_registry import folder_gguf  # noqa: PLC0415
    from desktop_app.core.paths import WRITING_MODEL, resolve_model_dir  # noqa: PLC0415
    from desktop_app.ml.text import gguf_tokenizer  # noqa: PLC0415

    try:
        path = folder_gguf(resolve_model_dir(WRITING_MODEL, "text"))
    except Exception:  # noqa: BLE001 - not installed: nothing to prepare
        return
    if path is not None:
        gguf_tokenizer.prepare(path)
