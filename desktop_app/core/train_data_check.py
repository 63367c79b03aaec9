"""Check a folder of training files before a run starts (no Qt, no torch).

The Train room calls :func:`check_folder` when the user picks a folder, and shows the
:class:`DataReport`: how many files are usable and why the others are skipped, how much data
there is, how it will be split into training and held-out parts, and, when there is too little,
how much is needed. The rules mirror what ``reverie train text|image|music`` do with a folder
(``ml/text/train_data.py``, ``ml/image/datasets.py``, ``ml/music/data.py``), so a folder that
passes here does not fail there for a data reason.
"""

from __future__ import annotations

import hashlib
import os
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from desktop_app.core.scrivener import scrivener_skip
from desktop_app.core.text_files import SESSION_SUFFIXES, WRITING_FORMATS, WRITING_SUFFIXES, \
    read_session_text, read_text_file

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".webp", ".gif", ".bmp", ".tif", ".tiff")
MIDI_SUFFIXES = (".mid", ".midi")
#: Minimums below which training cannot start (the commands' own limits, rounded up so the
#: held-out split is never empty), and the amounts from which results become worthwhile.
MIN_TEXT_BYTES = 20_000
GOOD_TEXT_BYTES = 1_000_000
#: Fine-tuning a built-in writing model (LoRA) works from a couple of kilobytes of one's own
#: writing (``commands/train_text_lora.py`` refuses below 1 KB); 20 KB is where it does more
#: than pick up vocabulary and habits.
MIN_FINETUNE_BYTES = 1_000
GOOD_FINETUNE_BYTES = 20_000
MIN_IMAGES = 10
GOOD_IMAGES = 500
MIN_TUNES = 8
GOOD_TUNES = 200
MUSIC_HOLDOUT_PERCENT = 5          # ml/music/data.py HOLDOUT_PERCENT
MAX_FILES = 200_000
#: Text whose tokens are counted one by one (a few seconds of a worker thread at most); the
#: rest of a bigger collection is counted at the rate measured on it.
_COUNT_TOKENS_BYTES = 8 << 20


@dataclass
class DataReport:
    """The result of checking one folder for one kind of model."""

    kind: str                                   # "text" | "image" | "music"
    folder: Path
    usable: list[str] = field(default_factory=list)                 # relative paths
    skipped: list[tuple[str, str]] = field(default_factory=list)    # (relative path, reason)
    data_bytes: int = 0
    train_count: int = 0
    heldout_count: int = 0
    heldout_note: str = ""
    heldout_bytes: int = 0                       # text: about how much is held out
    warnings: list[str] = field(default_factory=list)
    error: str = ""                              # non-empty: training cannot start
    fine_tune: bool = False                      # LoRA on a built-in model: lower minimums
    #: text: tokens of the training part by the tokenizer of the model to fine-tune (0: not
    #: counted); the command sizes its default steps by them, and other languages than
    #: English take far more tokens a byte
    train_tokens: int = 0

    @property
    def ok(self) -> bool:
        return not self.error

    def skipped_reasons(self) -> Counter:
        return Counter(reason for _, reason in self.skipped)

    def summary(self) -> str:
        """A few lines for the room (plain text)."""
        one, many = {"text": ("text file", "text files"), "image": ("image", "images"),
                     "music": ("MIDI melody", "MIDI melodies")}[self.kind]
        lines = [f"{len(self.usable)} usable {one if len(self.usable) == 1 else many}, "
                 f"{_human(self.data_bytes)}"]
        if self.skipped:
            reasons = "; ".join(r if n == 1 else f"{r} ({n} files)"
                                for r, n in self.skipped_reasons().most_common())
            lines.append(f"{len(self.skipped)} skipped: {reasons}")
        if self.usable:
            lines.append(f"Split: {self.train_count} for training, {self.heldout_count} held "
                         f"out to measure progress" + (f" ({self.heldout_note})"
                                                       if self.heldout_note else "")
                         + (f"; {self.train_tokens:,} tokens to train on"
                            if self.train_tokens else ""))
        lines += self.warnings
        if self.error:
            lines.append(self.error)
        return "\n".join(lines)


