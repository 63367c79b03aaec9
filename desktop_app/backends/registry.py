"""Which handler runs which job type. Imported in the worker; handler modules load lazily."""

from __future__ import annotations

import importlib

from desktop_app.backends.base import Handler
from desktop_app.core.jobs import Job

# job class path -> "module:function" of its handler. Each medium adds its jobs here.
_HANDLERS: dict[str, str] = {
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
