"""Where a text command's model runs: a local model (``--model``) or a serving engine
(``--server URL [--api …] [--api-key-env VAR]``), shared by ``generate text``, ``eval text``
and ``bench text`` so the flags read the same everywhere.

With ``--server``, ``--model`` names the server's model (vLLM and Ollama serve several; a
llama.cpp server has one and ignores it). The API key is read from the variable that
``--api-key-env`` names, or from the system keyring; it is never printed or stored.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from desktop_app.commands import options as opt
from desktop_app.core.errors import UsageError
from desktop_app.core.paths import WRITING_MODEL
from desktop_app.core.serving import API_CHOICES, ServerSpec, parse_api, plain_http_warning
from desktop_app.core.textgen import PRECISIONS, precision_arg

DEFAULT_MODEL = WRITING_MODEL


def _api(value: str) -> str:
    try:
        return parse_api(value)
    except UsageError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def add_server_arguments(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("serving engine (instead of a local model)")
    group.add_argument("--server", type=opt.text, default=None, metavar="URL",
                       help="generate on a running llama.cpp server, vLLM or Ollama, e.g. "
                            "http://127.0.0.1:8080 (docs/serving.md)")
    group.add_argument("--api", type=_api, default="auto", choices=API_CHOICES,
                       metavar="{" + ",".join(API_CHOICES) + "}", help="the server's API (default: detected from /props, "
                                   "/api/tags, /v1/models)")
    group.add_argument("--api-key-env", type=opt.text, default=None, metavar="VAR",
                       help="the environment variable holding the server's API key "
                            "(default: the system keyring, if any)")
    group.add_argument("--timeout", type=opt.float_in(1.0, 3600.0), default=300.0, metavar="S",
                       help="longest wait for the server's next bytes, seconds (default 300)")


def add_model_arguments(parser: argparse.ArgumentParser, *, default_precision: str = "auto",
                        precision_help: str = "") -> None:
    """--model, --precision, --threads and the serving-engine flags."""
    parser.add_argument("--model", type=opt.text, default=None, metavar="NAME_OR_PATH",
                        help=f"a model name (see `reverie models`), a model folder or a .gguf "
                             f"file (default: {DEFAULT_MODEL}); with --server, the server's "
                             f"model name")
    parser.add_argument("--precision", type=precision_arg, choices=PRECISIONS,
                        default=default_precision, metavar="{auto,fp32,bf16,int8,int4}",
                        help=precision_help or "weight precision: auto (the file's own), fp32, "
                                               "bf16, int8 or int4")
    parser.add_argument("--threads", type=opt.THREADS, default=None, metavar="N",
                        help=f"CPU threads, 1-{opt.MAX_THREADS} (default: all cores this "
                             f"process may use)")
    add_server_arguments(parser)


def server_spec(args: argparse.Namespace) -> ServerSpec | None:
    """The serving engine the arguments name (None: a local model). Warns once on stderr
    about plain http:// to another machine."""
    if getattr(args, "server", None) is None:
        if getattr(args, "api_key_env", None) or getattr(args, "api", "auto") != "auto":
            raise UsageError("--api and --api-key-env go with --server URL")
        return None
    spec = ServerSpec(url=args.server, api=args.api, model=args.model or "",
                      api_key_env=args.api_key_env or "", read_timeout_s=args.timeout)
    warning = plain_http_warning(spec.url)
    if warning:
        print(warning, file=sys.stderr)
    return spec


def local_model(args: argparse.Namespace, default: str = DEFAULT_MODEL) -> Path:
    """The local model folder or GGUF file that ``--model`` (or the default) names."""
    from desktop_app.commands.generate_text import resolve_text_model  # noqa: PLC0415

    return resolve_text_model(args.model or default)
