"""The Write room on a serving engine: the picker's server entry, generation through a real
llama.cpp server, the inspector from the server's numbers, settings a server lacks shown as
unavailable, Stop, a killed server (the document unharmed), and Preferences' server list."""

from __future__ import annotations

import json

import pytest
from PySide6.QtGui import QTextCursor

from desktop_app.core.events import TokenChunk
from desktop_app.core.sampling import PRESETS
from desktop_app.core.serving import ServerSpec
from desktop_app.engine.sync_engine import SyncEngine
from desktop_app.ui.widgets.randomness import RandomnessControls
from desktop_app.ui.write.panel import WritePanel
from test_http_shapes import JSON, SSE, _sse
from test_stream_shapes import VLLM

PROMPT = "Once upon a time, in 1987, a dragon"


@pytest.fixture
def panel(qtbot):
    engine = SyncEngine()
    randomness = RandomnessControls()
    p = WritePanel(engine, randomness, autoload=False)
    qtbot.addWidget(p)
    qtbot.addWidget(randomness)
    p.resize(1200, 720)
    yield p
    engine.shutdown()


def _connect(panel, url, **kw):
    panel.picker.request_server(ServerSpec(url, retries=0, **kw))
    assert panel.model_info is not None, panel.picker.error.text()


def _write(panel, text, tokens):
    panel.editor.setPlainText(text)
    panel.editor.moveCursor(QTextCursor.MoveOperation.End)
    panel.maxTokensSpin.setValue(tokens)


def test_generates_on_a_llama_cpp_server_like_its_own_completion(panel, llama_server):
    _connect(panel, llama_server.url)
    assert panel.server is not None and panel.model_info.server_api == "llama.cpp"
    assert "served at" in panel.picker.details.text()
    assert panel.picker.combo.currentData() == llama_server.url
    assert not panel.advanced.serverNote.isVisible() and panel.advanced.spins[
        "dry_multiplier"].isEnabled()
    _write(panel, PROMPT, 16)
    panel.randomness.temperatureSpin.setValue(0.0)
    panel.generate()
    own = llama_server.post("/completion", {"prompt": PROMPT, "n_predict": 16,
                                            "temperature": 0})
    assert panel.editor.toPlainText() == PROMPT + own["content"]
    record = panel.session.history[-1]
    assert record.model_name == "tiny.gguf" and record.finish_reason in ("length", "eos")
    span = panel.editor.last_span()
    assert span.tokens[0].raw_probability is not None and span.tokens[0].alternatives
    # "regenerate from here": another alternative for the first token, the rest from the server
    alternative = next(a for a in span.tokens[0].alternatives if a.id != span.tokens[0].id)
    panel.choose_alternative(span, 0, alternative)
    text = panel.editor.toPlainText()
    assert text.startswith(PROMPT + alternative.text) and text != PROMPT + own["content"]
    prompt = PROMPT + alternative.text
    own_after = llama_server.post("/completion", {"prompt": prompt, "n_predict": 16,
                                                  "temperature": 0})
    assert text == prompt + own_after["content"]


def test_the_inspector_draws_the_servers_numbers_before_and_after(panel, llama_server):
    _connect(panel, llama_server.url)
    _write(panel, PROMPT, 8)
    panel.side_tabs.setCurrentWidget(panel.inspector_page)
    panel.request_inspection()
    stages = [s.name for s in panel.inspector.stages]
    assert stages == ["raw", "samplers"]
    assert len(panel.inspector.shown_ids) == 20
    assert "own numbers" in panel.inspector.summary.text()


