"""The Write room: a document a local language model continues, with every control in reach.

Lives on the GUI thread. It assembles the editor, the find bar, the variants view, the
distribution inspector, the token view, the advanced sampler section, the model picker and the
context gauge, and runs three kinds of engine jobs: ``TextGenerationJob`` (its own job, through
:class:`RoomPanel`'s generate/stop flow and seed contract), ``LoadTextModelJob`` and
``NextTokenLogitsJob`` (latest request wins). Documents, autosave and restore are in
:mod:`desktop_app.ui.write.documents`.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path

from PySide6.QtCore import QTimer, Qt
from PySide6.QtGui import QKeySequence, QShortcut, QTextCursor
from PySide6.QtWidgets import QApplication

from desktop_app.core import paths
from desktop_app.core.documents import GenerationRecord, WritingSession
from desktop_app.core.events import Cancelled, Event, Failed, Finished, Progress, TokenChunk
from desktop_app.core.textgen import LoadTextModelJob, TextGenerationJob, TokenInfo
from desktop_app.ui.room_base import RoomPanel
from desktop_app.ui.write.documents import DocumentsMixin
from desktop_app.ui.write.inspection import InspectionMixin
from desktop_app.ui.write.layout import DEFAULT_CONTEXT, build_layout
from desktop_app.ui.write.serving import ServingMixin

log = logging.getLogger(__name__)

AUTOSAVE_MS = 30_000
INSPECT_DELAY_MS = 300
COUNT_DELAY_MS = 250
DEFAULT_MODEL = paths.WRITING_MODEL
PRELOAD_DELAY_MS = 800  # after the first paint and the engine's warm-up job was queued


@dataclass
class Request:
    """What the running generation is doing (GUI thread only)."""

    mode: str  # "continue" | "regenerate" | "alternative" | "variants" | "instruction"
    prompt: str
    position: int = 0
    replace: tuple[int, int] | None = None
    variants: int = 1
    chat: bool = False
    prefix_tokens: list = field(default_factory=list)
    prefix_text: str = ""
    job: TextGenerationJob | None = None
    span: object = None
    anchor: QTextCursor | None = None
    results: tuple = ()


class WritePanel(ServingMixin, InspectionMixin, DocumentsMixin, RoomPanel):
    """The Write room (objectName ``writePanel``)."""

    room_id = "write"
    title = "Write"
    tagline = "Continue a draft with a local language model."
    model_kind = "text"
    precision = "auto"  # text weight precision (Preferences → preferences_changed)
    generates = True
    available = True
    # Stop keeps the text generated so far in the document: that seed has been used.
    new_seed_after_stop = True

    def __init__(self, engine, randomness, parent=None, *, model_dir: str | None = None,
                 autoload: bool | None = None, autosave_ms: int = AUTOSAVE_MS) -> None:
        super().__init__(engine, randomness, parent)
        self.session = WritingSession()
        self.path: Path | None = None
        self.model_dir: str | None = model_dir
        self.model_info = None
        self._model_sha: dict[str, str] = {}
        self.request: Request | None = None
        self._load_job_id = None
        self._inspect_job_id = None
        self._inspected_breakers: tuple = ()
        self._variants_request: Request | None = None
        self._restored_path: str | None = None
        # Preload the default model in the background once the room is shown. Not on an
        # engine that runs jobs inline (tests), where "background" would block the GUI thread.
        self._autoload = engine.runs_in_background if autoload is None else autoload
        self._shown_once = False
        self.init_autosave(autosave_ms)
        build_layout(self)
        self._connect()
        self.inspector.set_settings(randomness.settings())
        self._update_title()
        self._on_text_changed()
        if model_dir:
            self.request_model(model_dir)

    def _connect(self) -> None:
        e = self.editor
        self._inspect_timer = QTimer(self, singleShot=True, interval=INSPECT_DELAY_MS,
                                     timeout=self.request_inspection)
        self._count_timer = QTimer(self, singleShot=True, interval=COUNT_DELAY_MS,
                                   timeout=self._update_counts)
        e.textChanged.connect(self._on_text_changed)
        e.cursorPositionChanged.connect(self._inspect_timer.start)
        e.document().modificationChanged.connect(lambda _m: self._update_title())
        e.token_hovered.connect(self._on_token_hovered)
        e.token_clicked.connect(self.token_view.show_token)
        e.file_dropped.connect(self._on_file_dropped)
        e.token_clicked.connect(lambda *_: self.side_tabs.setCurrentWidget(self.token_page))
        self.token_view.alternative_chosen.connect(self.choose_alternative)
        e.alternative_requested.connect(self.choose_alternative)
        self.token_view.colour_toggled.connect(e.set_colour_by_probability)
        self.variants_view.insert_requested.connect(self.insert_variant)
        self.picker.model_requested.connect(self.request_model)
        self.picker.server_requested.connect(self.request_server)
        self.randomness.changed.connect(self._on_settings_changed)
        self.advanced.message.connect(self.notice)
        self.find_bar.status.connect(self.notice)
        self.engine.event.connect(self._on_side_event)
        self.running_changed.connect(self._on_running_changed)
        self.regenerateButton.clicked.connect(self.regenerate)
        self.acceptButton.clicked.connect(e.accept_generated)
        e.textChanged.connect(self._update_generation_buttons)   # an undo or an edit
        e.generated_changed.connect(self._update_generation_buttons)
        self._update_generation_buttons()
        self.history_list.itemDoubleClicked.connect(
            lambda item: self.reuse_generation(self.history_list.row(item)))
        self.openings.itemClicked.connect(lambda item: self.use_opening(item.text()))
        self.instructionCheck.toggled.connect(self.instructionEdit.setVisible)
        self.instructionCheck.toggled.connect(self.systemEdit.setVisible)
        self.contextSpin.valueChanged.connect(lambda _v: self._inspect_timer.start())
        self.side_tabs.currentChanged.connect(lambda _i: self._inspect_timer.start())
        ctx = Qt.ShortcutContext.WidgetWithChildrenShortcut
        QShortcut(QKeySequence.StandardKey.Find, self, lambda: self.find_bar.open_find(False),
                  context=ctx)
        QShortcut(QKeySequence("Ctrl+H"), self, lambda: self.find_bar.open_find(True), context=ctx)
        QShortcut(QKeySequence("Ctrl+R"), self, self.regenerate, context=ctx)

    # -- showing ---------------------------------------------------------------------------
    def showEvent(self, event) -> None:  # noqa: N802 - Qt override
        super().showEvent(event)
        if not self._shown_once:
            self._shown_once = True
            self.autosave.offer_restore()
            if self._autoload and not self.model_dir:
                QTimer.singleShot(PRELOAD_DELAY_MS, self.load_default_model)

    def _on_file_dropped(self, path: str) -> None:
        """A file dropped on the draft opens as a document (asking about unsaved changes),
        once the drop has finished: a question asked inside the drop would hold the drag."""
        QTimer.singleShot(0, lambda: self.open_file(path))

    def models_changed(self, scan) -> None:
        super().models_changed(scan)
        self.picker.set_models(scan.of_kind("text"), self.saved_servers())
        default = None if self.model_info else self.default_model()
        if default is not None:
            self.picker.preview(default)

    def preferences_changed(self, settings) -> None:
        self.precision = settings.text_precision()   # used from the next model load

    def model_in_use(self) -> str | None:
        return self.model_dir

    def open_from_map(self, kind: str, payload: dict) -> None:
        """A word from the map goes on the clipboard, to paste where the writer wants it; a
        model (the Train room's "Write with it") is loaded as if picked."""
        word = payload.get("word")
        if word:
            QApplication.clipboard().setText(word)
            self.notice.emit(f"“{word}” is on the clipboard — paste it into your draft.")
        elif payload.get("model") and str(payload["model"]) != self.model_dir:
            self.request_model(str(payload["model"]))

    def default_model(self):
        """The built-in story model if usable, else the first usable text model (or None)."""
        models = [m for m in self._known_models() if not m.problem]
        return next((m for m in models if m.name == DEFAULT_MODEL), models[0] if models else None)

    def load_default_model(self) -> None:
        if self.model_dir or self._load_job_id is not None:
            return
        chosen = self.default_model()
        if chosen is not None:
            self.request_model(str(chosen.path))

    def _known_models(self):
        return self.model_scan().of_kind("text")

    def show_error(self, message: str) -> None:
        self.errorLabel.setText(message)
        self.errorLabel.setVisible(bool(message))
        if message:
            self.notice.emit(message)

    # -- models ----------------------------------------------------------------------------
    def request_model(self, folder: str) -> None:
        self.submit_load(LoadTextModelJob(model_dir=str(folder), precision=self.precision),
                         f"Loading {Path(folder).name}")

    def _on_side_event(self, event: Event) -> None:
        if event.job_id == self._load_job_id:
            self._on_load_event(event)
        elif event.job_id == self._inspect_job_id:
            if isinstance(event, Finished):
                self._on_logits_ready(event.result)
            if isinstance(event, (Finished, Failed, Cancelled)):
                self._inspect_job_id = None
            if isinstance(event, Failed):
                self.inspector.clear(f"The distribution could not be computed: {event.message}")

    def _on_load_event(self, event: Event) -> None:
        if isinstance(event, Progress):
            self.picker.set_progress(event.fraction, event.message)
        elif isinstance(event, Finished):
            self._load_job_id = None
            info = event.result
            self.model_dir, self.model_info = str(info.path), info
            self.server_loaded(info)
            self.picker.set_loaded(info)
            self.contextSpin.setMaximum(info.max_context)
            self.contextSpin.setValue(min(DEFAULT_CONTEXT, info.max_context))
            self.modelMessage.hide()  # a model is in use, whatever the scan said
            self.instructionCheck.setEnabled(info.has_chat_template)
            self.instructionCheck.setToolTip(
                "Write an instruction; the model's answer goes into the document" if
                info.has_chat_template else "This model has no chat template: it continues text")
            if not info.has_chat_template:
                self.instructionCheck.setChecked(False)
            self.notice.emit(f"Model ready: {info.name}")
            self.request_inspection()
        elif isinstance(event, Failed):
            self._load_job_id = None
            if self.model_info is None or str(self.model_info.path) != self.model_dir:
                self.model_dir = str(self.model_info.path) if self.model_info else None
            self.picker.set_error(event.message)
            self.notice.emit(f"Could not load the model: {event.message}")
        elif isinstance(event, Cancelled):
            self._load_job_id = None
            self.picker.set_loaded(self.model_info) if self.model_info else self.picker.progress.hide()

    # -- generation ------------------------------------------------------------------------
    def generate(self):
        """Continue at the cursor (or answer the instruction; or make N variants)."""
        if self.is_running():
            return None
        if not self.model_dir:
            default = self.default_model()
            if default is None:
                self.show_error("No text model is available: choose a model folder in the "
                                "model picker.")
                return None
            self.model_dir = str(default.path)
            self.request_model(self.model_dir)  # queued before the generation job
            if not self.model_dir:  # it failed at once (the synchronous engine)
                return None
        pos = self.editor.textCursor().selectionEnd()
        variants = self.variantsSpin.value()
        if self.instructionCheck.isChecked():
            instruction = self.instructionEdit.text().strip()
            if not instruction:
                self.show_error("Type an instruction first, e.g. “Write a funny poem about "
                                "space exploration”.")
                return None
            return self._start(Request("instruction", instruction, pos, chat=True))
        if variants > 1:
            anchor = QTextCursor(self.editor.document())
            anchor.setPosition(pos)
            return self._start(Request("variants", self.editor.text_before(pos), pos,
                                       variants=variants, anchor=anchor))
        return self._start(Request("continue", self.editor.text_before(pos), pos))

    def regenerate(self):
        """Replace the last generation with a new one (a new seed unless the seed is locked)."""
        span = self.editor.last_span()
        if self.is_running() or span is None or not span.intact(self.editor.text_range):
            self.notice.emit("Nothing to regenerate: the last generation was edited or undone.")
            return None
        a, b = span.bounds()
        return self._start(Request("regenerate", self.editor.text_before(a), a, replace=(a, b)))

    def choose_alternative(self, span, index: int, alternative) -> None:
        """Replace token ``index`` of ``span`` with ``alternative`` and regenerate after it."""
        if self.is_running() or not span.intact(self.editor.text_range):
            return
        a, b = span.bounds()
        cut = a + span.offsets[index]
        original = span.tokens[index]
        token = TokenInfo(id=alternative.id, text=alternative.text,
                          probability=alternative.probability,
                          raw_probability=alternative.raw_probability,
                          alternatives=original.alternatives)
        span.truncate(index)
        self._start(Request("alternative", self.editor.text_before(cut) + alternative.text,
                            cut, replace=(cut, b), prefix_tokens=[token],
                            prefix_text=alternative.text))

    def _start(self, req: Request):
        """Run ``req`` as the room's one job with the seed in the Randomness box."""
        if self.is_running() or not self.model_dir:
            return None
        seed = self.randomness.seed_for_next_generation()
        req.job = self._job_for(req, seed)
        self.request = req
        self._show_start(req, seed)
        return self.run(req.job, seed)

    def _job_for(self, req: Request, seed: int) -> TextGenerationJob:
        settings = self.randomness.settings().with_seed(seed)
        return TextGenerationJob(model_dir=self.model_dir, prompt=req.prompt,
                                    settings=settings, max_tokens=self.maxTokensSpin.value(),
                                    variants=req.variants, chat=req.chat,
                                    system_prompt=(self.systemEdit.text().strip() or None)
                                    if req.chat else None,
                                    context_length=self._context() or None,
                                    precision=self.precision, server=self.server)

    def _show_start(self, req: Request, seed: int) -> None:
        """Make room for the run in the editor (or the variants view) before it starts."""
        self.show_error("")
        self.gauge.set_dropped(0)
        if req.mode == "variants":
            self.variants_view.start([(seed + i) % 2**64 for i in range(req.variants)])
            if self.variants_view.isHidden():
                self.variants_view.show()
                total = sum(self.editor_split.sizes()) or 600
                self.editor_split.setSizes([int(total * 0.5), total - int(total * 0.5)])
        else:
            req.span = self.editor.begin_generation(req.position, replace=req.replace)
            if req.prefix_text:
                self.editor.append_generated(req.prefix_text, req.prefix_tokens)

    def on_job_event(self, event: Event) -> None:
        req = self.request
        if req is None:
            return
        if isinstance(event, TokenChunk):
            if req.mode == "variants":
                self.variants_view.append(event.variant, event.text, event.tokens)
            elif event.variant == 0:
                self.editor.append_generated(event.text, event.tokens)
            if event.tokens_per_s:
                self.show_rate(event.tokens_per_s)
        elif isinstance(event, Progress) and event.message:
            # e.g. "The prompt is longer than the context: the oldest N tokens were left out"
            self.gauge.show_warning(event.message)
            self.notice.emit(event.message)
        elif isinstance(event, (Finished, Failed, Cancelled)):
            self._on_generation_done(req, event)

    def _on_generation_done(self, req: Request, event: Event) -> None:
        results = tuple(event.result) if isinstance(event, Finished) and event.result else ()
        req.results = results
        if results:
            if results[0].model_sha256:
                self._model_sha[req.job.model_dir] = results[0].model_sha256
            first = results[0]
            self.gauge.set_dropped(first.dropped_context_tokens)
            self.gauge.set_usage(first.prompt_tokens + len(first.tokens), self._context())
            self.show_rate(first.generated_tokens_per_s)
        if req.mode == "variants":
            self.variants_view.finish()
            self._variants_request = req
        else:
            span = self.editor.end_generation()
            if span is not None:
                self.add_record(self._record(req, span.text, results[0] if results else None,
                                             event))
        if isinstance(event, Failed):
            self.show_error(f"Generation failed: {event.message}. The text so far is kept.")
        elif isinstance(event, Cancelled):
            self.notice.emit("Stopped; the text generated so far is kept.")
        self.request = None
        self.autosave.save_now()
        self._inspect_timer.start()

    def _record(self, req: Request, text: str, result, event, variant: int = 0):
        job = req.job
        reason = result.finish_reason if result is not None else (
            "cancelled" if isinstance(event, Cancelled) else "failed")
        return GenerationRecord(
            model_name=result.model_name if result else Path(job.model_dir).name,
            model_sha256=(result.model_sha256 if result else "") or self._model_sha.get(
                job.model_dir, ""),
            settings=(result.settings if result else job.settings).to_dict(),
            seed=int(result.seed if result else job.settings.seed), prompt_chars=len(req.prompt),
            insert_at=req.position, text=text, finish_reason=reason, max_tokens=job.max_tokens,
            variant=variant)

    def insert_variant(self, index: int, text: str, tokens) -> None:
        """Insert variant ``index`` at the position the variants were made for (one undo step)."""
        req = self._variants_request
        if req is None or self.is_running() or not text:
            return
        position = req.anchor.position() if req.anchor is not None else req.position
        self.editor.begin_generation(position, variant=index)
        self.editor.append_generated(text, tokens)
        self.editor.end_generation()
        result = next((r for r in req.results if r.variant == index), None)
        self.add_record(self._record(req, text, result, None, variant=index))
        self.autosave.save_now()

    def reuse_generation(self, index: int) -> bool:
        """Put generation ``index``'s settings and seed in the controls (seed locked)."""
        from desktop_app.core.errors import ReverieError  # noqa: PLC0415
        from desktop_app.core.sampling import SamplerSettings  # noqa: PLC0415

        record = self.session.history[index]
        try:
            settings = SamplerSettings.from_dict(record.settings).with_seed(record.seed)
        except (ReverieError, TypeError, ValueError) as exc:
            self.show_error(f"Generation {index + 1}'s settings cannot be used: {exc}")
            return False
        self.randomness.set_settings(settings, include_seed=True)
        self.randomness.set_locked(True)
        self.maxTokensSpin.setValue(max(1, record.max_tokens or self.maxTokensSpin.value()))
        self.notice.emit(f"Settings and seed {record.seed} of generation {index + 1} are in the "
                         "controls (seed locked): generate from the same text to reproduce it.")
        return True

    def stop(self) -> None:
        if self.is_running():
            super().stop()
        elif self.find_bar.isVisible():
            self.find_bar.close_bar()

    def _update_generation_buttons(self) -> None:
        """Accept and Regenerate only when there is something to accept or regenerate (on an
        empty document they looked clickable and did nothing)."""
        idle = not self.is_running()
        span = self.editor.last_span()
        self.acceptButton.setEnabled(idle and bool(self.editor.pending_spans()))
        self.regenerateButton.setEnabled(idle and span is not None
                                         and span.intact(self.editor.text_range))

    def _on_running_changed(self, running: bool) -> None:
        self.editor.setReadOnly(running)
        self._update_generation_buttons()
        self.picker.combo.setEnabled(not running)
        self.variantsSpin.setEnabled(not running)
