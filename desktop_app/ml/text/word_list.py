"""A text model's whole-word list (``words.txt``), judged on the text it was trained on.

Why: Explore's Words map shows the tokens that are words. "A leading space then letters" is not
enough: byte-level BPE also makes word *starts* such as ``Ġprod``, ``Ġfurn`` or ``Ġnecess``,
which the map listed as words (issue 20, item 14). Whether a string is a whole word is a
question about the language, so it is answered from the training text and shipped with the
model (never read from the development data at run time):

a token's letters ``w`` are a whole word when the training text uses ``w`` on its own at least
:data:`MIN_COUNT` times, and at least :data:`MIN_SHARE` of the times a word there begins with
``w`` (so "be" stays although "been", "before" and "because" are common, and "prod", which
is nearly always the start of "produce" or "product", goes).

Build (reads the training split; a few seconds per 10 MB)::

    python -m desktop_app.ml.text.word_list MODEL_DIR --data FILES_OR_DIRS [--val-list LIST]

``MODEL_DIR`` may also be a GGUF model's folder (its card folder, e.g. the built-in
``smollm2-135m-instruct``, whose ``.gguf`` comes from a pip wheel): its vocabulary is read from the
GGUF file. A downloaded model's own training text is not at hand; its list is then judged on
the English text given with ``--data`` and the header says so (``--judged-on``).

``words.txt`` holds one lower-case word a line after ``#`` comment lines; :func:`load_word_list`
treats it as untrusted (size bounded, bad lines refused).
"""

from __future__ import annotations

import argparse
import bisect
import re
import sys
from collections import Counter
from pathlib import Path

MIN_COUNT = 20
MIN_SHARE = 0.1
FILE_NAME = "words.txt"
MAX_BYTES = 4_000_000
_WORD = re.compile(r"[A-Za-z]+")


def count_words(texts) -> Counter:
    """Lower-case counts of the maximal runs of ASCII letters in ``texts``."""
    counts: Counter = Counter()
    for text in texts:
        counts.update(w.lower() for w in _WORD.findall(text))
    return counts


def whole_words(candidates, counts: Counter, *, min_count: int = MIN_COUNT,
                min_share: float = MIN_SHARE) -> list[str]:
    """The lower-cased ``candidates`` that pass the rule in the module docstring, sorted."""
    words = sorted(counts)
    keep = []
    for w in sorted({c.lower() for c in candidates}):
        alone = counts.get(w, 0)
        if alone < min_count:
            continue
        start = bisect.bisect_left(words, w)
        end = bisect.bisect_left(words, w + "\x7f")   # every word with prefix w
        begins = sum(counts[x] for x in words[start:end])
        if alone >= min_share * begins:
            keep.append(w)
    return keep


def write_word_list(folder: Path, words: list[str], source: str,
                    judged_on: str = "its training text") -> Path:
    from desktop_app.core.atomic import atomic_write_text
    path = Path(folder) / FILE_NAME
    head = (f"# whole words of this model's vocabulary, judged on {judged_on} ({source}):\n"
            f"# used on their own >= {MIN_COUNT} times and in >= {MIN_SHARE:.0%} of the words "
            f"that begin with them (desktop_app/ml/text/word_list.py)\n")
    atomic_write_text(path, head + "".join(w + "\n" for w in words))
    return path


def load_word_list(folder: Path) -> frozenset[str] | None:
    """The words of ``folder``/words.txt, or None when there is none. A damaged file raises
    DataError (one line)."""
    from desktop_app.core.errors import DataError
    path = Path(folder) / FILE_NAME
    if not path.is_file():
        return None
    if path.stat().st_size > MAX_BYTES:
        raise DataError(f"{path} is larger than {MAX_BYTES // 1_000_000} MB; a word list is "
                        f"one word a line")
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as exc:
        raise DataError(f"cannot read {path}: {exc}") from None
    words = [ln.strip() for ln in lines if ln.strip() and not ln.startswith("#")]
    bad = next((w for w in words if not _WORD.fullmatch(w)), None)
    if bad is not None:
        raise DataError(f"{path} is damaged: {bad[:40]!r} is not a word of letters")
    return frozenset(w.lower() for w in words)


def gguf_of(model: Path) -> Path | None:
    """The GGUF file of ``model`` (a ``.gguf`` file, or a folder without ``config.json`` that
    holds one or names a packaged GGUF model); None for a safetensors folder."""
    from desktop_app.core.model_registry import folder_gguf
    model = Path(model)
    if model.is_file() and model.suffix.lower() == ".gguf":
        return model
    if model.is_dir() and not (model / "config.json").is_file():
        return folder_gguf(model)
    return None


def model_tokenizer(model: Path):
    """The :class:`~desktop_app.ml.text.tokenizer.TextTokenizer` of a model folder or GGUF."""
    from desktop_app.ml.text.tokenizer import TextTokenizer
    gguf = gguf_of(model)
    if gguf is None:
        return TextTokenizer.from_folder(model)
    from desktop_app.ml.text.gguf_file import GGUFFile
    from desktop_app.ml.text.gguf_tokenizer import tokenizer_from_gguf
    return tokenizer_from_gguf(GGUFFile(gguf))[0]


def vocabulary_words(folder: Path) -> list[str]:
    """Letters of the tokens that start a word (a leading space) in ``folder``'s tokenizer
    (a model folder, or a GGUF model's file or folder)."""
    tok = model_tokenizer(folder)
    out = []
    for i in range(tok.vocab_size):
        p = tok.token_text(i)
        if len(p) >= 2 and p[0] == " " and p[1:].isascii() and p[1:].isalpha():
            out.append(p[1:])
    return out


def main(argv: list[str] | None = None) -> int:
    from desktop_app.commands import options as opt
    from desktop_app.core.errors import ReverieError
    from desktop_app.ml.text.train_data import load_corpus
    p = argparse.ArgumentParser(prog="python -m desktop_app.ml.text.word_list",
                                description="write words.txt into a text model folder")
    p.add_argument("folder", type=opt.existing_dir, help="the text model folder")
    p.add_argument("--data", nargs="+", required=True, type=opt.text,
                   help="the model's training text (files or folders)")
    p.add_argument("--val-list", type=opt.text, default=None,
                   help="held-out files to leave out, as in training")
    p.add_argument("--judged-on", type=opt.text, default="its training text",
                   help="what --data is, for the file's header (when it is not the model's "
                        "own training text)")
    args = p.parse_args(argv)
    try:
        corpus = load_corpus(args.data, args.val_list)
        counts = count_words(t for _, t in corpus.train)
        words = whole_words(vocabulary_words(args.folder), counts)
        path = write_word_list(args.folder, words,
                               f"{len(corpus.train)} files, {sum(counts.values()):,} words",
                               args.judged_on)
    except ReverieError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    print(f"wrote {len(words)} whole words to {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
