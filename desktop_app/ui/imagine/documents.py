"""Files and autosave for the Imagine room: save / open / export / copy, autosave and restore.

A mixin for :class:`~desktop_app.ui.imagine.panel.ImaginePanel` (GUI thread only). Saving
writes a PNG that remembers its latent (:mod:`.png_meta`); Export writes the image upscaled
2×/4×/8×, pixel-exact or smooth; Copy puts it on the clipboard at the export size.

The room's state (model, noise temperature, grid seeds, latent and slider values, A and B, the
undo history) is autosaved by the room's
:class:`~desktop_app.ui.autosave.AutosaveController` (policy RECOVER), a few seconds after a
change and every 30 seconds. A snapshot found at start-up means the last session did not close
cleanly: the banner offers to restore it, as in the Write room.
"""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
from PySide6.QtCore import QSignalBlocker
from PySide6.QtGui import QGuiApplication
from PySide6.QtWidgets import QFileDialog

from desktop_app.core.errors import ReverieError
from desktop_app.core.imaging import DecodePathJob
from desktop_app.ui.autosave import AutosaveController, Policy
from desktop_app.ui.imagine.history import LatentState
from desktop_app.ui.imagine.image_view import to_qimage
from desktop_app.ui.imagine.layout import ImagineWidgets
from desktop_app.ui.imagine.png_meta import LatentMeta, pack_latent, save_png, unpack_latent, upscale

log = logging.getLogger(__name__)
AUTOSAVE_DELAY_MS = 3000


