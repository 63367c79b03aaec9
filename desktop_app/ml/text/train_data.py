"""Text training data: gather files, hold out a validation split, encode, draw windows.

* :func:`load_corpus` reads files and folders (recursively, sorted), skipping hidden files,
  binary files (a NUL byte), files that are not UTF-8 and files too large to be text, with a
  count of what was skipped; Word (.docx), OpenDocument (.odt) and RTF files are read as
  their words, and in a Scrivener project only its documents' text
  (:mod:`desktop_app.core.text_files`); nothing usable left -> :class:`DataError`.
* Validation: ``val_list`` names held-out files (one path per line, relative to the list's
  folder or its parent, or just the file name); without it, whole files are held out when there
  are at least 10 (every 20th, at least one), otherwise the last 10 % of each file.
* :func:`unwrap_paragraphs` undoes hard line wrapping (Project Gutenberg texts break every
  60-75 characters; a model trained on that writes the breaks too): a single newline inside a
  paragraph becomes a space when the next line's first word would not have fitted on the line
  (so the break was the wrapper's, not the author's); blank lines, verse, lists and indented
  blocks keep their breaks. Files that are not hard-wrapped are left as they are.
* :class:`TokenWindows` draws (input, target) windows of ``context`` tokens from one encoded
  stream in which every document starts with ``<|endoftext|>``.
"""

from __future__ import annotations

import hashlib
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch

from desktop_app.core.errors import DataError
from desktop_app.core.scrivener import scrivener_skip
from desktop_app.core.text_files import WRITING_FORMATS, read_text_file
from desktop_app.ml.text.bpe import EOT_ID


@dataclass
class TextCorpus:
    train: list[tuple[str, str]] = field(default_factory=list)   # (name, text)
    val: list[tuple[str, str]] = field(default_factory=list)
    skipped: list[tuple[str, str]] = field(default_factory=list)  # (path, reason)

    def fingerprint(self) -> str:
        h = hashlib.sha256()
        for split, docs in (("train", self.train), ("val", self.val)):
            for name, text in docs:
                h.update(f"{split}\0{name}\0".encode())
                h.update(hashlib.sha256(text.encode("utf-8")).digest())
        return h.hexdigest()[:16]

    def byte_counts(self) -> tuple[int, int]:
        return (sum(len(t.encode("utf-8")) for _, t in self.train),
                sum(len(t.encode("utf-8")) for _, t in self.val))

    def describe(self) -> str:
        """The trainers' "data:" line: "1 training file (32,545 bytes), 1 held-out (8,100
        bytes); skipped 2 unusable files (binary file, not UTF-8 text)"."""
        ntrain, nval = self.byte_counts()
        line = (f"{_count(len(self.train), 'training file')} ({ntrain:,} bytes), "
                f"{len(self.val)} held-out ({nval:,} bytes)")
        if self.skipped:
            reasons = sorted({r for _, r in self.skipped})
            line += (f"; skipped {_count(len(self.skipped), 'unusable file')} "
                     f"({', '.join(reasons[:3])}{', …' if len(reasons) > 3 else ''})")
        return line


def _count(n: int, noun: str) -> str:
    return f"{n:,} {noun}{'' if n == 1 else 's'}"


def collect_files(inputs: list[str | Path]) -> list[Path]:
    files: list[Path] = []
    for item in inputs:
        p = Path(item).expanduser()
        if p.is_dir():
            files.extend(sorted(f for f in p.rglob("*") if f.is_file()
                                and not any(part.startswith(".") for part in f.relative_to(p).parts)))
        elif p.is_file():
            files.append(p)
        else:
            raise DataError(f"training data {p} does not exist")
    return files


#: a file counts as hard-wrapped when its wrap width is in this range and at least this share
#: of its non-blank lines end within ``_WRAP_BAND`` characters of the width
_WRAP_WIDTHS = (40, 120)
_WRAPPED_SHARE = 0.3
_WRAP_BAND = 15
#: a line this close to the width counts as full even when the next word would just have fitted
#: (files mix wrappers and widths; measured on the stories corpus, see the model card)
_SLACK = 8


