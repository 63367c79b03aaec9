"""The latent being edited in the Imagine room: the base, the sliders, decoding, the caption.

A mixin for :class:`~desktop_app.ui.imagine.panel.ImaginePanel` (GUI thread only). Every
latent change is one undo step (:mod:`.history`); a slider drag is shown as it moves and
recorded once when it ends. Decodes are throttled: the first goes out at once, further ones
at most one per ``debounce_ms`` and never more than one in flight, each submitted with
``supersede=True``; only the image of the latest decode job is shown.
"""

from __future__ import annotations

import numpy as np

from desktop_app.core.events import Cancelled, Event, Failed, Finished, ImageReady
from desktop_app.core.imaging import DecodeLatentJob, direction_label
from desktop_app.ui.imagine.history import LatentState
from desktop_app.ui.imagine.layout import ImagineWidgets

TERMINAL = (Finished, Failed, Cancelled)


class ImagineLatentMixin(ImagineWidgets):
    """The base latent, slider moves and their decodes (expects the panel's job plumbing)."""

    def set_base(self, latent, source: str, undo_text: str) -> None:
        """Make ``latent`` the image to edit (sliders back to 0); one undo step."""
        self.source = source
        state = LatentState.of(latent, {})
        self.history.record(state, undo_text)
        self._show_state(state)

    def _show_state(self, state: LatentState) -> None:
        self.history.state = state
        self.sliders.set_amounts(state.amounts_dict())
        if state.base is None:
            self.current_latent = self.current_pixels = None
            self.imageView.set_image(None)
            self._update_caption()
        else:
            self._update_caption()
            self.request_decode()
        self.schedule_autosave()

    def _on_amounts_changed(self, amounts: dict) -> None:
        if self.history.state.base is None:
            return
        new = LatentState.of(self.history.state.base, amounts)
        if self.sliders.is_dragging():      # shown now, recorded once when the drag ends
            if self._drag_before is None:
                self._drag_before = self.history.state
            self.history.state = new
        else:
            old = self.history.state.amounts_dict()
            moved = [n for n in set(old) | set(amounts) if old.get(n) != amounts.get(n)]
            if len(moved) == 1:
                self.history.record(new, f"Move {direction_label(moved[0])}",
                                    merge_key=f"slider:{moved[0]}")
            else:
                self.history.record(new, "Reset sliders")
            self.schedule_autosave()
        self._update_caption()
        self.request_decode()

    def _on_slider_gesture_finished(self, name: str) -> None:
        before, self._drag_before = self._drag_before, None
        if not name or before is None:
            return
        after, self.history.state = self.history.state, before
        self.history.record(after, f"Move {direction_label(name)}")
        self.schedule_autosave()

    def request_decode(self) -> None:
        """Decode the current state now, or as soon as the throttle and the engine allow."""
        if self.history.state.base is None or self.model_info is None:
            return
        if self._decode_in_flight or self._throttle.isActive():
            self._decode_pending = True
            return
        self._submit_decode()

    def _submit_decode(self) -> None:
        state = self.history.state
        self._decode_pending = False
        job = DecodeLatentJob(model=self.model_dir, latent=np.array(state.base, np.float32),
                              directions=state.amounts)
        self._decode_job = job.job_id
        self._decode_in_flight = True
        self._throttle.start()
        self._submit(job, supersede=True)

    def _on_throttle_timeout(self) -> None:
        if self._decode_pending and not self._decode_in_flight:
            self._submit_decode()

    def _on_decode_event(self, event: Event) -> None:
        if isinstance(event, ImageReady) and event.job_id == self._decode_job:
            self.current_latent = np.array(event.latent, np.float32)
            self.current_pixels = event.pixels
            self.imageView.set_image(event.pixels)
            self._update_caption()
            self._publish_latent()
        elif isinstance(event, TERMINAL):
            if event.job_id == self._decode_job:
                self._decode_in_flight = False
                if isinstance(event, Failed):
                    self.show_message(f"The image could not be decoded: {event.message}")
                if self._decode_pending and not self._throttle.isActive():
                    self._submit_decode()

    def _update_caption(self) -> None:
        if self.history.state.base is None:
            self.caption.setText("")
            return
        moves = ", ".join(f"{direction_label(n)} {v:+.2f}σ" for n, v in
                          self.history.state.amounts)
        name = self.model_info.name if self.model_info else ""
        self.caption.setText(" · ".join(x for x in (self.source, name, moves) if x))

    def _update_history_buttons(self, _index: int = 0) -> None:
        try:
            stack = self.history.stack
            stack.count()
        except RuntimeError:   # the panel is being destroyed
            return
        self.undoButton.setEnabled(self.history.stack.canUndo())
        self.redoButton.setEnabled(self.history.stack.canRedo())
        self.undoButton.setToolTip(f"Undo {self.history.stack.undoText()} (Ctrl+Z)")
        self.redoButton.setToolTip(f"Redo {self.history.stack.redoText()} (Ctrl+Shift+Z)")
