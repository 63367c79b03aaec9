"""The Write room on a serving engine: connecting, the settings it lacks, its inspector numbers.

A mixin for :class:`~desktop_app.ui.write.panel.WritePanel` (GUI thread only). Connecting
submits a ``LoadTextModelJob`` with the server's spec; once the server has answered, the room
generates there through the same ``TextGenerationJob`` (its ``server`` set), greys out the
sampler settings the server has no equivalent for, and asks the server for the inspector's
numbers (``ServerNextTokenJob``) instead of computing them from logits.
"""

from __future__ import annotations

from desktop_app.core.serving import (API_TITLES, ServerSpec, plain_http_warning,
                                      unsupported_settings)
from desktop_app.core.textgen import LoadTextModelJob
from desktop_app.core.textgen_inspect import ServerNextTokenJob

#: top-N the inspector asks a server for (vLLM and Ollama cap it at 20)
SERVER_TOP_N = 20


class ServingMixin:
    """Serving-engine parts of the Write panel; ``self.server`` is the spec in use or None."""

    server: ServerSpec | None = None
    _pending_server: ServerSpec | None = None

    def saved_servers(self) -> list[ServerSpec]:
        from desktop_app.ui.widgets.server_dialog import load_servers  # noqa: PLC0415
        from desktop_app.ui.settings import Settings  # noqa: PLC0415

        return load_servers(Settings())

    def submit_load(self, job: LoadTextModelJob, message: str) -> None:
        """Submit a model load (a folder, a file or a server), replacing one under way."""
        if self._load_job_id is not None:
            self.engine.cancel(self._load_job_id)
        self._load_job_id = job.job_id
        self._pending_server = job.server
        self.picker.set_progress(None, message)
        try:
            self.engine.submit(job)
        except RuntimeError:  # the engine was shut down (the window is closing)
            self._load_job_id = None

    def request_server(self, spec: ServerSpec) -> None:
        """Contact ``spec`` (detect its API, describe its model); the current model stays in
        use until it answers."""
        warning = plain_http_warning(spec.url)
        if warning:
            self.notice.emit(warning[0].upper() + warning[1:])
        self.submit_load(LoadTextModelJob(model_dir=spec.url, server=spec),
                         f"Connecting to {spec.url}")

    def server_loaded(self, info) -> None:
        """After a load finished: use the server it named (or none), and show what it lacks."""
        api = getattr(info, "server_api", "")
        self.server = self._pending_server if api else None
        self._pending_server = None
        if api:
            title = API_TITLES[api]
            self.advanced.set_unavailable(unsupported_settings(api), title)
            self.notice.emit(f"Connected to {title} at {info.path}: {info.name}")
        else:
            self.advanced.set_unavailable({})

    def server_inspection_job(self, text: str) -> ServerNextTokenJob:
        return ServerNextTokenJob(server=self.server, text=text,
                                  settings=self.randomness.settings(), top_n=SERVER_TOP_N)

    def show_server_distribution(self, result) -> None:
        title = API_TITLES.get(result.api, "the server")
        self.inspector.set_server_distribution(result, title)
        if result.prompt_tokens:
            used = result.prompt_tokens + self.maxTokensSpin.value()
            self.gauge.set_usage(used, result.max_context or self._context())
