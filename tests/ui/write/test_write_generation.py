"""Write room with fake text backends: streaming, stop, undo, regenerate, variants, alternatives."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtGui import QTextCursor


def set_text(panel, text: str) -> None:
    panel.editor.setPlainText(text)
    panel.editor.moveCursor(QTextCursor.MoveOperation.End)


def test_names_for_automation(write_panel):
    p = write_panel
    for name in ("documentEditor", "variantsView", "distributionInspector", "modelPicker",
                 "generateButton", "stopButton", "regenerateButton"):
        assert p.findChild(object, name) is not None, name
    assert p.objectName() == "writePanel"


def test_generate_streams_at_cursor_as_one_undo_step(write_panel, fake_text):
    p = write_panel
    set_text(p, "Hello world. The end.")
    cursor = p.editor.textCursor()
    cursor.setPosition(len("Hello world."))
    p.editor.setTextCursor(cursor)
    p.maxTokensSpin.setValue(5)
    chunks_seen = []
    fake_text.on_chunk = lambda i: chunks_seen.append(p.editor.toPlainText())
    p.generate()
    job = fake_text.jobs[-1]
    assert job.prompt == "Hello world."
    text = p.editor.toPlainText()
    generated = text[len("Hello world."):-len(" The end.")]
    assert len(generated.split()) == 5 and text.endswith(" The end.")
    # Streamed: the document grew chunk by chunk, in place.
    assert [len(t) for t in chunks_seen] == sorted(len(t) for t in chunks_seen)
    assert len(set(chunks_seen)) == 5
    # Pending style until accepted: one extra selection covering the generated text.
    assert p.editor.pending_spans() and p.editor.extraSelections()
    # One undo step removes the whole generation.
    p.editor.undo()
    assert p.editor.toPlainText() == "Hello world. The end."
    # History records the seed and settings of the generation.
    record = p.session.history[-1]
    assert record.seed == job.settings.seed and record.insert_at == len("Hello world.")
    assert record.settings["temperature"] == job.settings.temperature


def test_stop_keeps_text_so_far(write_panel, fake_text):
    p = write_panel
    set_text(p, "Start.")
    p.maxTokensSpin.setValue(50)
    fake_text.on_chunk = lambda i: p.stop() if i == 2 else None
    p.generate()
    assert not p.is_running()
    added = p.editor.toPlainText()[len("Start."):]
    assert len(added.split()) == 3
    assert p.session.history[-1].finish_reason == "cancelled"
    assert not p.editor.isReadOnly()


def test_seed_contract_and_regenerate(write_panel, fake_text):
    p = write_panel
    r = p.randomness
    set_text(p, "A.")
    p.maxTokensSpin.setValue(4)
    r.set_locked(True)
    r.seedSpin.setValue(1234)
    p.generate()
    first = p.editor.toPlainText()
    assert fake_text.jobs[-1].settings.seed == 1234
    # Regenerate with the seed locked: same text, still one undo step for the replacement.
    p.regenerate()
    assert p.editor.toPlainText() == first
    r.set_locked(False)
    r.seedSpin.setValue(99)
    p.regenerate()
    assert fake_text.jobs[-1].settings.seed == 99
    assert fake_text.jobs[-1].prompt == "A."
    second = p.editor.toPlainText()
    assert second != first and second.startswith("A.")
    assert r.seedSpin.value() != 99 or r.last_seed() == 99
    p.editor.undo()  # undo the regeneration: the previous generation comes back
    assert p.editor.toPlainText() == first


def test_typing_accepts_generated_text(write_panel, qtbot):
    p = write_panel
    set_text(p, "Go")
    p.maxTokensSpin.setValue(2)
    p.generate()
    assert p.editor.pending_spans()
    p.editor.setFocus()
    qtbot.keyClick(p.editor, Qt.Key.Key_X)
    assert not p.editor.pending_spans()
    assert p.editor.toPlainText().endswith("x")


def test_variants_side_by_side_and_insert(write_panel, fake_text):
    p = write_panel
    set_text(p, "Story:")
    p.variantsSpin.setValue(3)
    p.maxTokensSpin.setValue(4)
    p.randomness.seedSpin.setValue(10)
    p.generate()
    job = fake_text.jobs[-1]
    assert job.variants == 3 and job.prompt == "Story:"
    texts = p.variants_view.texts()
    assert len(texts) == 3 and len(set(texts)) == 3
    assert p.editor.toPlainText() == "Story:"  # variants do not touch the document
    assert [c.seed for c in p.variants_view.columns] == [10, 11, 12]
    p.variants_view.columns[1].insert_button.click()
    assert p.editor.toPlainText() == "Story:" + texts[1]
    assert p.session.history[-1].variant == 1 and p.session.history[-1].seed == 11
    p.editor.undo()
    assert p.editor.toPlainText() == "Story:"


def test_choose_alternative_replaces_token_and_regenerates(write_panel, fake_text):
    p = write_panel
    set_text(p, "Tale:")
    p.maxTokensSpin.setValue(6)
    p.generate()
    span = p.editor.last_span()
    token = span.tokens[2]
    alternative = token.alternatives[1]
    cut = len("Tale:") + span.offsets[2]
    before = p.editor.toPlainText()[:cut]
    p.token_view.show_token(span, 2)
    p.token_view.buttons[1].click()
    job = fake_text.jobs[-1]
    assert job.prompt == before + alternative.text
    text = p.editor.toPlainText()
    assert text.startswith(before + alternative.text)
    assert len(text[cut:].split()) == 1 + 6  # the alternative plus a new continuation


def test_hover_shows_probability_and_alternatives(write_panel):
    p = write_panel
    set_text(p, "Hi")
    p.maxTokensSpin.setValue(3)
    p.generate()
    span = p.editor.last_span()
    hit = p.editor.span_token_at(2 + span.offsets[1])
    assert hit is not None and hit[1] == 1
    from desktop_app.ui.write.token_view import tooltip_html
    html = tooltip_html(span.tokens[1])
    assert "50.0%" in html and "25.0%" in html
    assert all(a.text.strip() in html for a in span.tokens[1].alternatives)
    p.token_view.colour_check.setChecked(True)
    assert len(p.editor.extraSelections()) >= 1 + 3  # pending style + one per token


def test_empty_document_generates(write_panel, fake_text):
    p = write_panel
    p.maxTokensSpin.setValue(3)
    p.generate()
    assert fake_text.jobs[-1].prompt == ""
    assert p.editor.toPlainText().strip()


def test_instruction_mode_uses_chat(write_panel, fake_text):
    p = write_panel
    assert p.instructionCheck.isEnabled()  # the fake model has a chat template
    p.instructionCheck.setChecked(True)
    p.instructionEdit.setText("Write a funny poem about space exploration")
    p.maxTokensSpin.setValue(3)
    p.generate()
    job = fake_text.jobs[-1]
    assert job.chat and job.prompt == "Write a funny poem about space exploration"
    assert p.editor.toPlainText().strip()


def test_model_load_failure_keeps_previous_model(write_panel, fake_text):
    p = write_panel
    assert p.model_dir == "/models/fake-model"
    fake_text.fail_load.add("/broken")
    p.request_model("/broken")
    assert p.model_dir == "/models/fake-model"
    assert "config.json is missing" in p.picker.error.text()
    assert "still in use" in p.picker.error.text()
    assert "fake-model" in p.picker.details.text()


def test_emoji_and_rare_scripts_round_trip(write_panel):
    p = write_panel
    text = "🦊✨ 東京 مرحبا ℵ₀ 𝔘𝔫𝔦𝔠𝔬𝔡𝔢"
    set_text(p, text)
    p.maxTokensSpin.setValue(3)
    p.generate()
    assert p.editor.toPlainText().startswith(text)
    span = p.editor.last_span()
    assert span.intact(p.editor.text_range)


def test_history_reproduces_a_generation(write_panel, fake_text):
    p = write_panel
    set_text(p, "Same start")
    p.maxTokensSpin.setValue(4)
    p.randomness.temperatureSpin.setValue(1.3)
    p.randomness.seedSpin.setValue(4242)
    p.generate()
    first = p.editor.toPlainText()
    assert p.randomness.seedSpin.value() != 4242 or not p.randomness.is_locked()
    p.randomness.apply_preset("Precise")
    p.maxTokensSpin.setValue(9)
    assert p.reuse_generation(0)
    s = p.randomness.settings()
    assert s.seed == 4242 and s.temperature == 1.3 and p.maxTokensSpin.value() == 4
    set_text(p, "Same start")
    p.generate()
    assert p.editor.toPlainText() == first
    assert "4242" in p.history_list.item(0).toolTip()


def test_accept_and_regenerate_are_enabled_only_when_they_would_act(write_panel):
    p = write_panel
    assert not p.acceptButton.isEnabled() and not p.regenerateButton.isEnabled()  # empty
    set_text(p, "Tale:")
    p.maxTokensSpin.setValue(4)
    p.generate()
    assert p.acceptButton.isEnabled() and p.regenerateButton.isEnabled()
    p.acceptButton.click()
    assert not p.acceptButton.isEnabled() and p.regenerateButton.isEnabled()
    p.editor.undo()   # the generation is gone: nothing to regenerate
    assert p.editor.toPlainText() == "Tale:"
    assert not p.acceptButton.isEnabled() and not p.regenerateButton.isEnabled()


def test_undo_clears_the_pinned_token(write_panel):
    """The Token tab forgets a token whose generation was undone (or whose text was edited)."""
    p = write_panel
    set_text(p, "Tale:")
    p.maxTokensSpin.setValue(4)
    p.generate()
    span = p.editor.last_span()
    p.token_view.show_token(span, 1)
    assert p.token_view.span is span and p.token_view.buttons
    p.gauge.set_dropped(171)  # as a generation over a long document reports it
    p.editor.undo()
    assert p.editor.toPlainText() == "Tale:"
    assert p.token_view.span is None and not p.token_view.buttons
    assert p.gauge.dropped == 0 and p.gauge.warning.isHidden()  # its note went with it
    assert "Hover a generated token" in p.token_view.title.text()
    # a pinned token stays while its text is untouched
    p.generate()
    span = p.editor.last_span()
    p.token_view.show_token(span, 0)
    cursor = p.editor.textCursor()
    cursor.setPosition(0)
    cursor.insertText("A ")
    assert p.token_view.span is span
