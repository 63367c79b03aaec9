"""Keep Python's full garbage collections from freezing the GUI.

A full (generation 2) collection walks every container object in the process while holding
the GIL. With torch, its compiler and a model loaded that is millions of objects: measured in
the Write room benchmark (2 cores, load ~12), single collections of 0.3 s during a GGUF load
(the reader makes ~200k small arrays) and of 1.8 s and 2.9 s while ``torch.compile`` traced
the decode step on its background thread; the GUI thread can do nothing meanwhile.

Two remedies, used together:

- :func:`freeze` moves every object alive now into the permanent generation, which
  collections never walk: called once torch is imported and after each model load, so the
  long-lived heap (modules, models, tokenizers) stops costing anything. Frozen objects are
  still freed by reference counting (a dropped model is: its modules hold no cycles); only
  garbage cycles among them are never collected, a bounded cost paid once per load.
- :func:`young_only` keeps automatic collections in the two young generations while a big
  allocator runs (a load, a compile): young collections walk only recent objects, so they
  stay short, and what survives them is dealt with by one collection or freeze at the end.
"""

from __future__ import annotations

import gc
import threading
from contextlib import contextmanager

_lock = threading.Lock()
_depth = [0]
_saved: list[tuple[int, int, int]] = []
#: generation-2 threshold while inside young_only: never reached in practice
_NEVER = 1 << 30


def freeze() -> None:
    """Move every live object out of the collector's sight (see the module docstring)."""
    gc.freeze()


@contextmanager
def young_only():
    """No automatic full collection while inside (nests and works across threads)."""
    with _lock:
        if _depth[0] == 0:
            old = gc.get_threshold()
            _saved[:] = [old]
            gc.set_threshold(old[0], old[1], _NEVER)
        _depth[0] += 1
    try:
        yield
    finally:
        with _lock:
            _depth[0] -= 1
            if _depth[0] == 0 and _saved:
                gc.set_threshold(*_saved.pop())
