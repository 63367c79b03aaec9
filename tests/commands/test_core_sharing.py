"""A training run's threads follow the app: every core while it is idle, one less while it
works (SIGUSR1 / SIGUSR2 from the Train room), and whichever count measured faster when
another program takes a core. The real signals are sent to this process; torch's thread
count is restored after each test."""

from __future__ import annotations

import os
import signal
from types import SimpleNamespace

import pytest
import torch

from desktop_app.commands import core_sharing
from desktop_app.commands.core_sharing import CoreSharing

pytestmark = pytest.mark.skipif(not hasattr(signal, "SIGUSR1"), reason="POSIX signals")


@pytest.fixture(autouse=True)
def _threads_restored(monkeypatch):
    """Torch's threads and the signals as they were; the test process keeps its priority."""
    before = torch.get_num_threads()
    handlers = {s: signal.getsignal(s) for s in (signal.SIGUSR1, signal.SIGUSR2)}
    lowered = []
    monkeypatch.setattr(core_sharing, "_lower_priority", lambda: lowered.append(True))
    yield lowered
    torch.set_num_threads(before)
    for sig, handler in handlers.items():
        signal.signal(sig, handler)


def _step(rate: float):
    return SimpleNamespace(kind="step", tokens_per_s=rate)


def test_the_apps_signals_switch_the_threads_at_once_and_are_ignored_after(_threads_restored):
    """After the loop the run still exports its model: a signal then must not end it (the
    default action of SIGUSR1), and the run has lowered its priority below the app's."""
    signal.signal(signal.SIGUSR1, signal.SIG_DFL)
    with CoreSharing(2, 1):
        assert torch.get_num_threads() == 2 and _threads_restored == [True]
        os.kill(os.getpid(), signal.SIGUSR1)          # the app is busy
        assert torch.get_num_threads() == 1
        os.kill(os.getpid(), signal.SIGUSR2)          # idle again
        assert torch.get_num_threads() == 2
    assert signal.getsignal(signal.SIGUSR1) == signal.SIG_IGN
    os.kill(os.getpid(), signal.SIGUSR1)              # ignored: this process goes on


def test_the_run_keeps_the_faster_count_and_tries_the_other_now_and_then():
    """Another program cannot signal: the run measures both counts. Idle, every core wins;
    when a program takes a core, one thread less wins from the next measurement of it."""
    with CoreSharing(2, 1) as cores:
        seen = []
        for _ in range(11):
            seen.append(torch.get_num_threads())
            cores.on_event(_step(200 if seen[-1] == 2 else 120))
        # the first step at 2, one at 1 to measure it, then 2, and 1 again at the 10th step
        assert seen == [2, 1, 2, 2, 2, 2, 2, 2, 2, 1, 2]
        for _ in range(3):                            # a program takes a core: 2 threads crawl
            cores.on_event(_step(42 if torch.get_num_threads() == 2 else 120))
        assert torch.get_num_threads() == 1 and cores.rates[2] < cores.rates[1]


def test_steps_while_the_app_is_busy_measure_nothing_and_evaluations_are_ignored():
    with CoreSharing(2, 1) as cores:
        cores.on_event(_step(200))
        cores.on_event(_step(120))
        assert cores.rates == {2: 200, 1: 120}
        os.kill(os.getpid(), signal.SIGUSR1)
        assert torch.get_num_threads() == 1
        cores.on_event(_step(50))                     # beside the app's work: not its rate
        cores.on_event(SimpleNamespace(kind="eval", tokens_per_s=None))
        os.kill(os.getpid(), signal.SIGUSR2)
        assert torch.get_num_threads() == 2
        cores.on_event(_step(20))                     # switched inside the window: not kept
        assert cores.rates == {2: 200, 1: 120}


def test_without_busy_threads_nothing_is_installed(_threads_restored):
    """The command line's runs: --threads alone, or nothing (torch's default)."""
    previous = signal.getsignal(signal.SIGUSR1)
    with CoreSharing(2, None) as cores:
        assert signal.getsignal(signal.SIGUSR1) is previous and not cores.active
        assert _threads_restored == []
        for _ in range(12):
            cores.on_event(_step(200))
            assert torch.get_num_threads() == 2
    with CoreSharing(None, 1) as cores:
        assert not cores.active


def test_the_flag_file_is_the_state_whatever_order_the_signals_come_in(tmp_path):
    """Two pending signals are delivered lowest number first: the app's "idle" (SIGUSR2) then
    "busy" (SIGUSR1) can arrive as busy, idle. The handler reads the flag file the room wrote
    before signalling, so the last word is the app's; each step reads it too."""
    flag = tmp_path / core_sharing.BUSY_FLAG
    with CoreSharing(2, 1, tmp_path) as cores:
        flag.touch()                                   # the app is busy...
        os.kill(os.getpid(), signal.SIGUSR2)           # ...whichever signal says "look"
        assert cores.app_busy and torch.get_num_threads() == 1
        flag.unlink()
        os.kill(os.getpid(), signal.SIGUSR1)
        assert not cores.app_busy and torch.get_num_threads() == 2
        flag.touch()                                   # a lost signal: the next step sees it
        cores.on_event(_step(200))
        assert cores.app_busy and torch.get_num_threads() == 1 and cores.rates == {}