def _human(n: int) -> str:
    for limit, unit in ((1e9, "GB"), (1e6, "MB"), (1e3, "kB")):
        if n >= limit:
            return f"{n / limit:.1f} {unit}"
    return f"{n} bytes"


def _files(folder: Path) -> list[Path]:
    out: list[Path] = []
    for root, dirs, names in os.walk(folder):
        dirs[:] = sorted(d for d in dirs if not d.startswith("."))
        # an Apple Pages document synced from a Mac is a folder: one entry, skipped with why
        packages = [d for d in dirs if d.lower().endswith(".pages")]
        out.extend(Path(root) / d for d in packages)
        dirs[:] = [d for d in dirs if d not in packages]
        out.extend(Path(root) / n for n in sorted(names) if not n.startswith("."))
        if len(out) > MAX_FILES:
            break
    return out


def check_folder(kind: str, folder: str | os.PathLike[str], *, fine_tune: bool = False,
                 count_tokens: Callable[[str], int] | None = None) -> DataReport:
    """Check ``folder`` as training data for ``kind`` ("text", "image" or "music"; for text it
    may be one file); ``fine_tune``: adapters on a built-in model (text), which needs far less
    text; ``count_tokens``: the tokens of a text by the model's tokenizer (text), to fill
    :attr:`DataReport.train_tokens`."""
    folder = Path(folder).expanduser()
    report = DataReport(kind=kind, folder=folder, fine_tune=fine_tune)
    if not str(folder).strip() or str(folder) == ".":
        report.error = "Choose a folder of your files first."
        return report
    try:
        exists, is_dir = folder.exists(), folder.is_dir()
    except (OSError, ValueError) as exc:    # a name too long, a NUL typed into the field
        report.error = f"{str(folder)[:200]} cannot be used ({getattr(exc, 'strerror', 0) or exc})."
        return report
    if not exists:
        report.error = (f"{folder} does not exist." if kind == "text" else
                        f"The folder {folder} does not exist.")
        return report
    if not is_dir and kind != "text":
        report.error = f"{folder} is a file, not a folder; choose the folder that holds it."
        return report
    try:
        if folder.is_dir():
            files = _files(folder)
            os.listdir(folder)
        else:   # text: a writer's one manuscript (a novel as a .docx) is data on its own; the
            files = [folder]   # trainer takes a file too, and holds out its last 10 %
            folder.stat()
    except OSError as exc:
        report.error = f"The folder {folder} cannot be read ({exc.strerror or exc})."
        return report
    if not files:
        report.error = f"The folder {folder} is empty."
        return report
    if kind == "text":
        _check_text(report, files, count_tokens)
    else:
        {"image": _check_images, "music": _check_midi}[kind](report, files)
    return report


def _rel(report: DataReport, path: Path) -> str:
    return path.name if path == report.folder else str(path.relative_to(report.folder))


_WANTED = {"text": "text", "image": "an image", "music": "a MIDI file"}


def _wrong_type(suffix: str, kind: str) -> str:
    """Why a file of another type is skipped: 'an image, not text'."""
    for found, suffixes in (("an image", IMAGE_SUFFIXES), ("a MIDI file", MIDI_SUFFIXES),
                            ("a text file", WRITING_SUFFIXES)):
        if suffix in suffixes:
            return f"{found}, not {_WANTED[kind]}"
    return f"not a supported file type ({suffix or 'no extension'})"


