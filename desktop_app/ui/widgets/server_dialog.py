"""The "Connect to a server" dialog and the saved list of servers (GUI thread only).

A server is a :class:`~desktop_app.core.serving.ServerSpec`: URL, API (or "auto"), the
server's model name and the *name* of the environment variable that holds its API key — never
the key itself, which is read from that variable or the system keyring when connecting. The
saved list lives in the settings file as JSON under ``servers/list``; every entry read back is
validated again (a hand-edited URL that is not http(s) is dropped, with a log line).
"""

from __future__ import annotations

import json
import logging

from PySide6.QtWidgets import (QCheckBox, QComboBox, QDialog, QDialogButtonBox, QFormLayout,
                               QLabel, QLineEdit, QVBoxLayout, QWidget)

from desktop_app.core.errors import DataError, UsageError
from desktop_app.core.serving import API_CHOICES, API_TITLES, ServerSpec
from desktop_app.core.untrusted import loads_json
from desktop_app.ui.widgets.error_label import error_label

log = logging.getLogger(__name__)

SETTINGS_KEY = "servers/list"
MAX_SERVERS = 32


def load_servers(settings) -> list[ServerSpec]:
    """The saved servers, each validated; bad entries are skipped."""
    raw = settings.value(SETTINGS_KEY, "")
    try:
        entries = loads_json(raw, source="the saved server list") \
            if isinstance(raw, str) and raw else []
    except DataError:
        log.warning("the saved server list is not JSON; ignoring it")
        return []
    out = []
    for entry in entries[:MAX_SERVERS] if isinstance(entries, list) else []:
        if not isinstance(entry, dict):
            continue
        try:
            out.append(ServerSpec(url=str(entry.get("url", "")), api=str(entry.get("api", "auto")),
                                  model=str(entry.get("model", "")),
                                  api_key_env=str(entry.get("api_key_env", ""))))
        except UsageError as exc:
            log.warning("skipping a saved server: %s", exc)
    return out


def save_servers(settings, servers: list[ServerSpec]) -> None:
    """Keep ``servers`` (URL, API, model, key variable name: never a key)."""
    unique = list({(s.url, s.api, s.model): s for s in servers}.values())[:MAX_SERVERS]
    settings.set_value(SETTINGS_KEY, json.dumps([s.to_json() for s in unique]))


def remember_server(settings, spec: ServerSpec) -> None:
    servers = [s for s in load_servers(settings) if (s.url, s.model) != (spec.url, spec.model)]
    save_servers(settings, [spec] + servers)
    settings.sync()


class ServerDialog(QDialog):
    """Asks for a server; :attr:`spec` holds the validated result once accepted."""

    def __init__(self, parent: QWidget | None = None, spec: ServerSpec | None = None,
                 *, offer_remember: bool = True) -> None:
        super().__init__(parent)
        self.setObjectName("serverDialog")
        self.setWindowTitle("Connect to a server")
        self.spec: ServerSpec | None = None
        self.urlEdit = QLineEdit(spec.url if spec else "http://127.0.0.1:8080", self)
        self.urlEdit.setObjectName("serverUrlEdit")
        self.urlEdit.setAccessibleName("Server URL")
        self.apiCombo = QComboBox(self)
        self.apiCombo.setObjectName("serverApiCombo")
        for api in API_CHOICES:
            self.apiCombo.addItem("Detect" if api == "auto" else API_TITLES[api], api)
        self.apiCombo.setCurrentIndex(max(0, self.apiCombo.findData(spec.api if spec else "auto")))
        self.modelEdit = QLineEdit(spec.model if spec else "", self)
        self.modelEdit.setObjectName("serverModelEdit")
        self.modelEdit.setPlaceholderText("the server's only model")
        self.keyEdit = QLineEdit(spec.api_key_env if spec else "", self)
        self.keyEdit.setObjectName("serverKeyEnvEdit")
        self.keyEdit.setPlaceholderText("none, or the system keyring")
        self.keyEdit.setToolTip("The NAME of an environment variable holding the API key (e.g. "
                                "VLLM_API_KEY). The key itself is never stored by Reverie.")
        self.rememberCheck = QCheckBox("Keep in the server list (Preferences)", self)
        self.rememberCheck.setChecked(True)
        self.rememberCheck.setVisible(offer_remember)
        self.error = error_label(self, "serverDialogError")
        form = QFormLayout()
        form.addRow("URL", self.urlEdit)
        form.addRow("API", self.apiCombo)
        form.addRow("Model", self.modelEdit)
        form.addRow("API key variable", self.keyEdit)
        hint = QLabel("A llama.cpp server, vLLM or Ollama. For another machine, an SSH tunnel "
                      "(ssh -L 8080:127.0.0.1:8080 host) keeps the text encrypted; see "
                      "docs/serving.md.", self)
        hint.setWordWrap(True)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok
                                   | QDialogButtonBox.StandardButton.Cancel, self)
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addWidget(hint)
        layout.addWidget(self.rememberCheck)
        layout.addWidget(self.error)
        layout.addWidget(buttons)

    def accept(self) -> None:
        try:
            self.spec = ServerSpec(url=self.urlEdit.text(), api=self.apiCombo.currentData(),
                                   model=self.modelEdit.text().strip(),
                                   api_key_env=self.keyEdit.text().strip())
        except UsageError as exc:
            self.error.setText(str(exc))
            self.error.show()
            return
        super().accept()
