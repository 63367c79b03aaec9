"""Training runs on disk: where they live, finding an unfinished one, installing the result.

Qt-free. A run folder is ``<user data>/training/<kind>/<name>/``: the trainer's own files
(``run.json``, ``checkpoints/``, the exported model) plus ``train_request.json``, which records
what the room started (so Resume can rebuild the very same command after the app was closed or
crashed). When a run finishes, :func:`install_model` copies the model files and a generated
``MODEL_CARD.md`` into ``user_models_dir()/<kind>/<name>/`` (built in a temporary folder and
renamed into place, so the pickers never see half a model, and an older model of that name is
only replaced once the new one is complete).
"""

from __future__ import annotations

import json
import os
import re
import shutil
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

from desktop_app.core import paths
from desktop_app.core.atomic import atomic_write_json, atomic_write_text
from desktop_app.core.errors import DataError, ReverieError
from desktop_app.core.untrusted import read_json

REQUEST_FILE = "train_request.json"
HISTORY_FILE = "progress.jsonl"      # the progress lines seen so far (the charts after a resume)
#: Files the trainer writes into a run folder that are not part of the model.
NOT_MODEL = {REQUEST_FILE, HISTORY_FILE, "run.json", "MODEL_CARD.md"}
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9 ._-]{0,63}$")


@dataclass
class RunRequest:
    """What the room started; saved as ``train_request.json`` in the run folder."""

    kind: str
    name: str
    size: str | None
    data: str
    steps: int
    init_from: str | None = None
    lora: bool = False              # LoRA adapters on init_from (a PEFT adapter folder)
    extra: list[str] = field(default_factory=list)
    data_summary: str = ""
    created: float = field(default_factory=time.time)
    max_minutes: float = 0.0        # --max-minutes (0: none)

    @classmethod
    def from_json(cls, d: dict) -> "RunRequest":
        """From a run folder's ``train_request.json`` (a file on disk: every field's type is
        checked, so a damaged one is "not a run", never a crash of the room)."""
        if not isinstance(d, dict):
            raise ValueError("not a run request")
        known = {k: d[k] for k in cls.__dataclass_fields__ if k in d}
        for name, value in known.items():
            kinds = _FIELD_TYPES[name]
            if not isinstance(value, kinds) or (isinstance(value, bool) and bool not in kinds):
                raise ValueError(f"run request: bad {name}")
        if not all(isinstance(x, str) for x in known.get("extra", [])):
            raise ValueError("run request: bad extra")
        if not 0 <= known.get("max_minutes", 0) <= 7 * 24 * 60 or known.get("steps", 1) < 1:
            raise ValueError("run request: value out of range")
        if known.get("kind") not in paths.MODEL_KINDS or check_name(known.get("name", "")):
            raise ValueError("run request: unknown kind or bad name")   # they make paths
        return cls(**known)


_FIELD_TYPES = {"kind": (str,), "name": (str,), "size": (str, type(None)), "data": (str,),
                "steps": (int,), "init_from": (str, type(None)), "lora": (bool,),
                "extra": (list,), "data_summary": (str,), "created": (int, float),
                "max_minutes": (int, float)}


def check_name(name: str) -> str:
    """Return a readable problem with a model name, or ""."""
    if not name.strip():
        return "Give the model a name."
    if not _NAME.match(name) or name.strip() != name:
        return ("Use letters, digits, spaces, dots, dashes or underscores for the name "
                "(64 characters at most).")
    return ""


def free_name(kind: str, name: str) -> str:
    """The first of ``base``, ``base-2``, ``base-3``… (``base``: ``name`` without a trailing
    ``-N``) that names neither an installed model of ``kind`` nor an unfinished run: what the
    room offers for the next run once ``name`` is taken."""
    base = re.sub(r"-\d+$", "", name) or name
    for candidate in [base] + [f"{base}-{n}" for n in range(2, 1000)]:
        if check_name(candidate):
            break
        if not model_dir(kind, candidate).exists() and \
                checkpoint_step(run_dir(kind, candidate)) == 0:
            return candidate
    return name