def _check_text(report: DataReport, files: list[Path],
                count_tokens: Callable[[str], int] | None = None) -> None:
    sizes: list[int] = []
    tokens: list[int] = []
    counted_bytes = counted_tokens = 0
    machine, sessions = 0, 0           # what the model wrote in Write-room sessions, left out
    for f in files:
        rel, suffix = _rel(report, f), f.suffix.lower()
        if skip := scrivener_skip(f):   # a Scrivener project: its manuscript only
            report.skipped.append((rel, skip))
            continue
        if suffix in SESSION_SUFFIXES:  # what read_text_file gives, and how much was left out
            text, reason, left_out = read_session_text(f)
            machine, sessions = machine + left_out, sessions + (left_out > 0)
        else:
            text, reason = read_text_file(f)   # what the trainer reads: the same reader
        if text is None:
            if reason == "binary file" and suffix not in WRITING_SUFFIXES:
                reason = _wrong_type(suffix, "text")
            report.skipped.append((rel, reason))
            continue
        if suffix not in WRITING_SUFFIXES:
            report.warnings.append(f"{rel} is not a known writing format (.txt, .md, .docx…) "
                                   f"but is UTF-8 text, so it is used as it is")
        report.usable.append(rel)
        sizes.append(len(text.encode("utf-8")))
        if count_tokens is not None:   # counted in the first 8 MB; past it, at their rate
            if counted_bytes < _COUNT_TOKENS_BYTES:
                tokens.append(count_tokens(text))
                counted_bytes += sizes[-1]
                counted_tokens += tokens[-1]
            else:
                tokens.append(round(sizes[-1] * counted_tokens / counted_bytes))
    report.data_bytes = sum(sizes)
    n = len(report.usable)
    if n >= 10:
        held = [i for i in range(n) if i % 20 == 19 or (n < 20 and i == n - 1)]
        report.train_count, report.heldout_count = n - len(held), len(held)
        report.heldout_note = "every 20th file"
        report.heldout_bytes = sum(sizes[i] for i in held)
        report.train_tokens = sum(tokens) - sum(tokens[i] for i in held) if tokens else 0
    elif n:
        report.train_count = report.heldout_count = n
        report.heldout_note = "the last 10% of each file"
        report.heldout_bytes = report.data_bytes // 10
        report.train_tokens = round(0.9 * sum(tokens))
    if len(report.warnings) > 5:
        extra = len(report.warnings) - 5
        report.warnings = report.warnings[:5] + [f"... and {extra} more such files"]
    if machine:
        report.warnings.append(f"Left out {machine:,} characters the model wrote in {sessions} "
                               f"Reverie session{'s' if sessions > 1 else ''}: only your own "
                               f"words are used")
    if not n:
        report.error = (f"No usable text: training needs text files ({WRITING_FORMATS})."
                        if files else "")
    elif report.fine_tune:
        _fine_tune_amount(report)
    elif report.data_bytes < MIN_TEXT_BYTES:
        report.error = (f"Too little text: {_human(report.data_bytes)} found, at least "
                        f"{_human(MIN_TEXT_BYTES)} is needed (about 10 pages), and 1 MB or more "
                        f"gives a model worth using.")
    elif report.data_bytes < GOOD_TEXT_BYTES:
        report.warnings.append(f"{_human(report.data_bytes)} is enough to start, but a model "
                               f"learns your style much better from 1 MB or more.")


def _fine_tune_amount(report: DataReport) -> None:
    """What fine-tuning can do with this much text (plain words, not a lecture)."""
    size = _human(report.data_bytes)
    if report.data_bytes < MIN_FINETUNE_BYTES:
        report.error = (f"Too little text: {size} found; fine-tuning needs at least "
                        f"{_human(MIN_FINETUNE_BYTES)} (about half a page), and works better "
                        f"from a few pages.")
    elif report.data_bytes < GOOD_FINETUNE_BYTES:
        report.warnings.append(
            f"{size} is enough to fine-tune: the model picks up your vocabulary, names, "
            f"spelling and layout. It cannot learn facts or a plot from so little, and the run "
            f"stops early before it starts repeating your text.")