class ImagineDocumentsMixin(ImagineWidgets):
    """Save / open / export and autosave of the Imagine room (expects the panel's widgets)."""

    def init_autosave(self, interval_ms: int) -> None:
        """The room's :class:`AutosaveController` (crash recovery; the banner offers it)."""
        self.autosave = AutosaveController(
            self, "imagine", snapshot=self.autosave_state, apply=self._restore_state,
            report=lambda text: self.show_message(text), policy=Policy.RECOVER,
            question=_restore_question,
            worth_saving=lambda: self.history.state.base is not None,
            interval_ms=interval_ms, delay_ms=AUTOSAVE_DELAY_MS)

    # -- File menu ---------------------------------------------------------------------------
    def supports_documents(self) -> bool:
        return True

    def has_unsaved_changes(self) -> bool:
        return False   # the room's state is autosaved; nothing to ask about on close

    def new_document(self) -> None:
        """Start afresh: forget the history, A and B, and sample a new grid."""
        self.history.clear()
        self._show_state(LatentState())
        self.morph.clear_ends()
        self.source = ""
        if self.model_info is not None:
            self.generate()

    def open_file(self, path: str) -> bool:
        return self.open_picture(path)

    def current_meta(self) -> LatentMeta | None:
        state = self.history.state
        if state.base is None or self.model_info is None:
            return None
        return LatentMeta(model=self.model_info.name, fingerprint=self.model_info.fingerprint,
                          base=state.base, amounts=state.amounts_dict(),
                          latent=self.current_latent,
                          settings={"source": self.source, "temperature": self.temperature(),
                                    "category": self._grid_category,
                                    "guidance": self.guidance(),
                                    "seeds": list(self._grid_seeds)})

    def save(self) -> bool:
        if self.current_pixels is None:
            self.show_message("There is no image to save yet.")
            return False
        path, _ = QFileDialog.getSaveFileName(self, "Save the image (it remembers its latent)",
                                              "imagine.png", "PNG image (*.png)")
        if not path:
            return False
        return self.save_png_to(path if path.lower().endswith(".png") else path + ".png")

    def save_as(self) -> bool:
        return self.save()

    def save_png_to(self, path: str, *, scale: int = 1, smooth: bool = False) -> bool:
        """Write the current image as PNG with its latent; False with a message on failure."""
        if self.current_pixels is None:
            self.show_message("There is no image to save yet.")
            return False
        try:
            save_png(path, self.current_pixels, self.current_meta(), scale=scale, smooth=smooth)
        except ReverieError as exc:
            self.show_message(f"The image was not saved: {exc}")
            return False
        self.show_message(f"Saved {Path(path).name} ({scale}×); opening it again restores its "
                          "latent.")
        return True

    def export(self) -> None:
        if self.current_pixels is None:
            self.show_message("There is no image to export yet.")
            return
        scale = int(self.scaleCombo.currentData())
        path, _ = QFileDialog.getSaveFileName(self, f"Export the image at {scale}×",
                                              f"imagine-{scale}x.png", "PNG image (*.png)")
        if path:
            self.export_upscaled_to(path if path.lower().endswith(".png") else path + ".png",
                                    scale, self.exportSmoothCheck.isChecked())

    def export_upscaled_to(self, path: str, scale: int, smooth: bool = False) -> bool:
        return self.save_png_to(path, scale=scale, smooth=smooth)

    def copy_image(self) -> bool:
        if self.current_pixels is None:
            self.show_message("There is no image to copy yet.")
            return False
        scale = int(self.scaleCombo.currentData())
        pil = upscale(self.current_pixels, scale, self.exportSmoothCheck.isChecked())
        QGuiApplication.clipboard().setImage(to_qimage(np.asarray(pil)))
        self.show_message(f"Copied the image ({pil.width}×{pil.height}).")
        return True

    # -- autosave ----------------------------------------------------------------------------
    def schedule_autosave(self) -> None:
        self.autosave.changed()

    def autosave_state(self) -> dict:
        ends = {w: {"latent": pack_latent(e.latent), "source": e.source}
                for w, e in self.morph.ends.items() if e.latent is not None}
        return {"model_dir": self.model_dir, "temperature": self.temperature(),
                "guidance": self.guidance(), "category": self._grid_category,
                "seeds": list(self._grid_seeds), "source": self.source,
                "history": self.history.to_json(), "ends": ends,
                "frames": self.morph.framesSpin.value(), "method": self.morph.method(),
                "smooth": self.smoothCheck.isChecked()}

    def _restore_state(self, state: dict) -> bool:
        """Put an autosave back, loading its model first if another one is in use."""
        folder = state.get("model_dir")
        if self.model_info is not None and folder == self.model_dir:
            return self._apply_restored(state)
        if not folder or not Path(folder).is_dir():
            self.show_message(f"The autosaved model {folder!r} is gone; the state was not "
                              "restored.")
            return False
        self._after_model.append(lambda: self._apply_restored(state))
        self.request_model(folder)
        return True

    def _apply_restored(self, state: dict) -> bool:
        try:
            with QSignalBlocker(self.randomness.noiseSpin), \
                    QSignalBlocker(self.randomness.guidanceSpin):
                self.randomness.noiseSpin.setValue(float(state.get("temperature", 1)))
                self.randomness.guidanceSpin.setValue(float(state.get("guidance", 2)))
            category = state.get("category")
            self.set_category(category if isinstance(category, str) else None)
            self._grid_category = self.category()
            self._grid_seeds = [int(s) for s in state.get("seeds") or []]
            self.source = str(state.get("source") or "")
            self.smoothCheck.setChecked(bool(state.get("smooth")))
            self.morph.framesSpin.setValue(int(state.get("frames", 24)))
            index = self.morph.methodCombo.findData(state.get("method", "slerp"))
            self.morph.methodCombo.setCurrentIndex(max(0, index))
            ends = {w: (unpack_latent(e["latent"]), str(e.get("source", "")))
                    for w, e in (state.get("ends") or {}).items() if w in ("A", "B")}
            current = LatentState.from_json(state["history"].get("state") or {})
            if current.base is not None and current.base.size != self.model_info.latent_dim:
                raise ValueError("its latent does not fit the model")
            self.history.load_json(state["history"])
        except (KeyError, TypeError, ValueError) as exc:
            self.show_message(f"The autosave could not be restored ({exc}).")
            return False
        dim = self.model_info.latent_dim if self.model_info else 0
        ends = {w: v for w, v in ends.items() if v[0].size == dim}
        for which, (z, source) in ends.items():
            self.morph.set_end(which, z, None, source)
        if ends:   # decode the thumbnails of A and B
            order = sorted(ends)
            job = DecodePathJob(model=self.model_dir, latents=np.stack([ends[w][0] for w in order]))
            self._side_jobs[job.job_id] = ("ends", order)
            self._submit(job)
        if self._grid_seeds:
            self._update_grid_caption()
            self._on_temperature_chosen_silently()
        self.notice.emit("Restored the Imagine room from the last session.")
        return True


def _restore_question(state: dict, when: str) -> str | None:
    if not isinstance(state.get("history"), dict):
        return None
    return (f"Reverie did not close cleanly last time. Restore the Imagine room as it was at "
            f"{when} (image, sliders, A and B, history)?")