def test_stop_and_a_killed_server_keep_the_document(panel, own_llama_server):
    _connect(panel, own_llama_server.url)
    _write(panel, PROMPT, 200)
    seen = []

    def stop_after_two(event):
        if isinstance(event, TokenChunk) and event.job_id == panel.request.job.job_id:
            seen.append(event)
            if len(seen) == 2:
                panel.stop()
    panel.engine.event.connect(stop_after_two)
    panel.generate()
    panel.engine.event.disconnect(stop_after_two)
    assert panel.session.history[-1].finish_reason == "cancelled"
    kept = panel.editor.toPlainText()
    assert kept.startswith(PROMPT) and len(kept) > len(PROMPT)

    def kill_after_one(event):
        if isinstance(event, TokenChunk):
            own_llama_server.kill()
    panel.engine.event.connect(kill_after_one)
    _write(panel, PROMPT, 200)
    panel.generate()
    assert panel.editor.toPlainText().startswith(PROMPT)
    assert "Generation failed" in panel.errorLabel.text()
    assert "text so far is kept" in panel.errorLabel.text()
    assert not panel.is_running() and not panel.editor.isReadOnly()


def test_settings_a_server_lacks_are_greyed_and_its_inspector_says_what_it_cannot(
        panel, canned):
    canned.add("GET", "/v1/models", 200, JSON, json.dumps({"data": [{"id": "m"}]}).encode())
    canned.add("POST", "/v1/completions", 200, SSE, _sse(VLLM))
    canned.add("POST", "/v1/completions", 200, JSON, json.dumps(VLLM[0]).encode())
    panel.randomness.set_settings(PRESETS["Creative"])
    panel.side_tabs.setCurrentWidget(panel.token_page)  # no inspector request yet
    _connect(panel, canned.url, api="openai")
    adv = panel.advanced
    assert not adv.spins["dry_multiplier"].isEnabled() and not adv.order.isEnabled()
    assert "Not available on OpenAI-compatible" in adv.spins["xtc_probability"].toolTip()
    assert adv.serverNote.isVisibleTo(adv) and "DRY multiplier" in adv.serverNote.text()
    assert adv.spins["repeat_penalty"].isEnabled()
    _write(panel, "The capital of France is", 2)
    panel.generate()
    assert panel.editor.toPlainText() == "The capital of France is Paris.", panel.errorLabel.text()
    sent = json.loads(canned.requests[-1][3])
    assert "dry_multiplier" not in sent and sent["min_p"] == 0.05
    panel.side_tabs.setCurrentWidget(panel.inspector_page)
    panel.request_inspection()
    assert [s.name for s in panel.inspector.stages] == ["raw"]
    assert "cannot report" in panel.inspector.summary.text()


def test_preferences_keep_a_list_of_servers(qtbot, monkeypatch):
    from PySide6.QtWidgets import QPushButton

    from desktop_app.ui.preferences import PreferencesDialog
    from desktop_app.ui.widgets.server_dialog import SETTINGS_KEY, load_servers
    from desktop_app.ui.settings import Settings

    settings = Settings()
    settings.set_value(SETTINGS_KEY, json.dumps([
        {"url": "http://127.0.0.1:8080", "api": "llama.cpp"},
        {"url": "ftp://nope", "api": "auto"}]))  # a hand-edited bad entry is skipped
    dialog = PreferencesDialog(settings)
    qtbot.addWidget(dialog)
    assert dialog.serverList.count() == 1
    monkeypatch.setattr(dialog, "ask_server", lambda: ServerSpec(
        "https://gpu-box:8000/v1", api="openai", model="m", api_key_env="VLLM_KEY"))
    dialog.findChild(QPushButton, "addServerButton").click()
    dialog.accept()
    servers = load_servers(Settings())
    assert [s.url for s in servers] == ["http://127.0.0.1:8080", "https://gpu-box:8000"]
    assert servers[1].api_key_env == "VLLM_KEY"
    assert "VLLM_KEY" in Settings().value(SETTINGS_KEY) and "sk-" not in Settings().value(
        SETTINGS_KEY)


def test_a_saved_server_list_nested_past_the_bound_is_ignored_not_a_crash(qtbot):
    """The settings file is untrusted: 100,000 nested brackets used to raise RecursionError
    out of json.loads when the Preferences or the Write room read the server list."""
    from desktop_app.ui.settings import Settings
    from desktop_app.ui.widgets.server_dialog import SETTINGS_KEY, load_servers
    settings = Settings()
    settings.set_value(SETTINGS_KEY, "[" * 100_000 + "]" * 100_000)
    assert load_servers(settings) == []