def training_root() -> Path:
    return paths.user_data_dir() / "training"


def run_dir(kind: str, name: str) -> Path:
    return training_root() / kind / name


def model_dir(kind: str, name: str) -> Path:
    return paths.user_models_dir() / kind / name


def save_request(folder: Path, request: RunRequest) -> None:
    atomic_write_json(folder / REQUEST_FILE, asdict(request))


def load_request(folder: Path) -> RunRequest | None:
    try:
        return RunRequest.from_json(read_json(folder / REQUEST_FILE))  # bounded
    except (DataError, OSError, ValueError, TypeError, AttributeError):
        return None


def checkpoint_step(folder: Path) -> int:
    """Step of the newest complete checkpoint in a run folder (0 when none)."""
    try:
        info = read_json(folder / "checkpoints" / "latest.json")  # bounded
        return int(info["step"]) if (folder / "checkpoints" / str(info["dir"])).is_dir() else 0
    except (DataError, OSError, ValueError, KeyError, TypeError):
        return 0


def append_history(folder: Path, ev: dict) -> None:
    """Append one progress object; a full disk must not stop the run or the room."""
    try:
        with open(folder / HISTORY_FILE, "a", encoding="utf-8") as fh:
            fh.write(json.dumps(ev) + "\n")
    except OSError:
        pass


def read_history(folder: Path) -> list[dict]:
    """The progress objects saved for a run (a torn last line is ignored)."""
    try:
        lines = (folder / HISTORY_FILE).read_text("utf-8").splitlines()
    except OSError:
        return []
    out = []
    for line in lines:
        try:
            ev = json.loads(line)
        except ValueError:
            continue
        if isinstance(ev, dict):
            out.append(ev)
    return out


@dataclass(frozen=True)
class Unfinished:
    folder: Path
    request: RunRequest
    step: int

    def describe(self) -> str:
        return (f"An unfinished {self.request.kind} run “{self.request.name}” stopped at step "
                f"{self.step:,} of {self.request.steps:,}.")


def find_unfinished() -> list[Unfinished]:
    """Runs with a checkpoint that have not reached their last step, newest first."""
    found: list[Unfinished] = []
    root = training_root()
    for kind in paths.MODEL_KINDS:
        try:
            folders = [p for p in (root / kind).iterdir() if p.is_dir()]
        except OSError:
            continue
        for folder in folders:
            request = load_request(folder)
            step = checkpoint_step(folder)
            if request is not None and 0 < step < request.steps:
                found.append(Unfinished(folder, request, step))
    found.sort(key=lambda u: (u.folder / "checkpoints" / "latest.json").stat().st_mtime
               if (u.folder / "checkpoints" / "latest.json").exists() else 0, reverse=True)
    return found


def discard_run(folder: Path) -> None:
    """Delete a run folder (its checkpoints); only folders under the training root."""
    folder = Path(folder).resolve()
    if training_root().resolve() not in folder.parents:
        raise ReverieError(f"refusing to delete {folder}: it is not a training run folder")
    shutil.rmtree(folder, ignore_errors=True)


