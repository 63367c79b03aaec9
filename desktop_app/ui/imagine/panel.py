"""The Imagine room (objectName ``imaginePanel``): seeds, latent sliders, morphs, your picture.

Lives on the GUI thread and talks to the worker only through engine jobs and their events:
``LoadImageModelJob`` (load a model, its directions and fingerprint), ``SeedGridJob`` (the 3×3
grid, the room's Generate job), ``DecodeLatentJob`` (the image following the sliders),
``EncodePictureJob`` (your picture, or a morph end from a file) and ``MorphJob``.

Slider drags and decoding live in :mod:`.latent_edit` (throttled to one decode per
``debounce_ms``, 15 ms); files and autosave in :mod:`.documents`; your picture and the morph
in :mod:`.pictures`. This module holds the model, the seed grid and the job routing.
"""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
from PySide6.QtCore import QEvent, QSignalBlocker, QTimer
from PySide6.QtGui import QKeySequence
from PySide6.QtWidgets import QFileDialog

from desktop_app.core.events import Cancelled, Event, Failed, Finished, ImageReady, Progress
from desktop_app.core.imaging import (LoadImageModelJob, SeedGridJob, category_label,
                                      direction_label)
from desktop_app.core.paths import IMAGE_MODEL
from desktop_app.ui.imagine.documents import ImagineDocumentsMixin
from desktop_app.ui.imagine.pictures import ImaginePicturesMixin
from desktop_app.ui.imagine.history import LatentHistory, LatentState
from desktop_app.ui.imagine.latent_edit import TERMINAL, ImagineLatentMixin
from desktop_app.ui.imagine.layout import build_layout
from desktop_app.ui.room_base import RoomPanel

log = logging.getLogger(__name__)
DEFAULT_MODEL = IMAGE_MODEL
GRID_SIZE = 9


