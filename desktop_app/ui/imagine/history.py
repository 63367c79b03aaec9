"""Undo and redo of every latent change in the Imagine room (a QUndoStack). GUI thread only.

The room's latent state is a :class:`LatentState`: the base latent (a sampled seed, a picked
variation, an encoded picture, a morph frame) plus the slider amounts. Each change is one
:class:`LatentCommand` holding the states before and after, so undo and redo restore the
latents bit for bit. The first image of a session is not a step (there is nothing before it
to go back to). Consecutive moves of the same slider by keyboard or wheel within a
second merge into one step; a mouse drag is recorded once, when it ends.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np
from PySide6.QtCore import QObject, Signal
from PySide6.QtGui import QUndoCommand, QUndoStack

from desktop_app.ui.imagine.png_meta import pack_latent, unpack_latent

MERGE_WINDOW_S = 1.0
_MERGE_ID = 7301


@dataclass(frozen=True, eq=False)
class LatentState:
    base: np.ndarray | None = None
    amounts: tuple[tuple[str, float], ...] = ()

    @classmethod
    def of(cls, base, amounts: dict[str, float] | None = None) -> "LatentState":
        b = None if base is None else np.array(base, np.float32, copy=True).ravel()
        items = tuple(sorted((str(k), float(v)) for k, v in (amounts or {}).items() if v))
        return cls(b, items)

    def amounts_dict(self) -> dict[str, float]:
        return dict(self.amounts)

    def same_as(self, other: "LatentState") -> bool:
        if (self.base is None) != (other.base is None) or self.amounts != other.amounts:
            return False
        return self.base is None or np.array_equal(self.base, other.base)

    def to_json(self) -> dict:
        return {"base": None if self.base is None else pack_latent(self.base),
                "amounts": dict(self.amounts)}

    @classmethod
    def from_json(cls, d: dict) -> "LatentState":
        base = d.get("base")
        return cls.of(None if base is None else unpack_latent(base), dict(d.get("amounts") or {}))


class LatentCommand(QUndoCommand):
    """One latent change; redo/undo hand the after/before state to the history."""

    def __init__(self, history: "LatentHistory", before: LatentState, after: LatentState,
                 text: str, merge_key: str | None = None) -> None:
        super().__init__(text)
        self.history, self.before, self.after = history, before, after
        self.merge_key = merge_key
        self.stamp = time.monotonic()
        self._first = True

    def id(self) -> int:  # noqa: A003 - Qt API
        return _MERGE_ID if self.merge_key else -1

    def mergeWith(self, other: QUndoCommand) -> bool:  # noqa: N802 - Qt API
        if not isinstance(other, LatentCommand) or other.merge_key != self.merge_key:
            return False
        if other.stamp - self.stamp > MERGE_WINDOW_S:
            return False
        self.after, self.stamp = other.after, other.stamp
        return True

    def redo(self) -> None:
        if self._first:   # the change is already on screen when it is recorded
            self._first = False
            return
        self.history.apply(self.after)

    def undo(self) -> None:
        self.history.apply(self.before)


class LatentHistory(QObject):
    """The state now shown and the stack of changes that led to it."""

    #: A state to show (after undo / redo / restore); the panel decodes it.
    state_applied = Signal(object)

    def __init__(self, parent: QObject | None = None, *, limit: int = 200) -> None:
        super().__init__(parent)
        self.stack = QUndoStack(self)
        self.stack.setUndoLimit(limit)
        self.state = LatentState()

    def record(self, after: LatentState, text: str, merge_key: str | None = None) -> bool:
        """Push the change from the current state to ``after`` (already shown); False if none."""
        if after.same_as(self.state):
            return False
        if self.state.base is None:   # the first image: nothing to go back to
            self.state = after
            return False
        before, self.state = self.state, after
        self.stack.push(LatentCommand(self, before, after, text, merge_key))
        return True

    def apply(self, state: LatentState) -> None:
        self.state = state
        self.state_applied.emit(state)

    def undo(self) -> None:
        self.stack.undo()

    def redo(self) -> None:
        self.stack.redo()

    def clear(self, state: LatentState | None = None) -> None:
        self.stack.clear()
        self.state = state or LatentState()

    # -- autosave ----------------------------------------------------------------------------
    def to_json(self, keep: int = 50) -> dict:
        """The last ``keep`` steps, the position in them and the current state."""
        n = self.stack.count()
        first = max(0, n - keep)
        steps = []
        for i in range(first, n):
            cmd = self.stack.command(i)
            steps.append({"text": cmd.text(), "before": cmd.before.to_json(),
                          "after": cmd.after.to_json()})
        return {"steps": steps, "index": self.stack.index() - first,
                "state": self.state.to_json()}

    def load_json(self, d: dict) -> None:
        """Rebuild the stack from :meth:`to_json` and apply its current state."""
        self.stack.clear()
        steps = list(d.get("steps") or [])
        for s in steps:
            cmd = LatentCommand(self, LatentState.from_json(s["before"]),
                                LatentState.from_json(s["after"]), str(s.get("text", "")))
            self.stack.push(cmd)
        index = int(d.get("index", len(steps)))
        self.stack.setIndex(max(0, min(index, len(steps))))
        self.apply(LatentState.from_json(d.get("state") or {}))
