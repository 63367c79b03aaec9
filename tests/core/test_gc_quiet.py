"""gc_quiet: full collections held off inside young_only (nested, across threads), the old
thresholds back afterwards, and freeze moving live objects out of the collector's sight."""

from __future__ import annotations

import gc
import threading

from desktop_app.core import gc_quiet


def test_young_only_nests_and_restores():
    before = gc.get_threshold()
    with gc_quiet.young_only():
        inside = gc.get_threshold()
        assert inside[:2] == before[:2] and inside[2] > 10**6
        seen = []
        t = threading.Thread(target=lambda: seen.append(_nested()))
        t.start()
        t.join()
        assert seen == [inside] and gc.get_threshold() == inside  # the inner exit kept it
    assert gc.get_threshold() == before


def _nested():
    with gc_quiet.young_only():
        return gc.get_threshold()


def test_freeze_moves_live_objects_out_of_collections():
    keep = [[i] for i in range(1000)]
    try:
        gc_quiet.freeze()
        assert gc.get_freeze_count() >= len(keep)
        assert not any(x is keep for x in gc.get_objects())
    finally:
        gc.unfreeze()
