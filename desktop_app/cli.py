"""The ``reverie`` command: no arguments opens the GUI; subcommands work from the shell.

Exit status: 0 success, 1 failure at run time (one readable line on stderr), 2 usage error.

Each leaf subcommand lives in its own module under ``desktop_app.commands`` exposing
``add_arguments(parser)`` and ``run(args) -> int``. Modules are imported only when their
command runs (``--help`` of the top level stays fast and torch-free), except to build that
command's own parser.
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys

from desktop_app import __version__
from desktop_app.core.errors import ReverieError, UsageError

# (group or None, name, module, one-line help). A group makes `reverie GROUP NAME`.
COMMANDS: list[tuple[str | None, str, str, str]] = [
    (None, "gui", "desktop_app.commands.gui", "open the Reverie window (the default)"),
    (None, "models", "desktop_app.commands.models", "list the installed models"),
    ("bench", "text", "desktop_app.commands.bench_text",
     "measure text generation speed (optionally beside transformers)"),
    ("eval", "text", "desktop_app.commands.eval_text",
     "bits per byte of a text model on your own text (lower is better)"),
    ("generate", "text", "desktop_app.commands.generate_text",
     "continue a prompt with a local language model"),
    ("generate", "image", "desktop_app.commands.generate_image", "sample images from an image model"),
    (None, "morph", "desktop_app.commands.morph", "morph one image into another (GIF, WebP or frames)"),
    (None, "edit", "desktop_app.commands.edit", "move an image along named latent directions"),
    ("generate", "music", "desktop_app.commands.generate_music",
     "generate melodies in a key, meter and tempo and write MIDI files"),
    (None, "morph-melody", "desktop_app.commands.morph_melody",
     "interpolate between two MIDI melodies with the phrase VAE"),
    ("train", "music", "desktop_app.commands.train_music",
     "train the folk-melody transformer or the phrase VAE"),
    ("train", "image", "desktop_app.commands.train_image", "train an image VAE on a folder or built-in data"),
    ("train", "text", "desktop_app.commands.train_text",
     "train a BPE tokenizer and a Llama language model on text files"),
]

GROUP_HELP = {
    "generate": "generate text, images or melodies",
    "train": "train or fine-tune a model on your own files",
    "bench": "measure speed",
    "eval": "measure how well a model predicts your own files",
}


class _Parser(argparse.ArgumentParser):
    """ArgumentParser whose usage errors print ONE short usage line (the full synopsis of
    ``generate text`` is twenty lines, burying the error) and one error line; exit status 2."""

    def error(self, message: str) -> None:  # noqa: D401 - argparse API
        self.exit(2, f"usage: {self.prog} [options]  (see: {self.prog} --help)\n"
                     f"{self.prog}: error: {message}\n")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="reverie", description="Reverie — an offline studio for generative models.")
    parser.add_argument("--version", action="version", version=f"reverie {__version__}")
    top = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    groups: dict[str, argparse._SubParsersAction] = {}
    for group, name, module, help_text in COMMANDS:
        if group is None:
            sub = top.add_parser(name, help=help_text, description=help_text)
        else:
            if group not in groups:
                g = top.add_parser(group, help=GROUP_HELP.get(group, group))
                groups[group] = g.add_subparsers(dest="subcommand", metavar="KIND",
                                                 parser_class=_Parser, required=True)
            sub = groups[group].add_parser(name, help=help_text, description=help_text)
        sub.set_defaults(_module=module)
        _add_arguments(sub, module)
    return parser


def _add_arguments(sub: argparse.ArgumentParser, module: str) -> None:
    add = getattr(importlib.import_module(module), "add_arguments", None)
    if add is not None:
        add(sub)


def main(argv: list[str] | None = None) -> int:
    from_shell = argv is None
    code = _main(sys.argv[1:] if argv is None else list(argv))
    if from_shell and _joined_process_group():
        # A run under torchrun has torn its process group down (files written, the exit status
        # known); skip the interpreter's finalization, where Gloo's worker threads can still
        # abort the process (SIGABRT, about 1 run in 25 with torch 2.13; pytorch#179291) and
        # turn a finished run into a failed one. The app's window exits the same way (app.py).
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(code)
    return code


def _joined_process_group() -> bool:
    ddp = sys.modules.get("desktop_app.ml.training.ddp")  # never imported: no torch, no group
    return ddp is not None and ddp.joined_a_group()


def _main(argv: list[str]) -> int:
    if not argv:
        # No arguments: the GUI. Skip building every subcommand's parser, so start-up neither
        # waits for nor depends on the other command modules.
        args, module = argparse.Namespace(), "desktop_app.commands.gui"
    else:
        try:
            args = build_parser().parse_args(argv)
        except SystemExit as done:  # --help, --version, or a usage error (already printed)
            return done.code if isinstance(done.code, int) else 0
        except OSError as exc:      # an option's path checked by its type: a name too long…
            print(f"reverie: error: {_os_error(exc)}", file=sys.stderr)
            return 2
        module = getattr(args, "_module", "desktop_app.commands.gui")
    try:
        return int(importlib.import_module(module).run(args) or 0)
    except UsageError as exc:
        print(f"reverie: error: {exc}", file=sys.stderr)
        return 2
    except ReverieError as exc:
        print(f"reverie: error: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("reverie: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        return 0
    except OSError as exc:  # a file-system error no command turned into a message: one line
        print(f"reverie: error: {_os_error(exc)}", file=sys.stderr)
        return 1


def _os_error(exc: OSError) -> str:
    """``File name too long: /tmp/xxxx…`` (the path shortened: it may be thousands long)."""
    name = str(exc.filename) if exc.filename is not None else ""
    name = name if len(name) <= 120 else name[:117] + "…"
    return f"{exc.strerror or exc}" + (f": {name}" if name else "")
