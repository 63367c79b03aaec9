"""Which handler runs which job type. Imported in the worker; handler modules load lazily."""

from __future__ import annotations

import importlib

from desktop_app.backends.base import Handler
from desktop_app.core.jobs import Job

# job class path -> "module:function" of its handler. Each medium adds its jobs here.
_HANDLERS: dict[str, str] = {
    "desktop_app.core.jobs.WarmUpJob": "desktop_app.backends.warmup:run_warm_up",
    "desktop_app.core.music.GenerateMelodyJob": "desktop_app.backends.music:run_generate",
    "desktop_app.core.music.ContinueMelodyJob": "desktop_app.backends.music:run_continue",
    "desktop_app.core.music.InterpolateMelodiesJob": "desktop_app.backends.music:run_interpolate",
    "desktop_app.core.textgen.TextGenerationJob": "desktop_app.backends.text:run_text_generation",
    "desktop_app.core.textgen.LoadTextModelJob": "desktop_app.backends.text:run_load_text_model",
    "desktop_app.core.textgen_inspect.NextTokenLogitsJob":
        "desktop_app.backends.text_inspect:run_next_token_logits",
    "desktop_app.core.textgen_inspect.ServerNextTokenJob":
        "desktop_app.backends.remote_text:run_next_token",
    "desktop_app.core.imaging.DecodeLatentJob": "desktop_app.backends.image:decode_latent",
    "desktop_app.core.imaging.MorphJob": "desktop_app.backends.image:morph",
    "desktop_app.core.imaging.DecodePathJob": "desktop_app.backends.image:decode_path",
    "desktop_app.core.imaging.SeedGridJob": "desktop_app.backends.image:seed_grid",
    "desktop_app.core.imaging.LoadImageModelJob": "desktop_app.backends.image:model_info",
    "desktop_app.core.imaging.EncodePictureJob": "desktop_app.backends.image:encode_picture",
    "desktop_app.core.explore.BuildMapJob": "desktop_app.backends.explore:build_map",
    "desktop_app.core.explore.ProjectJob": "desktop_app.backends.explore:project",
    # Instant fakes for UI tests and benchmarks (desktop_app/backends/fake.py).
    "desktop_app.backends.fake.EchoJob": "desktop_app.backends.fake:run_echo",
    "desktop_app.backends.fake.StreamJob": "desktop_app.backends.fake:run_stream",
    "desktop_app.backends.fake.BusyJob": "desktop_app.backends.fake:run_busy",
    "desktop_app.backends.fake.TorchBusyJob": "desktop_app.backends.fake:run_torch_busy",
    "desktop_app.backends.fake.FailJob": "desktop_app.backends.fake:run_fail",
    "desktop_app.backends.fake.WaitJob": "desktop_app.backends.fake:run_wait",
}


def handler_for(job: Job) -> Handler:
    """Return the handler for ``job``'s type, importing its module on first use."""
    cls = type(job)
    key = f"{cls.__module__}.{cls.__qualname__}"
    try:
        target = _HANDLERS[key]
    except KeyError:
        raise LookupError(f"no handler is registered for {cls.__qualname__}") from None
    module_name, func_name = target.split(":")
    return getattr(importlib.import_module(module_name), func_name)


def register(job_cls: type[Job], target: str) -> None:
    """Register ``"module:function"`` as the handler of ``job_cls`` (tests, plug-ins)."""
    _HANDLERS[f"{job_cls.__module__}.{job_cls.__qualname__}"] = target
