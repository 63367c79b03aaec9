"""A training run that uses every core while the app is idle and gives one back while it works.

The Train room runs ``reverie train …`` as a child process. One torch thread per core makes a
LoRA fine-tune of SmolLM2-135M 1.6–1.8× faster on a 2-core laptop than leaving a core free
(199–223 against 121 tokens/s, session 15, the shared 2-core machine; docs/train-room.md) —
but a torch thread that loses its core to other work holds up every parallel region it
belongs to: beside a generation in
another process the two-thread run fell to **12 tokens/s**, ten times slower than one thread
(125), while the generation ran as fast either way. So the room starts a run with ``--threads
N --busy-threads M`` (N the cores, M one less) and tells it when the app is working:

* ``SIGUSR1``: the app is busy (a generation, an image, a melody): M threads from now on;
* ``SIGUSR2``: the app is idle again: N threads.

Signals alone lose their order: two pending signals are delivered lowest number first, and
Python runs one handler for several of the same. So the state itself is the file
:data:`BUSY_FLAG` in the run's ``--out`` folder (there while the app is busy), written before
each signal, and a signal only says "look now": the handler and every step read the file.

Such a run also lowers its own priority (nice 10), so the app and the user's other programs get
a core back the moment they want it.

The switch happens at once: Python runs the handler on the training thread between two of
torch's operations (within a backward pass, when it returns). Work outside the app sends no
signal, so the run measures both: it keeps each count's rate (tokens/s while the app was idle)
and runs with the faster, trying the other once every :data:`PROBE_EVERY` steps. A light load
beside the run (30 % of a core) still leaves N threads ahead (151 against 118 tokens/s); a
program busy 60 % of the time took two threads down to 42 tokens/s, and one thread wins.
"""

from __future__ import annotations

import os
import signal
from pathlib import Path
from typing import Any

from desktop_app.commands import options as opt

#: In the run's ``--out`` folder while the app that started it is busy.
BUSY_FLAG = ".app-busy"

#: Every this many steps the run tries the thread count it is not using, to notice a change.
PROBE_EVERY = 10


def add_busy_threads(parser) -> None:
    """The option every ``reverie train`` command takes (with its ``--threads``)."""
    parser.add_argument(
        "--busy-threads", type=opt.THREADS, default=None, metavar="M",
        help="threads while the app that started the run is busy (it sends SIGUSR1 then, "
             "SIGUSR2 when idle again; the run also lowers its priority, measures both counts "
             f"and uses the faster, trying the other every {PROBE_EVERY} steps); the Train "
             "room passes one less than --threads")


class CoreSharing:
    """Context manager: sets the threads, installs the two signals (POSIX), restores them;
    :meth:`on_event` is the training loop's callback that measures the step rates."""

    def __init__(self, threads: int | None, busy_threads: int | None,
                 out_dir: Path | None = None) -> None:
        self.threads = threads
        self.flag = Path(out_dir) / BUSY_FLAG if out_dir is not None else None
        self.busy_threads = busy_threads if threads and busy_threads else None
        self.app_busy = False
        self.rates: dict[int, float] = {}   # tokens/s by thread count, while the app was idle
        self.windows = 0                    # step events seen
        self._mixed = False                 # the app's state changed inside this window
        self._previous: dict[Any, Any] = {}

    @property
    def active(self) -> bool:
        return self.busy_threads is not None and self.busy_threads < self.threads

    def __enter__(self) -> "CoreSharing":
        if self.threads:
            self._set(self.threads)
        if self.active:
            _lower_priority()
            if hasattr(signal, "SIGUSR1"):
                self._previous = {s: signal.signal(s, self._on_signal)
                                  for s in (signal.SIGUSR1, signal.SIGUSR2)}
        return self

    def __exit__(self, *exc) -> None:
        # the run goes on after its loop (the model exported, the card written) and the app
        # may still signal: a signal then is ignored, not the end of the process (SIGUSR1's
        # default action), which a restored default handler would have made it
        for sig, previous in self._previous.items():
            signal.signal(sig, signal.SIG_IGN if previous == signal.SIG_DFL else previous)
        self._previous = {}

    def wanted(self) -> int | None:
        """The threads for the next steps: fewer while the app is busy; otherwise the count
        that measured faster, the other one tried once every :data:`PROBE_EVERY` steps."""
        if not self.active:
            return self.threads
        if self.app_busy:
            return self.busy_threads
        best = max(self.rates, key=self.rates.get) if self.rates else self.threads
        other = self.busy_threads if best == self.threads else self.threads
        unmeasured = other not in self.rates and self.windows > 0
        if unmeasured or self.windows % PROBE_EVERY == PROBE_EVERY - 1:
            return other
        return best

    def on_event(self, event) -> None:
        """The loop's "step" events: the rate of the window just run, at the threads it ran
        with (not while the app was busy, nor across a switch), then the next choice."""
        rate = getattr(event, "tokens_per_s", None)
        if not self.active or getattr(event, "kind", "") != "step" or not rate:
            return
        ran = self._current()
        busy_now = self._read_flag()
        self._mixed = self._mixed or busy_now != self.app_busy
        self.app_busy = busy_now
        if not (self.app_busy or self._mixed):
            old = self.rates.get(ran)
            self.rates[ran] = rate if old is None else (old + rate) / 2
        self._mixed = False
        self.windows += 1
        self._set(self.wanted())

    def _on_signal(self, signum, frame) -> None:  # noqa: ARG002 - signal API
        self.app_busy = self._read_flag(signum == signal.SIGUSR1)
        self._mixed = True
        self._set(self.wanted())

    def _read_flag(self, default: bool | None = None) -> bool:
        """Whether the app is busy now: its flag file, else the signal's word."""
        if self.flag is None:
            return self.app_busy if default is None else default
        try:
            return self.flag.exists()
        except OSError:
            return self.app_busy

    @staticmethod
    def _current() -> int:
        import torch
        return torch.get_num_threads()

    @staticmethod
    def _set(n: int | None) -> None:
        import torch
        if n and torch.get_num_threads() != n:
            torch.set_num_threads(n)


def _lower_priority() -> None:
    """Run below the app and the user's programs (nice 10): a core they take back mid-step
    goes to them at once instead of being shared with the run's threads."""
    try:
        os.nice(max(0, 10 - os.nice(0)))   # os.nice(0) reads the niceness
    except (AttributeError, OSError):   # not POSIX, or not allowed: the run keeps its priority
        pass
