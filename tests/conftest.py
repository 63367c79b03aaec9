"""Shared fixtures: offscreen Qt, an isolated user data folder, and a guard against leaked threads.

Every test runs with ``REVERIE_DATA_DIR`` pointing at a fresh temporary folder, so nothing
touches the real user's settings, models or autosaves.
"""

from __future__ import annotations

import os
import threading
import warnings

import pytest

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
# Loaded text models compile their decode step on a background thread in the app; tests
# that want it (tests/ml/text/test_compiled.py) switch it on and wait for it.
os.environ.setdefault("REVERIE_NO_COMPILE", "1")


@pytest.fixture
def one_torch_thread():
    """Torch on one thread for the test (tiny models run fastest so, with no OpenMP spin on a
    busy CPU; the train and generate commands set it too); the count before is put back."""
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@pytest.fixture(autouse=True)
def _isolated_user_data(tmp_path_factory, monkeypatch):
    # A separate temporary folder, so each test's own ``tmp_path`` starts empty.
    data = tmp_path_factory.mktemp("reverie-data")
    monkeypatch.setenv("REVERIE_DATA_DIR", str(data))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path_factory.mktemp("config")))
    return data


@pytest.fixture(autouse=True)
def _no_leaked_threads(request):
    """Fail any test that leaves a Python thread or a running QThread behind (napari's guard)."""
    before = set(threading.enumerate())
    yield
    leaked = [t for t in threading.enumerate()
              if t not in before and t.is_alive() and not t.daemon]
    # Give threads that were told to stop a moment to finish joining (no sleeps: join with timeout).
    for t in leaked:
        t.join(timeout=5)
    leaked = [t for t in leaked if t.is_alive()]
    assert not leaked, f"test leaked running threads: {[t.name for t in leaked]}"
    import sys
    if "PySide6.QtCore" not in sys.modules:  # no Qt used: no QThreads to check
        return
    from PySide6.QtCore import QCoreApplication, QThread
    import gc
    app = QCoreApplication.instance()
    main_thread = app.thread() if app is not None else None
    with warnings.catch_warnings():  # isinstance() on torch's lazy modules warns
        warnings.simplefilter("ignore")
        running = [obj for obj in gc.get_objects()
                   if _is_qthread(obj, QThread) and obj is not main_thread
                   and _safe_is_running(obj)]
    assert not running, f"test leaked running QThreads: {running}"


def _is_qthread(obj, qthread) -> bool:
    try:
        return type(obj) is not type and isinstance(obj, qthread)
    except ReferenceError:  # a weakref.proxy whose object is gone (torch.compile keeps some)
        return False


def _safe_is_running(thread) -> bool:
    try:
        return thread.isRunning()
    except RuntimeError:  # the C++ object is already deleted
        return False
