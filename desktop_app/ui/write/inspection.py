"""The Write room's live views: the distribution inspector's requests, counts, the context gauge.

A mixin for :class:`~desktop_app.ui.write.panel.WritePanel` (GUI thread only). The inspector
asks the worker for the raw logits at the cursor (``NextTokenLogitsJob``, latest request
wins, only while the inspector is showing) and then recomputes every sampler stage itself
whenever a control moves, without generating anything.
"""

from __future__ import annotations

from PySide6.QtGui import QTextCursor
from PySide6.QtWidgets import QToolTip

from desktop_app.core.textgen_inspect import NextTokenLogitsJob
from desktop_app.ui.write.layout import WriteWidgets
from desktop_app.ui.write.token_view import tooltip_html

#: The inspector sends at most this many characters per context token (the tail of the text).
INSPECT_CHARS_PER_TOKEN = 16


class InspectionMixin(WriteWidgets):
    """Inspector requests, word counts and the context gauge of the Write panel."""

    # -- inspector, counts, context --------------------------------------------------------
    def _context(self) -> int:
        """The context in use: the Context box, within the model's own limit."""
        if not self.model_info:
            return 0
        return min(int(self.model_info.max_context), self.contextSpin.value())

    def request_inspection(self) -> None:
        """Ask the worker for the logits at the cursor (only when the inspector is showing)."""
        if (not self.model_dir or self.is_running() or self._load_job_id is not None
                or self.side_tabs.currentWidget() is not self.inspector_page):
            return
        pos = self.editor.textCursor().selectionEnd()
        limit = max(self._context(), 256) * INSPECT_CHARS_PER_TOKEN
        text = self.editor.text_range(max(0, pos - limit), pos)
        s = self.randomness.settings()
        breakers = tuple(s.dry_sequence_breakers) if "dry" in s.enabled_stages() else ()
        if self.server is not None:  # a server sends its own top-N, not logits
            job = self.server_inspection_job(text)
        else:
            job = NextTokenLogitsJob(model_dir=self.model_dir, text=text,
                                     precision=self.precision,
                                     dry_sequence_breakers=breakers,
                                     context_length=self._context() or None)
        self._inspected_breakers = breakers
        self._inspect_job_id = job.job_id
        try:
            self.engine.submit(job, supersede=True)
        except RuntimeError:  # the engine was shut down (the window is closing)
            self._inspect_job_id = None

    def _on_logits_ready(self, result) -> None:
        if self.server is not None and hasattr(result, "post"):  # a ServerNextToken
            self.show_server_distribution(result)
            return
        if result.model_sha256:
            self._model_sha[result.model_dir] = result.model_sha256
        self.inspector.set_logits(result.logits, result.history, dict(result.labels),
                                  result.breaker_ids)
        used = result.prompt_tokens + self.maxTokensSpin.value()
        self.gauge.set_usage(used, min(result.max_context, self._context() or result.max_context))

    def _on_settings_changed(self) -> None:
        settings = self.randomness.settings()
        self.inspector.set_settings(settings)
        breakers = (tuple(settings.dry_sequence_breakers) if "dry" in settings.enabled_stages()
                    else ())
        if breakers != self._inspected_breakers or self.server is not None:
            # DRY needs them tokenized by the worker; a server's numbers follow every setting
            self._inspect_timer.start()

    def _on_text_changed(self) -> None:
        self._count_timer.start()
        self._inspect_timer.start()
        empty = self.editor.document().isEmpty()
        self.openings.setVisible(empty and self.openings.count() > 0)
        self._forget_stale_token()
        self._forget_stale_dropped()

    def _forget_stale_dropped(self) -> None:
        """The "N left out" note speaks of the last generation: gone with its text (undo)."""
        if not self.gauge.dropped or self.editor.streaming:
            return
        span = self.editor.last_span()
        if span is None or not span.intact(self.editor.text_range):
            self.gauge.set_dropped(0)

    def _forget_stale_token(self) -> None:
        """Clear the Token tab when its token's text left the document (undo, an edit)."""
        span = self.token_view.span
        if span is None or self.editor.streaming:
            return
        if (not any(s is span for s in self.editor.spans)
                or not span.intact(self.editor.text_range)):
            self.token_view.clear()

    def _update_counts(self) -> None:
        text = self.editor.toPlainText()
        words, chars = len(text.split()), len(text)
        self.countLabel.set_variants([f"{words:,} words · {chars:,} characters",
                                      f"{words:,} words · {chars:,} chars", f"{words:,} words"])
        if self.model_info and self.inspector.logits is None:
            self.gauge.set_usage(chars // 4 + self.maxTokensSpin.value(), self._context(),
                                 estimated=True)

    def show_rate(self, tokens_per_s: float) -> None:
        self.rateLabel.set_variants([f"{tokens_per_s:.1f} tokens/s", f"{tokens_per_s:.1f} tok/s"],
                                    "Generation speed, tokens per second")

    def use_opening(self, text: str) -> None:
        if self.editor.document().isEmpty():
            self.editor.setPlainText(text)
            self.editor.moveCursor(QTextCursor.MoveOperation.End)
            self.editor.setFocus()

    def _on_token_hovered(self, span, index: int, global_pos) -> None:
        QToolTip.showText(global_pos, tooltip_html(span.tokens[index]), self.editor)