@dataclass
class RunStats:
    """Figures the room collects from the progress stream, for the model card."""

    parameters: str = ""
    steps: int = 0
    total_steps: int = 0
    first_val_loss: float | None = None
    val_loss: float | None = None
    train_loss: float | None = None
    rate: float | None = None
    elapsed_s: float = 0.0
    last_sample: str = ""
    #: held-out bits per byte (text runs): the first evaluation's and the best one's, with its
    #: step (a fine-tune keeps the best evaluation's adapter, not the last step's)
    first_bpb: float | None = None
    best_bpb: float | None = None
    best_step: int = 0
    ended: str = ""     # "time" | "patience": what ended the run before its last step

    def take(self, ev: dict) -> None:
        """Update the figures from one progress object."""
        kind, step = ev.get("kind"), ev.get("step")
        if isinstance(step, int):
            self.steps = step if kind == "start" else max(self.steps, step)
        if kind == "step":
            self.train_loss = ev.get("loss", self.train_loss)
            self.rate = ev.get("tokens_per_s", self.rate)
            self.elapsed_s = ev.get("elapsed_s") or self.elapsed_s
        if kind == "done" and ev.get("ended") in ("time", "patience"):
            self.ended = ev["ended"]
        if kind in ("eval", "done", "stopped") and ev.get("val_loss") is not None:
            if kind == "eval" and self.first_val_loss is None:
                self.first_val_loss = ev["val_loss"]
            self.val_loss = ev["val_loss"]
            bpb = ev.get("bits_per_byte")
            if kind == "eval" and isinstance(bpb, (int, float)):
                self.first_bpb = bpb if self.first_bpb is None else self.first_bpb
                if self.best_bpb is None or bpb < self.best_bpb:
                    self.best_bpb, self.best_step = bpb, step if isinstance(step, int) else 0
        elif kind == "sample" and isinstance(ev.get("sample"), str):
            self.last_sample = ev["sample"]
        elif kind == "start" and " parameters" in (ev.get("message") or ""):
            self.parameters = ev["message"].split(" parameters")[0]


def _data_label(request: RunRequest) -> str:
    """"Folder", or "File" for a text run on one manuscript."""
    return "File" if Path(request.data).is_file() else "Folder"


def finish_text(request: RunRequest, stats: RunStats) -> str:
    """The status line of a finished run: for a fine-tune, what it did to the held-out text;
    for a run that ended before its last step, what ended it."""
    done = "Done."
    if stats.ended and stats.steps < request.steps:
        why = (f"the {request.max_minutes:g}-minute limit" if stats.ended == "time"
               and request.max_minutes else "the time limit" if stats.ended == "time"
               else "the held-out score had stopped improving")
        done = f"Done at step {stats.steps:,} of {request.steps:,} ({why})."
    if request.lora and stats.first_bpb and stats.best_bpb is not None:
        change = (stats.best_bpb - stats.first_bpb) / stats.first_bpb * 100
        start = Path(request.init_from or "")    # an adapter trained further: its figure first
        first = (f"{stats.first_bpb:.3f} ({start.name}'s)"
                 if (start / "adapter_config.json").is_file() else f"{stats.first_bpb:.3f}")
        return (f"{done} Held-out bits per byte {first} → {stats.best_bpb:.3f} "
                f"({change:+.1f} %); the adapter of step {stats.best_step:,}, the best "
                f"evaluation, is kept.")
    return f"{done} Held-out loss {stats.val_loss:.3f}." if stats.val_loss else done


def model_card(request: RunRequest, stats: RunStats, command: str) -> str:
    unit = {"text": "tokens", "image": "images", "music": "tokens"}[request.kind]
    start = (f"fine-tuned from `{request.init_from}`" if request.init_from
             else f"trained from scratch (size preset `{request.size}`)")

    def f(v):
        return "-" if v is None else f"{v:.4f}"
    lines = [
        f"# {request.name}", "",
        f"A {request.kind} model {start} in Reverie's Train room on "
        f"{time.strftime('%Y-%m-%d', time.localtime())}.", "",
        "Licence: the licence of your own training data (this model was made from it).", "",
        "## Data", "", f"{_data_label(request)}: `{request.data}`", "",
        *[f"- {line}" for line in request.data_summary.splitlines() if line.strip()], "",
        "## Training", "",
        f"- Parameters: {stats.parameters or 'see config.json'}",
        f"- Steps: {stats.steps:,} of {request.steps:,}",
        f"- Training loss (last logged window): {f(stats.train_loss)}",
        f"- Held-out loss: {f(stats.first_val_loss)} at the first evaluation, "
        f"{f(stats.val_loss)} at the end",
        f"- Throughput: {stats.rate:,.0f} {unit}/s" if stats.rate else "- Throughput: -",
        f"- Training time (this session): {stats.elapsed_s / 60:.1f} min", "",
        "Command (run it again, or on a bigger machine — see docs/train-room.md):", "",
        "```", command, "```", "",
    ]
    if stats.last_sample:
        lines += ["## Last sample while training", "", "```", stats.last_sample[:1500], "```", ""]
    lines += ["## Limitations", "",
              "A small model trained on a small personal collection: it imitates the surface of "
              "the data it saw and repeats its biases; check what it makes before sharing it.", ""]
    return "\n".join(lines)