def wrap_width(lines: list[str]) -> int | None:
    """The column a hard-wrapped text was wrapped at, or None when it is not hard-wrapped.

    The width is the 98th percentile of the non-blank line lengths (a few over-long lines --
    tables, a long word -- do not move it); the text is hard-wrapped when many lines end close
    to it, as greedy wrapping leaves them.
    """
    lengths = sorted(len(ln.rstrip()) for ln in lines if ln.strip())
    if len(lengths) < 20:
        return None
    width = lengths[min(len(lengths) - 1, int(len(lengths) * 0.98))]
    if not _WRAP_WIDTHS[0] <= width <= _WRAP_WIDTHS[1]:
        return None
    near = sum(1 for n in lengths if width - _WRAP_BAND <= n <= width)
    return width if near >= _WRAPPED_SHARE * len(lengths) else None


def _indent(line: str) -> int:
    return len(line) - len(line.lstrip(" \t"))


def _soft_break(line: str, nxt: str, width: int, base: int) -> bool:
    """True when the newline between ``line`` and ``nxt`` was made by the wrapper.

    ``base`` is the file's usual indent: lines indented deeper are verse or quoted blocks,
    whose breaks are the author's.
    """
    if not line.strip() or not nxt.strip():
        return False
    first_word = nxt.split(None, 1)[0]
    if _indent(line) > base + 1 and _indent(nxt) == _indent(line):
        # an indented block: a quoted letter is wrapped to the full width, verse seldom is
        return len(line.rstrip()) + 1 + len(first_word) > width
    if _indent(nxt) > base + 1 or _indent(line) > base + 1 and _indent(nxt) > base:
        return False  # verse, quoted blocks, lists: an indent change is the author's
    # greedy wrapping moves a word down only when it would not fit on the line; short lines
    # (verse, a paragraph's last line, "Chapter I") keep their breaks
    return len(line.rstrip()) + 1 + len(first_word) > width - _SLACK


def unwrap_paragraphs(text: str) -> str:
    """``text`` with hard-wrapped paragraphs joined into one line each (see the module doc)."""
    lines = text.split("\n")
    width = wrap_width(lines)
    if width is None:
        return text
    indents = Counter(_indent(ln) for ln in lines if ln.strip())
    base = indents.most_common(1)[0][0]
    out: list[str] = [lines[0]]
    for prev, line in zip(lines, lines[1:]):
        if _soft_break(prev, line, width, base):
            joint = "" if out[-1].rstrip().endswith(("--", "\u2014")) else " "
            out[-1] = out[-1].rstrip() + joint + line.strip()
        else:
            out.append(line)
    return "\n".join(out)


_MAX_VAL_LIST_BYTES = 16 << 20   # a list of file names


def _val_names(val_list: Path) -> list[str]:
    try:
        if val_list.stat().st_size > _MAX_VAL_LIST_BYTES:
            raise DataError(f"the validation list {val_list} is larger than "
                            f"{_MAX_VAL_LIST_BYTES >> 20} MB; it lists file names, one a line")
        lines = val_list.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as exc:
        raise DataError(f"cannot read the validation list {val_list}: {exc}") from None
    return [ln.strip() for ln in lines if ln.strip() and not ln.lstrip().startswith("#")]


def _is_listed(path: Path, entries: list[str], bases: list[Path]) -> str | None:
    resolved = path.resolve()
    for entry in entries:
        e = Path(entry)
        if e.is_absolute() and e.resolve() == resolved:
            return entry
        if any((b / e).resolve() == resolved for b in bases):
            return entry
        if len(e.parts) == 1 and e.name == path.name:
            return entry
    return None


