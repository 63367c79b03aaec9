"""Crash-safe autosave of a room's state, offered back after a crash or a kill.

Each room saves a JSON snapshot to ``<user data>/autosave/<room>.json`` (atomically) every
30 seconds and after each generation. A clean close that the user confirmed clears it, so a
snapshot found at start-up means the last session did not end cleanly: the room offers to
restore it. The snapshot records the writing process's id; one whose process is still alive
belongs to another running Reverie and is not offered.
"""

from __future__ import annotations

import json
import os
import re
import time
from pathlib import Path
from typing import Any

from desktop_app.core.atomic import atomic_write_json
from desktop_app.core.paths import autosave_dir

_ROOM_NAME = re.compile(r"^[a-z][a-z0-9_-]{0,40}$")


class AutosaveStore:
    """Snapshots for one room. Plain file I/O; call it from the GUI thread."""

    def __init__(self, room: str, folder: Path | None = None) -> None:
        if not _ROOM_NAME.match(room):
            raise ValueError(f"bad room name {room!r}")
        self.path = (folder or autosave_dir()) / f"{room}.json"

    def save(self, state: dict[str, Any]) -> None:
        atomic_write_json(self.path, {"pid": os.getpid(), "saved_at": time.time(), "state": state})

    def pending(self) -> dict[str, Any] | None:
        """The state left by a session that ended without a clean close, if any."""
        try:
            data = json.loads(self.path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return None
        if not isinstance(data, dict) or not isinstance(data.get("state"), dict):
            return None
        pid = data.get("pid")
        if isinstance(pid, int) and pid != os.getpid() and _process_alive(pid):
            return None
        return data["state"]

    def saved_at(self) -> float | None:
        try:
            return float(json.loads(self.path.read_text(encoding="utf-8"))["saved_at"])
        except (OSError, ValueError, KeyError, TypeError):
            return None

    def clear(self) -> None:
        try:
            self.path.unlink()
        except FileNotFoundError:
            pass


def _process_alive(pid: int) -> bool:
    if pid <= 0:
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
