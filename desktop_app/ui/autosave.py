"""One autosave for every room: the store, when to write, the restore banner, what a quit does.

GUI thread. A room composes one :class:`AutosaveController` and gives it three callables: what
to save (``snapshot() -> dict``), how to put a snapshot back (``apply(state) -> bool``) and the
sentence its banner asks with (``question(state, when) -> str | None``; None: nothing worth
offering). The controller owns the rest, the same way in every room:

* **when to write** — a moment (``delay_ms``) after the first change the room reports with
  :meth:`changed`, every ``interval_ms`` while something changed, and on every quit; never
  when nothing changed since the last snapshot (the room's ``revision()`` if it has one, else
  the count of :meth:`changed` calls). A write that fails says why in the room, once, and the
  room's text is never touched;
* **the snapshot** — ``AutosaveStore(<room>)``: atomic, validated when read back; a damaged
  one is set aside and the room says so in one sentence;
* **what a quit does and how the snapshot comes back** — the room's :class:`Policy`:

  ``RECOVER`` (Write, Imagine: rooms whose work the person saves or exports themselves): the
  snapshot is crash recovery. A clean quit, after the person has answered for their work,
  clears it; a snapshot found at start-up therefore means the last session ended without a
  clean close, and the banner offers it (Restore / Discard).

  ``KEEP`` (Compose: a room whose state *is* its work, never asked about on close): the
  snapshot is the room's state. Every quit writes it, and the room comes back as it was,
  without a question.

  A close nobody is there to answer (SIGTERM, logout: :meth:`keep_for_next_start`) always
  writes and keeps the snapshot, whatever the policy.
"""

from __future__ import annotations

import enum
import logging
import time
from typing import Callable

from PySide6.QtCore import QObject, QTimer
from PySide6.QtWidgets import QApplication, QFrame, QHBoxLayout, QLabel, QPushButton, QWidget

from desktop_app.core.autosave import AutosaveStore
from desktop_app.core.errors import ReverieError

log = logging.getLogger(__name__)


class Policy(enum.Enum):
    """What a clean quit does with the snapshot, and how it is offered back (see above)."""

    RECOVER = "recover"
    KEEP = "keep"


class RestoreBanner(QFrame):
    """"Reverie did not close cleanly last time. Restore …?" with Restore and Discard."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("restoreBanner")
        self.setStyleSheet("#restoreBanner { background: rgba(255, 200, 80, 70); "
                           "border-radius: 6px; }")
        self.label = QLabel("", self)
        self.label.setWordWrap(True)
        self.restoreButton = QPushButton("Restore", self)
        self.restoreButton.setObjectName("restoreButton")
        self.discardButton = QPushButton("Discard", self)
        self.discardButton.setObjectName("discardRestoreButton")
        row = QHBoxLayout(self)
        row.addWidget(self.label, 1)
        row.addWidget(self.restoreButton)
        row.addWidget(self.discardButton)
        self.hide()


class AutosaveController(QObject):
    """The autosave of one room (see the module docstring for the policy)."""

    def __init__(self, room: QWidget, name: str, *, snapshot: Callable[[], dict],
                 apply: Callable[[dict], bool], report: Callable[[str], None],
                 policy: Policy = Policy.RECOVER,
                 question: Callable[[dict, str], str | None] | None = None,
                 revision: Callable[[], object] | None = None,
                 worth_saving: Callable[[], bool] | None = None,
                 interval_ms: int | None = None, delay_ms: int | None = None) -> None:
        super().__init__(room)
        self.store = AutosaveStore(name)
        self.policy = policy
        self._snapshot, self._apply, self._report = snapshot, apply, report
        self._question = question
        self._revision = revision or (lambda: self._changes)
        self._worth_saving = worth_saving or (lambda: True)
        self._changes = 0
        self._saved_revision: object = None if revision else 0
        self._pending: dict | None = None
        self._keep = False
        #: When the last snapshot was written (``time.time()``), 0 before the first.
        self.last_saved = 0.0
        #: Shown by rooms with the RECOVER policy (the room places it in its layout).
        self.banner = RestoreBanner(room) if policy is Policy.RECOVER else None
        if self.banner is not None:
            self.banner.restoreButton.clicked.connect(self.restore_pending)
            self.banner.discardButton.clicked.connect(self.discard_pending)
        self.timer = QTimer(self, interval=interval_ms or 0, timeout=self.save_now)
        if interval_ms:
            self.timer.start()
        self._soon = QTimer(self, singleShot=True, interval=delay_ms or 0, timeout=self.save_now)
        self._use_soon = delay_ms is not None
        app = QApplication.instance()
        if app is not None:
            app.aboutToQuit.connect(self._on_quit)

    # -- writing -----------------------------------------------------------------------------
    def changed(self) -> None:
        """The room's state changed: write it a moment from now (once per ``delay_ms``)."""
        self._changes += 1
        if self._use_soon and not self._soon.isActive():
            self._soon.start()

    def forget_saved(self) -> None:
        """The room's document was replaced: the next write must happen even if the revision
        happens to equal the last saved one."""
        self._saved_revision = object()

    def save_now(self, force: bool = False) -> bool:
        """Write a snapshot if anything changed since the last (``force``: write anyway)."""
        revision = self._revision()
        if not force and (revision == self._saved_revision or not self._worth_saving()):
            return False
        try:
            self.store.save(self._snapshot())
        except (ReverieError, OSError) as exc:
            log.warning("autosave of %s failed: %s", self.store.path.stem, exc)
            self._report(f"Autosave failed: {exc}")
            return False
        self._saved_revision = revision
        self.last_saved = time.time()
        return True

    # -- offering it back --------------------------------------------------------------------
    def offer_restore(self) -> bool:
        """Offer a snapshot left by the last session: the banner (RECOVER) or straight back
        into the room (KEEP). True when offered or restored."""
        state = self.store.pending()  # validated; a damaged one is set aside
        if self.store.problem:
            self._report(self.store.problem)
        if not state:
            return False
        if self.policy is Policy.KEEP:
            return bool(self._apply(state))
        saved_at = self.store.saved_at()
        when = time.strftime("%H:%M", time.localtime(saved_at)) if saved_at else "earlier"
        text = self._question(state, when) if self._question else None
        if not text:
            return False
        self._pending = state
        self.banner.label.setText(text)
        self.banner.show()
        return True

    def pending(self) -> dict | None:
        """The snapshot the banner is offering, if any."""
        return self._pending

    def restore_pending(self) -> bool:
        state, self._pending = self._pending, None
        if self.banner is not None:
            self.banner.hide()
        return bool(state) and bool(self._apply(state))

    def discard_pending(self) -> None:
        self._pending = None
        if self.banner is not None:
            self.banner.hide()
        self.store.clear()

    # -- quitting ----------------------------------------------------------------------------
    def keep_for_next_start(self) -> None:
        """A close nobody answers (SIGTERM, logout): write now and keep it through the quit."""
        self._keep = True
        self.save_now()

    @property
    def kept_for_next_start(self) -> bool:
        return self._keep

    def _on_quit(self) -> None:
        if self._keep:
            return
        if self.policy is Policy.KEEP:
            self.save_now()
        else:   # a clean quit after the person answered for their work: nothing to recover
            self.store.clear()
