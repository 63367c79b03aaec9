"""Crash-safe autosave of a room's state, offered back after a crash or a kill.

Each room saves a JSON snapshot to ``<user data>/autosave/<room>.json`` (atomically) every
30 seconds and after each generation. A clean close that the user confirmed clears it, so a
snapshot found at start-up means the last session did not end cleanly: the room offers to
restore it. The snapshot records the writing process's id; one whose process is still alive
belongs to another running Reverie and is not offered.

A snapshot is untrusted input like any file (a crash mid-way through a hand edit, a disk
error): :meth:`AutosaveStore.pending` reads it with the bounds of :mod:`core.untrusted` and
checks the room's fields (:data:`VALIDATORS`) before any widget sees them. A damaged snapshot
is moved aside to ``<room>.json.corrupt``; :attr:`AutosaveStore.problem` says so in one
sentence, and the room starts empty instead of failing to open the window.
"""

from __future__ import annotations

import logging
import os
import re
import time
from pathlib import Path
from typing import Any, Callable

from desktop_app.core.atomic import atomic_write_json
from desktop_app.core.autosave_schema import VALIDATORS
from desktop_app.core.errors import DataError
from desktop_app.core.paths import autosave_dir
from desktop_app.core.untrusted import read_json

log = logging.getLogger(__name__)
#: Autosaves hold whole documents (the Write room's text and history).
MAX_AUTOSAVE_BYTES = 256 * 1024 * 1024

_ROOM_NAME = re.compile(r"^[a-z][a-z0-9_-]{0,40}$")


class AutosaveStore:
    """Snapshots for one room. Plain file I/O; call it from the GUI thread."""

    def __init__(self, room: str, folder: Path | None = None,
                 validate: Callable[[dict], None] | None = None) -> None:
        if not _ROOM_NAME.match(room):
            raise ValueError(f"bad room name {room!r}")
        self.path = (folder or autosave_dir()) / f"{room}.json"
        self._validate = validate or VALIDATORS.get(room)
        #: One sentence when :meth:`pending` found a damaged snapshot and set it aside.
        self.problem = ""

    def save(self, state: dict[str, Any]) -> None:
        atomic_write_json(self.path, {"pid": os.getpid(), "saved_at": time.time(), "state": state})

    def pending(self) -> dict[str, Any] | None:
        """The state left by a session that ended without a clean close, if any.

        A snapshot that is damaged (not JSON, too deep, wrong types, values out of range) is
        moved aside to ``<room>.json.corrupt`` and :attr:`problem` says so; None is returned.
        """
        self.problem = ""
        if not self.path.exists():
            return None
        try:
            data = read_json(self.path, source=f"the autosave {self.path.name}",
                             max_bytes=MAX_AUTOSAVE_BYTES)
            if not isinstance(data, dict) or not isinstance(data.get("state"), dict):
                raise DataError(f"the autosave {self.path.name} holds no saved state")
            if self._validate is not None:
                self._validate(data["state"])
        except DataError as exc:
            self._set_aside(str(exc))
            return None
        pid = data.get("pid")
        if (isinstance(pid, int) and not isinstance(pid, bool) and pid != os.getpid()
                and _process_alive(pid)):
            return None
        return data["state"]

    def _set_aside(self, reason: str) -> None:
        backup = self.path.with_name(self.path.name + ".corrupt")
        try:
            os.replace(self.path, backup)
            kept = f"; it was kept as {backup}"
        except OSError:
            kept = ""
        self.problem = f"The last session's autosave could not be restored ({reason}){kept}."
        log.warning("%s", self.problem)

    def saved_at(self) -> float | None:
        try:
            value = read_json(self.path, max_bytes=MAX_AUTOSAVE_BYTES)["saved_at"]
        except (DataError, KeyError, TypeError):
            return None
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            return None
        return float(value) if 0 < value < 1e11 else None  # a time.localtime() can show

    def clear(self) -> None:
        try:
            self.path.unlink()
        except FileNotFoundError:
            pass


def _process_alive(pid: int) -> bool:
    if not 0 < pid < 2**31:  # os.kill overflows on larger ids (the file is untrusted)
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    except OSError:
        return False
    # A zombie or a reused pid of another program: check it is a Python process if we can.
    try:
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return True
    return b"python" in cmdline or b"reverie" in cmdline