def lora_card(request: RunRequest, trainer_card: str) -> str:
    """The fine-tune's card: the trainer's own (held-out bits per byte before/after, the
    samples) with the room's name and data summary on top."""
    lines = [f"# {request.name}", "",
             f"Fine-tuned from `{request.init_from}` in Reverie's Train room on "
             f"{time.strftime('%Y-%m-%d', time.localtime())} (LoRA adapters; the base is "
             f"unchanged).", "", "Licence: the base model's licence, and that of your own "
             "training data.", "", "## Data", "", f"{_data_label(request)}: `{request.data}`", "",
             *[f"- {line}" for line in request.data_summary.splitlines() if line.strip()], ""]
    body = trainer_card.split("\n---\n", 1)[-1] if trainer_card.startswith("---") else \
        trainer_card
    return "\n".join(lines) + "\n" + body


def tidy_run(run: Path) -> None:
    """After a successful install: drop the checkpoints and encoded data (hundreds of MB for
    the bigger presets); the request, the progress history and run.json stay."""
    for sub in ("checkpoints", "data"):
        shutil.rmtree(run / sub, ignore_errors=True)


def install_model(run: Path, kind: str, name: str, card: str) -> Path:
    """Copy the finished model from ``run`` into the user's models folder; return its path."""
    target = model_dir(kind, name)
    files = [p for p in run.iterdir() if p.is_file() and p.name not in NOT_MODEL
             and not p.name.startswith(".")]
    if not any(p.suffix == ".safetensors" for p in files):
        raise ReverieError(f"the run in {run} has no exported weights to install")
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.parent / f".{name}.installing"
    old = target.parent / f".{name}.previous"
    try:
        shutil.rmtree(tmp, ignore_errors=True)
        tmp.mkdir()
        for p in files:
            shutil.copy2(p, tmp / p.name)
        atomic_write_text(tmp / "MODEL_CARD.md", card)
        shutil.rmtree(old, ignore_errors=True)
        if target.exists():
            os.replace(target, old)
        os.replace(tmp, target)
        shutil.rmtree(old, ignore_errors=True)
    except OSError as exc:
        shutil.rmtree(tmp, ignore_errors=True)
        if old.exists() and not target.exists():
            os.replace(old, target)
        raise ReverieError(f"could not install the model into {target}: "
                           f"{exc.strerror or exc}; the run folder {run} keeps it") from exc
    return target


def failure_text(code: int, stderr: str, saved: int) -> str:
    """One readable message for a trainer that exited with an error (its stderr's last line)."""
    lines = [ln.strip() for ln in stderr.splitlines() if ln.strip()]
    error = next((ln for ln in reversed(lines) if ln.startswith("reverie: error")), None)
    if error is None and lines:
        error = lines[-1]
    what = error or (f"the trainer stopped unexpectedly (exit code {code})" if code != -2
                     else stderr)
    keep = (f" The checkpoint at step {saved:,} is kept: resume the run above." if saved
            else "")
    return f"Training failed: {what.removeprefix('reverie: error: ')}.{keep}".replace("..", ".")
