"""``reverie models``: list the installed models (name, kind, parameters, size, licence).

Parameter counts are read from the safetensors headers, so listing never loads weights or
imports torch. The table's licence column is a short SPDX-like name; ``--json`` prints a
machine-readable list with the card's full licence text. Folders that cannot be read are
reported on stderr as warnings; the listing itself still succeeds (exit 0).
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from pathlib import Path

from desktop_app.commands import options as opt
from desktop_app.core.paths import MODEL_KINDS


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--json", action="store_true", help="print the list as JSON")
    parser.add_argument("--kind", choices=MODEL_KINDS, help="only models of this kind")
    parser.add_argument("--folder", action="append", default=[], metavar="DIR", type=opt.existing_dir,
                        help="also look in DIR (holding text/, image/, music/); repeatable")


def _configured_folders() -> tuple[Path | None, list[Path]]:
    """The user models folder and extra folders chosen in Preferences (if Qt is available)."""
    try:
        from desktop_app.ui.settings import Settings
    except ImportError:  # pragma: no cover - Qt missing: fall back to the defaults
        return None, []
    settings = Settings()
    if settings.warning:
        print(f"reverie: warning: {settings.warning}", file=sys.stderr)
    return settings.user_models_dir(), settings.extra_model_dirs()


#: SPDX-style identifiers the table shows instead of a card's sentence (first match wins).
_SPDX = re.compile(r"\b(Apache-2\.0|MIT|BSD-[23]-Clause|CC0-1\.0|CC-BY(?:-NC)?(?:-SA|-ND)?-\d\.\d|"
                   r"L?GPL-[23]\.0(?:-only|-or-later)?|MPL-2\.0|Unlicense|OpenRAIL(?:-M)?|"
                   r"llama[23](?:\.\d)?)\b", re.IGNORECASE)
LICENCE_WIDTH = 24


def short_licence(text: str) -> str:
    """The licence as a short SPDX-like name for the table ("MIT for these weights (…); the
    tunes are …" -> "MIT"); the full sentence stays in ``--json`` and the model card."""
    text = " ".join(str(text).split())
    m = _SPDX.search(text)
    if m:
        return m.group(1)
    if "public domain" in text.lower() or "public-domain" in text.lower():
        return "public domain"
    return text if len(text) <= LICENCE_WIDTH else text[: LICENCE_WIDTH - 1] + "…"


def format_table(models) -> str:
    from desktop_app.core.model_registry import human_count, human_size

    header = ("NAME", "KIND", "PARAMETERS", "SIZE", "LICENCE", "SOURCE")
    rows = [header] + [(m.name, m.kind, human_count(m.parameters), human_size(m.size_bytes),
                        short_licence(m.licence), m.source + (" (problem)" if m.problem else ""))
                       for m in models]
    widths = [max(len(r[i]) for r in rows) for i in range(len(header))]
    return "\n".join("  ".join(c.ljust(w) for c, w in zip(r, widths)).rstrip() for r in rows)


def run(args: argparse.Namespace) -> int:
    from desktop_app.core.model_registry import scan_models

    user_dir, extra = _configured_folders()
    scan = scan_models(user_dir=user_dir, extra_dirs=[*extra, *args.folder])
    models = [m for m in scan.models if args.kind in (None, m.kind)]
    for problem in scan.problems:
        print(f"reverie: warning: {problem}", file=sys.stderr)
    for m in models:
        if m.problem:
            print(f"reverie: warning: {m.name}: {m.problem}", file=sys.stderr)
    if args.json:
        print(json.dumps([m.as_dict() for m in models], indent=2))
    elif models:
        print(format_table(models))
    else:
        print("No models found.", file=sys.stderr)
    return 0