class ImaginePanel(ImaginePicturesMixin, ImagineDocumentsMixin, ImagineLatentMixin,
                   RoomPanel):
    """The Imagine room panel (GUI thread)."""

    room_id = "imagine"
    title = "Imagine"
    tagline = "Sample images from a seed and wander through a latent space."
    model_kind = "image"
    generates = True
    available = True
    randomness_fields = ("noise", "guidance")   # the seed, plus what steers the image prior

    def __init__(self, engine, randomness, parent=None, *, model: str | None = None,
                 autoload: bool = True, debounce_ms: int = 15,
                 autosave_ms: int = 30_000) -> None:
        super().__init__(engine, randomness, parent)
        self.model_dir: str | None = None
        self.model_info = None
        self.history = LatentHistory(self)
        self.current_latent: np.ndarray | None = None
        self.current_pixels: np.ndarray | None = None
        self.source = ""                       # what the base latent is ("seed 12", a file)
        self._requested_model = model
        self._autoload = autoload
        self._shown_once = False
        self._model_job = None
        self._decode_job = None                # latest decode submitted (the one to show)
        self._decode_in_flight = False
        self._decode_pending = False
        self._side_jobs: dict[int, tuple] = {}  # job id -> (purpose, extra)
        self._grid_seeds: list[int] = []
        self._grid_category: str | None = None
        self._after_model: list = []           # callbacks once a model is loaded
        self._open_after_model: tuple | None = None   # a map point waiting for its model
        self._drag_before: LatentState | None = None
        self._state_at_grid: LatentState | None = None
        self.init_autosave(autosave_ms)
        build_layout(self)
        self._throttle = QTimer(self, singleShot=True, interval=debounce_ms,
                                timeout=self._on_throttle_timeout)
        self._autoload_timer = QTimer(self, singleShot=True, interval=300,
                                      timeout=self.load_default_model)
        self._connect()
        self._update_history_buttons()
        self._fill_model_picker(self.model_scan().of_kind("image"))

    def _connect(self) -> None:
        self.engine.event.connect(self._on_side_event)
        self.modelPicker.activated.connect(self._on_model_picker_activated)
        self.randomness.image_sampling_changed.connect(self._on_sampling_changed)
        self.categoryCombo.activated.connect(lambda _i: self._on_sampling_changed())
        self.grid.picked.connect(self.pick_cell)
        self.grid.use_as.connect(self._on_grid_use_as)
        self.sliders.amounts_changed.connect(self._on_amounts_changed)
        self.sliders.gesture_finished.connect(self._on_slider_gesture_finished)
        self.history.state_applied.connect(self._show_state)
        self.history.stack.indexChanged.connect(self._update_history_buttons)
        self.undoButton.clicked.connect(self.history.undo)
        self.redoButton.clicked.connect(self.history.redo)
        self.smoothCheck.toggled.connect(self.imageView.set_smooth)
        self.imageView.file_dropped.connect(self.open_picture)
        self.own.open_requested.connect(self.open_picture)
        self.morph.end_requested.connect(self._on_morph_end_requested)
        self.morph.end_file_dropped.connect(self.encode_morph_end)
        self.morph.make_requested.connect(self.make_morph)
        self.morph.frame_chosen.connect(lambda z: self.set_base(z, "a morph frame",
                                                                "Use morph frame"))
        self.morph.message.connect(self.show_message)
        self.savePngButton.clicked.connect(self.save)
        self.copyButton.clicked.connect(self.copy_image)
        self.exportButton.clicked.connect(self.export)

    # -- showing and models ------------------------------------------------------------------
    def showEvent(self, event) -> None:  # noqa: N802 - Qt override
        super().showEvent(event)
        if not self._shown_once:
            self._shown_once = True
            self.autosave.offer_restore()
            if self._autoload and self.model_dir is None and self._model_job is None:
                self._autoload_timer.start()
        self._publish_latent()

    def models_changed(self, scan) -> None:
        super().models_changed(scan)
        self._fill_model_picker(scan.of_kind("image"))

    def model_in_use(self) -> str | None:
        return self.model_dir

    def open_from_map(self, kind: str, payload: dict) -> None:
        """Edit the map's point: its latent becomes the base (after loading its model). A
        model alone (the Train room's "Open in Imagine") is loaded as if picked."""
        if payload.get("latent") is None:
            if payload.get("model") and str(payload["model"]) != self.model_dir:
                self.request_model(str(payload["model"]))
            return
        z = np.asarray(payload["latent"], np.float32)
        name = f"Explore: {payload.get('name', '')}"
        if Path(str(self.model_dir or "")).name == Path(str(payload["model"])).name:
            self.set_base(z, name, "Open from the map")
        else:   # after the model's first grid (as if the person had opened it then)
            self._open_after_model = (str(payload["model"]), z, name)
            self.request_model(payload["model"])

    def _publish_latent(self) -> None:
        """Tell the maps where this room's current latent falls (the star), while the room is
        the one shown (the latent a person is looking at)."""
        if self.current_latent is not None and self.model_dir and self.isVisible():
            self.bus.set_current_latent.emit(self.model_dir, self.current_latent)

    def _fill_model_picker(self, models) -> None:
        with QSignalBlocker(self.modelPicker):
            self.modelPicker.clear()
            for m in models:
                label = m.name + ("" if m.source == "built-in" else f" ({m.source})")
                self.modelPicker.addItem(label + (" — unusable" if m.problem else ""), str(m.path))
                self.modelPicker.setItemData(self.modelPicker.count() - 1,
                                             m.problem or str(m.path), 3)
            self.modelPicker.addItem("Open model folder…", None)
            self._select_model_in_picker()

    def _select_model_in_picker(self) -> None:
        with QSignalBlocker(self.modelPicker):
            folder = self.model_dir
            index = self.modelPicker.findData(folder) if folder else -1
            if folder and index < 0:
                self.modelPicker.insertItem(self.modelPicker.count() - 1,
                                            f"{Path(folder).name} (folder)", folder)
                index = self.modelPicker.findData(folder)
            self.modelPicker.setCurrentIndex(index)

    def load_default_model(self) -> None:
        if self.model_dir is not None or self._model_job is not None:
            return
        if self._requested_model:
            self.request_model(self._requested_model)
            return
        folders = [self.modelPicker.itemData(i) for i in range(self.modelPicker.count())]
        folders = [f for f in folders if f]
        chosen = next((f for f in folders if Path(f).name == DEFAULT_MODEL),
                      folders[0] if folders else None)
        if chosen is None:
            self.show_message("No image model is installed. Train one in the Train room, or "
                              "reinstall Reverie to restore the built-in models.")
            return
        self.request_model(chosen)

    def request_model(self, model: str) -> None:
        """Load ``model`` (a name or folder); the room keeps the previous one if it fails."""
        job = LoadImageModelJob(model=str(model))
        self._model_job = job.job_id
        self.modelDetails.setText(f"Loading {Path(str(model)).name}…")
        self._submit(job)

    def _on_model_picker_activated(self, index: int) -> None:
        folder = self.modelPicker.itemData(index)
        if folder is None:
            folder = QFileDialog.getExistingDirectory(self, "Open an image model folder")
            if not folder:
                self._select_model_in_picker()
                return
        if folder != self.model_dir:
            self.request_model(folder)

    def _on_model_event(self, event: Event) -> None:
        if isinstance(event, Progress):
            self.modelDetails.setText(event.message or "Loading…")
        elif isinstance(event, Finished):
            self._model_job = None
            self._set_model(event.result)
        elif isinstance(event, Failed):
            self._model_job = None
            keep = (f" Still using {self.model_info.name}." if self.model_info else "")
            self.modelDetails.setText("")
            self.show_message(f"Could not load the image model: {event.message}{keep}")
            self._select_model_in_picker()
        elif isinstance(event, Cancelled):
            self._model_job = None

    def _set_model(self, info) -> None:
        changed = self.model_info is None or info.fingerprint != self.model_info.fingerprint
        old_dim = self.model_info.latent_dim if self.model_info else None
        self.model_info, self.model_dir = info, info.model_dir
        names = [direction_label(d.name) for d in info.directions if d.kind != "pca"]
        self.modelDetails.setText(
            f"<b>{info.name}</b> · {info.image_size}×{info.image_size} "
            f"{'colour' if info.channels == 3 else 'grey'} · {info.latent_dim}-D latent · "
            f"{len(info.directions)} directions" + (f" ({', '.join(names)})" if names else ""))
        self._select_model_in_picker()
        self._enable_categories(info)
        if changed:
            self.sliders.set_directions(info.directions)
            if old_dim is not None:     # another model: the old latents mean nothing here
                self.history.clear()
                self._show_state(LatentState())
                self.morph.clear_ends()
        callbacks, self._after_model = self._after_model, []
        for callback in callbacks:
            callback()
        if self.history.state.base is None:   # nothing restored or opened: a first grid
            self.generate()
        opened = self._open_after_model
        if opened is not None and Path(opened[0]).name == Path(str(self.model_dir)).name:
            self._open_after_model = None
            self.set_base(opened[1], opened[2], "Open from the map")

    # -- generate: the grid ------------------------------------------------------------------
    def temperature(self) -> float:
        """The noise temperature (the Randomness panel's Noise)."""
        return self.randomness.noise()

    def guidance(self) -> float:
        return self.randomness.guidance()

    def category(self) -> str | None:
        """The chosen category key (``imaging.CATEGORIES``), None for Any."""
        return self.categoryCombo.currentData()

    def set_category(self, key: str | None) -> None:
        index = self.categoryCombo.findData(key)
        if index < 0 or not self.categoryCombo.model().item(index).isEnabled():
            index = 0
        self.categoryCombo.setCurrentIndex(index)

    def _enable_categories(self, info) -> None:
        """Only the categories the model's learned prior knows can be picked."""
        known = set(getattr(info, "categories", ()) or ())
        model = self.categoryCombo.model()
        for i in range(1, self.categoryCombo.count()):
            model.item(i).setEnabled(self.categoryCombo.itemData(i) in known)
        self.categoryCombo.setEnabled(bool(known))
        self.categoryCombo.setToolTip(
            "What to draw: Any, or one Unicode emoji group" if known else
            "This model has no learned prior, so it cannot be asked for a category")
        if self.category() not in known:
            self.categoryCombo.setCurrentIndex(0)

    def _grid_job(self, seeds) -> SeedGridJob:
        category = self.category()
        return SeedGridJob(model=self.model_dir, seeds=tuple(seeds),
                           temperature=self.temperature(), category=category,
                           guidance=self.guidance())

    def _update_grid_caption(self) -> None:
        if not self._grid_seeds:
            self.gridCaption.setText("")
            return
        first, last = self._grid_seeds[0], self._grid_seeds[-1]
        self.gridCaption.setText(f"{category_label(self._grid_category)} · seeds {first}–{last}")

    def build_job(self, sampler, seed: int):
        if self.model_info is None:
            self.show_message("The image model is still loading; try again in a moment.")
            return None
        seeds = [seed + i for i in range(GRID_SIZE)]
        self._grid_seeds = seeds
        self._grid_category = self.category()
        self._update_grid_caption()
        self._state_at_grid = self.history.state   # pick cell 0 only if nothing else came
        self.grid.clear(seeds)
        return self._grid_job(seeds)

    def on_job_event(self, event: Event) -> None:
        if isinstance(event, ImageReady):
            self.grid.set_cell(event.index, event.pixels, self._grid_seeds[event.index],
                               event.latent)
        elif isinstance(event, Finished):
            state = self.history.state
            if state.base is None or state is self._state_at_grid:
                self.pick_cell(0)

    def pick_cell(self, index: int) -> None:
        z = self.grid.latent(index)
        if z is not None:
            self.grid.select(index)
            label = f"seed {self.grid.seed(index)}"
            if self._grid_category is not None:
                label += f" ({category_label(self._grid_category)})"
            self.set_base(z, label, f"Pick {label}")

    def _on_sampling_changed(self) -> None:
        """Noise, guidance or category changed: re-sample the same seeds, re-pick the cell."""
        selected = next((c.index for c in self.grid.cells if c.selected), 0)
        self._resample_grid(selected)

    def _on_temperature_chosen_silently(self) -> None:
        self._resample_grid(None)

    def _resample_grid(self, pick: int | None) -> None:
        if self._grid_seeds and self.model_info is not None and not self.is_running():
            self._grid_category = self.category()
            self._update_grid_caption()
            job = self._grid_job(self._grid_seeds)
            self._side_jobs[job.job_id] = ("regrid", pick)
            self._submit(job, supersede=True)

    # -- events ------------------------------------------------------------------------------
    def _submit(self, job, supersede: bool = False) -> None:
        try:
            self.engine.submit(job, supersede=supersede)
        except RuntimeError:   # the engine was shut down: the window is closing
            self._side_jobs.pop(job.job_id, None)

    def _on_side_event(self, event: Event) -> None:
        jid = event.job_id
        if jid == self._model_job:
            self._on_model_event(event)
        elif jid == self._decode_job:
            self._on_decode_event(event)
        elif jid in self._side_jobs:
            purpose, extra = self._side_jobs[jid]
            if isinstance(event, TERMINAL):
                del self._side_jobs[jid]
            if purpose == "morph":
                if isinstance(event, ImageReady):
                    self.morph.set_frame(event.index, event.pixels, event.latent)
                elif isinstance(event, TERMINAL):
                    self.morph.finish_frames(isinstance(event, Finished))
                    if isinstance(event, Failed):
                        self.show_message(f"The morph failed: {event.message}")
            elif purpose == "regrid":
                if isinstance(event, ImageReady):
                    self.grid.set_cell(event.index, event.pixels,
                                       self._grid_seeds[event.index], event.latent)
                elif isinstance(event, Finished) and extra is not None:
                    self.pick_cell(extra)
            elif purpose == "ends":
                if isinstance(event, ImageReady) and event.index < len(extra):
                    end = self.morph.ends[extra[event.index]]
                    self.morph.set_end(extra[event.index], end.latent, event.pixels, end.source)
            elif isinstance(event, TERMINAL):
                self._on_encode_done(purpose, extra, event)

    def show_message(self, message: str) -> None:
        self.messageLabel.setText(message)
        self.messageLabel.setVisible(bool(message))
        if message:
            self.notice.emit(message)

    # -- keys: Ctrl+Z / Ctrl+Shift+Z / Ctrl+C inside the room ----------------------------
    _KEYS = {QKeySequence.StandardKey.Undo: "undo", QKeySequence.StandardKey.Redo: "redo",
             QKeySequence.StandardKey.Copy: "copy_image"}

    def _key_action(self, event) -> str | None:
        return next((name for key, name in self._KEYS.items() if event.matches(key)), None)

    def event(self, event) -> bool:  # noqa: D401 - Qt API
        # A focused child that does not use the key lets it reach the room (e.g. a slider
        # with Ctrl+Z): take it before the window's Edit menu, which routes to text widgets.
        if event.type() == QEvent.Type.ShortcutOverride and self._key_action(event):
            event.accept()
            return True
        return super().event(event)

    def keyPressEvent(self, event) -> None:  # noqa: N802 - Qt API
        action = self._key_action(event)
        if action:
            getattr(self, action)()
            event.accept()
        else:
            super().keyPressEvent(event)

    def undo(self) -> None:
        self.history.undo()

    def redo(self) -> None:
        self.history.redo()

    def stop(self) -> None:
        super().stop()
        for jid in list(self._side_jobs):
            self.engine.cancel(jid)
