"""Loaded models kept in memory, least-recently-used first out past a memory budget.

:class:`ModelCache` implements ``backends.base.ModelCache``. It is thread-confined to the
engine's worker thread: only job handlers (which run there) call ``get`` / ``evict``; the
GUI thread may only read or set ``budget_bytes`` (a plain int, applied at the next load).

Handlers reach the cache through ``ctx.models``, a :class:`BoundModelCache` that sends the
loader's progress reports as ``Progress`` events of the job that asked for the model.
The budget is enforced after a load (a model's size is known only once it is loaded), so the
peak is briefly old models + the new one; a model bigger than the budget on its own is still
kept (it is needed right now), with every other model evicted. Dropped models are freed by
reference counting; there is no ``gc.collect()`` (with torch loaded it holds the GIL for
hundreds of milliseconds, which would freeze the GUI), and a load runs without automatic full
collections, its survivors frozen afterwards (:mod:`desktop_app.core.gc_quiet`).
"""

from __future__ import annotations

import logging
import sys
from collections import OrderedDict
from typing import Any, Callable

from desktop_app.core import gc_quiet

log = logging.getLogger(__name__)

ProgressFn = Callable[[float, str], None]
Loader = Callable[[ProgressFn], Any]

_FALLBACK_BUDGET = 2 * 1024**3  # where /proc/meminfo is missing (not Linux)


def default_budget_bytes(meminfo: str = "/proc/meminfo") -> int:
    """Half of the RAM available now, read from ``/proc/meminfo`` (2 GiB where unreadable)."""
    try:
        with open(meminfo, encoding="ascii") as fh:
            for line in fh:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024 // 2  # the value is in kB
    except (OSError, ValueError, IndexError):
        pass
    return _FALLBACK_BUDGET


def estimate_size(obj: Any) -> int:
    """Bytes held by ``obj``: torch modules and tensors, numpy arrays, and containers of them.

    Duck-typed so this module never imports torch.
    """
    if hasattr(obj, "parameters") and hasattr(obj, "buffers"):  # torch.nn.Module
        tensors = [*obj.parameters(), *obj.buffers()]
        return sum(t.numel() * t.element_size() for t in tensors)
    if hasattr(obj, "element_size") and hasattr(obj, "numel"):  # torch.Tensor
        return obj.numel() * obj.element_size()
    if hasattr(obj, "nbytes"):  # numpy array
        return int(obj.nbytes)
    if isinstance(obj, dict):
        return sum(estimate_size(v) for v in obj.values())
    if isinstance(obj, (list, tuple)):
        return sum(estimate_size(v) for v in obj)
    return sys.getsizeof(obj)


class ModelCache:
    """LRU cache of loaded models with a byte budget. Lives on (is used only by) the worker."""

    def __init__(self, budget_bytes: int | None = None) -> None:
        self.budget_bytes = default_budget_bytes() if budget_bytes is None else budget_bytes
        self._entries: OrderedDict[str, tuple[Any, int]] = OrderedDict()  # oldest first

    def get(self, key: str, loader: Loader, size_bytes: Callable[[Any], int] | None = None,
            *, progress: ProgressFn | None = None) -> Any:
        """Return the model cached under ``key``, or load it with ``loader(progress)``."""
        if key in self._entries:
            self._entries.move_to_end(key)
            return self._entries[key][0]
        report = progress or (lambda fraction, message: None)
        report(0.0, "Loading the model")
        with gc_quiet.young_only():  # a load makes ~10^5 objects: no full collection meanwhile
            model = loader(report)  # exceptions propagate; nothing is cached on failure
        gc_quiet.freeze()  # the model's objects live long: keep them out of later collections
        size = int((size_bytes or estimate_size)(model))
        self._entries[key] = (model, size)
        self._enforce_budget(keep=key)
        report(1.0, "Model loaded")
        return model

    def evict(self, key: str) -> None:
        """Drop ``key`` if it is loaded (no error if not)."""
        self._entries.pop(key, None)

    def clear(self) -> None:
        self._entries.clear()

    def keys(self) -> list[str]:
        """Cached keys, least recently used first."""
        return list(self._entries)

    def __contains__(self, key: str) -> bool:
        return key in self._entries

    @property
    def used_bytes(self) -> int:
        return sum(size for _, size in self._entries.values())

    def _enforce_budget(self, keep: str) -> None:
        evicted = []
        while self.used_bytes > self.budget_bytes and len(self._entries) > 1:
            oldest = next(k for k in self._entries if k != keep)
            del self._entries[oldest]
            evicted.append(oldest)
        if evicted:
            log.info("model cache over budget (%d bytes): evicted %s", self.budget_bytes, evicted)


class BoundModelCache:
    """The cache as one job sees it: loading progress becomes that job's ``Progress`` events."""

    def __init__(self, cache: ModelCache, progress: ProgressFn) -> None:
        self._cache = cache
        self._progress = progress

    def get(self, key: str, loader: Loader,
            size_bytes: Callable[[Any], int] | None = None) -> Any:
        return self._cache.get(key, loader, size_bytes, progress=self._progress)

    def evict(self, key: str) -> None:
        self._cache.evict(key)
