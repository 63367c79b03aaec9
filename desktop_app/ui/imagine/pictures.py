"""Your picture and the morph for the Imagine room: open / drop files, A and B, make a morph.

A mixin for :class:`~desktop_app.ui.imagine.panel.ImaginePanel` (GUI thread only). Opening a
PNG that Reverie saved with this model restores its exact latent; any other picture (or a PNG
from another model, said so) is encoded by an ``EncodePictureJob`` and shown beside its
reconstruction. Unreadable, truncated or enormous files fail in the worker with one readable
sentence, shown in the room; nothing the room holds changes.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtWidgets import QFileDialog

from desktop_app.core.events import Event, Failed, Finished
from desktop_app.core.imaging import EncodePictureJob, LatentSource, MorphJob
from desktop_app.ui.imagine.history import LatentState
from desktop_app.ui.imagine.layout import ImagineWidgets
from desktop_app.ui.imagine.own_picture import OPEN_FILTER
from desktop_app.ui.imagine.png_meta import meta_problem, read_meta


class ImaginePicturesMixin(ImagineWidgets):
    """Pictures from files and the morph (expects the panel's widgets and job plumbing)."""

    def open_picture(self, path: str) -> bool:
        """Open a picture to edit: a Reverie PNG of this model restores its exact latent."""
        if self.model_info is None:
            self.show_message("The image model is still loading; open the picture again in a "
                              "moment.")
            return False
        meta, problem = read_meta(path)
        name = Path(path).name
        if meta is not None:
            problem = meta_problem(meta, self.model_info.name, self.model_info.fingerprint,
                                   self.model_info.latent_dim)
            if not problem:
                self.source = name
                state = LatentState.of(meta.base, meta.amounts)
                self.history.record(state, f"Open {name}")
                self._show_state(state)
                self.show_message(f"Opened {name} with its exact latent.")
                return True
        note = f"{name}: {problem}, so it opens as a plain picture." if problem else ""
        if note:
            self.show_message(note)
        job = EncodePictureJob(model=self.model_dir, path=str(path))
        self._side_jobs[job.job_id] = ("edit", (path, note))
        self.own.set_busy(path)
        self.tabs.setCurrentWidget(self.own)
        self._submit(job)
        return True

    def encode_morph_end(self, which: str, path: str) -> None:
        if self.model_info is None:
            return
        job = EncodePictureJob(model=self.model_dir, path=str(path))
        self._side_jobs[job.job_id] = (which, path)
        self._submit(job)

    def _on_encode_done(self, purpose: str, extra, event: Event) -> None:
        path, note = extra if purpose == "edit" else (extra, "")
        name = Path(path).name
        if isinstance(event, Failed):
            if purpose == "edit":
                self.own.show_error(event.message)
            self.show_message(f"Could not open {name}: {event.message}")
            return
        if not isinstance(event, Finished):
            return
        enc = event.result
        notes = f" ({'; '.join(enc.notes)})" if enc.notes else ""
        if purpose == "edit":
            self.own.show_result(enc)
            self.set_base(enc.latent, name, f"Open {name}")
            self.show_message((note + " " if note else "")
                              + f"Encoded {name}: error {enc.mse:.4f} per pixel{notes}.")
        else:
            self.morph.set_end(purpose, enc.latent, enc.reconstruction, name)
            if notes:
                self.show_message(f"{name}{notes}.")

    def _on_morph_end_requested(self, which: str, how: str) -> None:
        if how == "file":
            path, _ = QFileDialog.getOpenFileName(self, f"Picture for morph {which}", "",
                                                  OPEN_FILTER)
            if path:
                self.encode_morph_end(which, path)
        elif self.current_latent is not None:
            edited = " (edited)" if self.history.state.amounts else ""
            self.morph.set_end(which, self.current_latent, self.current_pixels,
                               (self.source or "current image") + edited)
        else:
            self.show_message("There is no current image yet: generate or open one first.")

    def _on_grid_use_as(self, index: int, which: str) -> None:
        cell = self.grid.cells[index]
        if cell.latent is not None:
            self.morph.set_end(which, cell.latent, cell.pixels, f"seed {cell.seed}")

    def make_morph(self) -> None:
        if not self.morph.ready() or self.model_info is None:
            self.show_message("Set both A and B first (from the current image, the grid or a "
                              "picture file).")
            return
        n = self.morph.framesSpin.value()
        a, b = self.morph.ends["A"].latent, self.morph.ends["B"].latent
        job = MorphJob(model=self.model_dir, start=LatentSource(latent=a),
                       end=LatentSource(latent=b), frames=n, method=self.morph.method())
        self._side_jobs[job.job_id] = ("morph", n)
        self.morph.start_frames(n)
        self._submit(job)