def load_corpus(inputs: list[str | Path], val_list: str | Path | None = None, *,
                unwrap: bool = True) -> TextCorpus:
    """Read, optionally unwrap (:func:`unwrap_paragraphs`) and split the training text."""
    files = collect_files(inputs)
    if not files:
        raise DataError(f"no files found in {', '.join(str(i) for i in inputs)}: "
                        f"give a folder of UTF-8 text files or the files themselves")
    corpus = TextCorpus()
    docs: list[tuple[Path, str]] = []
    for f in files:   # text, documents, sessions; bounded (core/text_files.py)
        skip = scrivener_skip(f)   # a Scrivener project: its manuscript only
        text, reason = (None, skip) if skip else read_text_file(f)
        if text is None:
            corpus.skipped.append((str(f), reason))
        else:
            docs.append((f, unwrap_paragraphs(text) if unwrap else text))
    if not docs:
        reasons = sorted({r for _, r in corpus.skipped})
        raise DataError(f"no usable text in {', '.join(str(i) for i in inputs)}: all "
                        f"{len(files)} files were skipped ({', '.join(reasons)}); "
                        f"training needs text files ({WRITING_FORMATS})")
    if val_list is not None:
        _split_by_list(corpus, docs, Path(val_list))
    elif len(docs) >= 10:
        for i, (f, text) in enumerate(docs):
            (corpus.val if i % 20 == 19 or (len(docs) < 20 and i == len(docs) - 1)
             else corpus.train).append((f.name, text))
    else:
        for f, text in docs:
            cut = text.rfind("\n", 0, int(len(text) * 0.9))
            cut = cut if cut > len(text) // 2 else int(len(text) * 0.9)
            corpus.train.append((f.name, text[:cut]))
            corpus.val.append((f.name + "#tail", text[cut:]))
    if not corpus.train or sum(len(t) for _, t in corpus.train) < 100:
        raise DataError("too little training text left after the validation split "
                        "(need at least 100 characters)")
    if not corpus.val or not any(t.strip() for _, t in corpus.val):
        raise DataError("the validation split is empty: list at least one held-out file")
    return corpus


def _split_by_list(corpus: TextCorpus, docs: list[tuple[Path, str]], val_list: Path) -> None:
    entries = _val_names(val_list)
    if not entries:
        raise DataError(f"the validation list {val_list} names no files")
    bases = [val_list.parent.resolve(), val_list.parent.parent.resolve(), Path.cwd()]
    used: set[str] = set()
    for f, text in docs:
        hit = _is_listed(f, entries, bases)
        if hit is not None:
            used.add(hit)
            corpus.val.append((f.name, text))
        else:
            corpus.train.append((f.name, text))
    unused = [e for e in entries if e not in used]
    if unused:
        raise DataError(f"the validation list {val_list} names {unused[0]!r}, which is not "
                        f"among the training files ({len(unused)} such entries)")


def encode_docs(tokenizer, docs: list[tuple[str, str]]) -> np.ndarray:
    """One stream: ``<|endoftext|>`` + tokens of each document, as uint16 (or uint32)."""
    encs = tokenizer.encode_batch([t for _, t in docs], add_special_tokens=False)
    total = sum(len(e.ids) + 1 for e in encs)
    dtype = np.uint16 if tokenizer.get_vocab_size() <= 65535 else np.uint32
    out = np.empty(total, dtype=dtype)
    pos = 0
    for e in encs:
        out[pos] = EOT_ID
        out[pos + 1: pos + 1 + len(e.ids)] = e.ids
        pos += 1 + len(e.ids)
    return out


class TokenWindows:
    """Random or evenly spaced (x, y) windows of ``context`` tokens from a token stream."""

    def __init__(self, tokens: np.ndarray, context: int) -> None:
        if len(tokens) < context + 2:
            raise DataError(f"only {len(tokens)} tokens of text, fewer than one window of "
                            f"{context + 1}; give more text or a shorter context")
        self.data = torch.from_numpy(tokens.astype(np.int64))
        self.context = context

    def _gather(self, starts: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        offs = torch.arange(self.context + 1)
        rows = self.data[starts[:, None] + offs[None, :]]  # (B, T+1)
        return rows[:, :-1].contiguous(), rows[:, 1:].contiguous()

    def random_batch(self, gen: torch.Generator, batch_size: int, part: int = 0,
                     nparts: int = 1) -> tuple[torch.Tensor, torch.Tensor]:
        """Rows ``part/nparts`` of a global batch of ``batch_size`` random windows."""
        n = len(self.data) - self.context - 1
        starts = torch.randint(0, n, (batch_size,), generator=gen)
        per = batch_size // nparts
        return self._gather(starts[part * per:(part + 1) * per])

    def even_batches(self, n_batches: int, batch_size: int) -> list[tuple[torch.Tensor, torch.Tensor]]:
        """Fixed windows spread evenly over the stream (the same for every evaluation)."""
        n = len(self.data) - self.context - 1
        count = n_batches * batch_size
        starts = torch.linspace(0, n, count, dtype=torch.float64).long().clamp(max=n)
        return [self._gather(starts[i * batch_size:(i + 1) * batch_size])
                for i in range(n_batches)]