def _check_images(report: DataReport, files: list[Path]) -> None:
    from PIL import Image  # Pillow is pure data handling: allowed in core

    sizes: list[tuple[int, int]] = []
    for f in files:
        rel, suffix = _rel(report, f), f.suffix.lower()
        if suffix not in IMAGE_SUFFIXES:
            report.skipped.append((rel, _wrong_type(suffix, "image")))
            continue
        try:
            with Image.open(f) as img:
                img.verify()
                sizes.append(img.size)
        except Image.DecompressionBombError:
            report.skipped.append((rel, "too large to open safely"))
            continue
        except (OSError, ValueError, SyntaxError):
            report.skipped.append((rel, "unreadable image"))
            continue
        report.usable.append(rel)
        report.data_bytes += f.stat().st_size
    n = len(report.usable)
    held = min(max(int(round(n * 0.1)), 1), n - 1) if n >= 2 else 0
    report.train_count, report.heldout_count = n - held, held
    report.heldout_note = "10%, chosen at random with the run's seed"
    if sizes:
        sides = [min(w, h) for w, h in sizes]
        ratios = [max(w, h) / max(min(w, h), 1) for w, h in sizes]
        if max(sides) > 8 * min(sides):
            report.warnings.append(
                f"Image sizes vary widely ({min(sides)} to {max(sides)} pixels on the short "
                f"side); every image is centre-cropped to a square and resized, so small ones "
                f"come out blurry.")
        wide = sum(1 for r in ratios if r > 2)
        if wide:
            report.warnings.append(f"{wide} images are more than twice as wide as tall (or "
                                   f"the reverse); their edges are cropped away.")
    if not n:
        report.error = "No readable images: training needs PNG, JPEG, WebP, GIF, BMP or TIFF files."
    elif n < MIN_IMAGES:
        report.error = (f"Too few images: {n} found, at least {MIN_IMAGES} are needed, and "
                        f"{GOOD_IMAGES} or more give a model worth using.")
    elif n < GOOD_IMAGES:
        report.warnings.append(f"{n} images are enough to start; {GOOD_IMAGES} or more give "
                               f"much better results.")


def music_is_holdout(rel: str, index: int) -> bool:
    """The melody trainer's fixed held-out rule for a user's MIDI file (ml/music/data.py)."""
    h = hashlib.sha1(f"user/{rel}/{index}".encode()).digest()
    return int.from_bytes(h[:4], "big") % 100 < MUSIC_HOLDOUT_PERCENT


def _check_midi(report: DataReport, files: list[Path]) -> None:
    from desktop_app.core.errors import ReverieError
    from desktop_app.core.midi import read_midi

    midi = sorted(f for f in files if f.suffix.lower() in MIDI_SUFFIXES)
    for f in files:
        if f.suffix.lower() not in MIDI_SUFFIXES:
            reason = _wrong_type(f.suffix.lower(), "music")
            if f.suffix.lower() == ".abc":
                reason = "ABC notation (needs the optional music21 extra; convert it to MIDI)"
            report.skipped.append((_rel(report, f), reason))
    held = 0
    for index, f in enumerate(midi):  # the trainer numbers every MIDI file, readable or not
        rel = _rel(report, f)
        try:
            melody = read_midi(f)
        except (ReverieError, OSError, ValueError, EOFError) as exc:
            reason = str(exc)
            report.skipped.append((rel, "no melody" if "no notes" in reason
                                   or "drum" in reason else "unreadable MIDI"))
            continue
        bars = (max((n.start + n.duration for n in melody.notes), default=0.0)
                / max(melody.meter.bar_quarters, 1e-9))
        if len(melody.notes) < 4 or bars < 2:
            report.skipped.append((rel, "too short (under 2 bars of melody)"))
            continue
        report.usable.append(rel)
        report.data_bytes += f.stat().st_size
        held += music_is_holdout(rel, index)
    n = len(report.usable)
    if n >= 2 and held == 0:
        held = 1  # train_music moves one tune to the held-out side when the hash picks none
    report.train_count, report.heldout_count = n - held, held
    report.heldout_note = f"a fixed {MUSIC_HOLDOUT_PERCENT}% of tunes, at least one"
    if not midi:
        report.error = "No MIDI files (.mid, .midi) in this folder."
    elif not n:
        report.error = "None of the MIDI files has a usable melody."
    elif n < MIN_TUNES:
        report.error = (f"Too few melodies: {n} usable, at least {MIN_TUNES} are needed, and "
                        f"{GOOD_TUNES} or more give a model worth using.")
    elif n < GOOD_TUNES:
        report.warnings.append(f"{n} melodies are enough to start; {GOOD_TUNES} or more give "
                               f"much better results.")
