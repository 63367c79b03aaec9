"""Training progress on stdout, one line an event, for every ``reverie train <kind>`` command.

``--progress json`` prints each event as one JSON object (what the Train room reads, see
``ui/train/process.py``); ``--progress text`` prints the same events for a person. Events are
:class:`~desktop_app.ml.training.loop.TrainEvent` objects or plain dicts with a ``kind`` (the
notes a command adds before and after the loop: "loading …", "model folder ready …").
"""

from __future__ import annotations

import json
import time
from typing import Callable


def fmt_time(s: float) -> str:
    """``4m05s`` or ``1h02m``: an ETA at a glance."""
    s = int(s)
    return f"{s // 3600}h{s % 3600 // 60:02d}m" if s >= 3600 else f"{s // 60}m{s % 60:02d}s"


def note(mode: str, message: str) -> None:
    """A command's note before training starts (kind "prepare" in JSON, the bare text else)."""
    if mode == "json":
        print(json.dumps({"kind": "prepare", "message": message}), flush=True)
    else:
        print(message, flush=True)


def progress_printer(mode: str, unit: str = "tok/s") -> Callable[[object], None]:
    """A callback printing events as ``mode`` ("json" or "text"); ``unit`` names the step
    rate (tokens, images … per second)."""
    t0 = time.perf_counter()

    def as_json(ev) -> None:
        d = ev if isinstance(ev, dict) else ev.to_json()
        print(json.dumps(d, ensure_ascii=False), flush=True)

    def text(ev) -> None:
        d = ev if isinstance(ev, dict) else ev.to_json()
        print(_text_line(d, unit, time.perf_counter() - t0), flush=True)

    return as_json if mode == "json" else text


def _text_line(d: dict, unit: str, elapsed: float) -> str:
    kind, step, total = d.get("kind"), d.get("step"), d.get("total_steps")
    if kind == "step":
        lr = f"  lr {d['lr']:.2e}" if d.get("lr") is not None else ""
        return (f"step {step}/{total}  loss {d['loss']:.4f}{lr}  "
                f"{d.get('tokens_per_s') or 0:,.0f} {unit}  ETA {fmt_time(d.get('eta_s') or 0)}")
    if kind == "eval":
        bpb = f"  ({d['bits_per_byte']:.4f} bits/byte)" if d.get("bits_per_byte") else ""
        return f"step {step}  held-out loss {d['val_loss']:.4f}{bpb}"
    if kind == "sample":
        return f"step {step}  sample: {d['sample']!r}"   # quoted: one line an event
    if kind == "checkpoint":
        return f"step {step}  checkpoint {d['checkpoint']}"
    message = d.get("message") or ""
    if step is None:           # a command's own note (no step yet)
        return f"[{elapsed:6.0f}s] {message}"
    return f"[{kind}] step {step}/{total}" + (f"  {message}" if message else "")
