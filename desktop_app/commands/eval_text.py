"""``reverie eval text``: bits per byte of a text model on your own writing (like llama-perplexity).

bits per byte = the model's total negative log-likelihood of the text, in bits, divided by the
text's UTF-8 bytes, so models with different tokenizers compare directly (lower is better).
A Word ``.docx`` or ``.doc``, OpenDocument ``.odt``, ``.rtf`` or ``.epub`` file is scored as
its words and a Write-room session (``.reverie``) as the writer's own words in it, and plain
text without a byte-order mark and with Windows line ends as "\n": every file is read as the
trainers read it (:mod:`desktop_app.core.text_files`), so a fine-tune's card and this command
give one figure for the same held-out file. Each file is scored as a document
separator (``<|endoftext|>``, else BOS) followed by its tokens, with a sliding window
of ``--context`` tokens moving by half a context (:mod:`desktop_app.ml.training.text_eval`).
``--json`` prints ``{bits_per_byte, tokens, bytes, files, model: {name, sha256}, seconds}``.
``--server URL`` scores on an OpenAI-compatible server that echoes prompt log-probabilities
(vLLM), one pass per file.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

from desktop_app.commands import options as opt
from desktop_app.commands.text_source import add_model_arguments, local_model, server_spec
from desktop_app.core.errors import ReverieError, UsageError
from desktop_app.core.scrivener import scrivener_skip
from desktop_app.core.text_files import WRITING_FORMATS, WRITING_SUFFIXES, read_text_file

DEFAULT_CONTEXT = 2048
MAX_FILES, MAX_BYTES = 10_000, 64 << 20  # bounds on what one evaluation reads
SUFFIXES = WRITING_SUFFIXES


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--data", type=opt.text, nargs="+", required=True, metavar="FILE_OR_DIR",
                        help="UTF-8 text files, Word .docx or .doc, OpenDocument .odt, .rtf, "
                             ".epub, web pages (.html) or Final Draft .fdx scripts (their "
                             "words), Reverie sessions (your words in them), or folders of them "
                             "(searched recursively)")
    parser.add_argument("--context", type=opt.int_in(16, 1_048_576), default=None, metavar="N",
                        help=f"tokens each window sees (default: {DEFAULT_CONTEXT} or the "
                             f"model's limit if smaller); the window moves by N/2")
    add_model_arguments(parser, default_precision="fp32", precision_help=(
        "weight precision (default fp32, the exact reference; auto = the file's own, e.g. "
        "int4 for a Q4 GGUF)"))
    parser.add_argument("--json", action="store_true", help="print one JSON object")


def collect_files(items: list[str]) -> list[Path]:
    """The text files named by ``items`` (folders searched recursively), bounded in number."""
    files: list[Path] = []
    for item in items:
        path = Path(item).expanduser()
        if path.is_file():
            files.append(path)
        elif path.is_dir():
            found = sorted(p for p in path.rglob("*") if p.suffix.lower() in SUFFIXES
                           and p.is_file() and not scrivener_skip(p))
            if not found:
                raise UsageError(f"the folder {path} holds no {WRITING_FORMATS} files")
            files.extend(found)
        else:
            raise UsageError(f"--data {item}: no such file or folder")
        if len(files) > MAX_FILES:
            raise UsageError(f"--data names more than {MAX_FILES} files")
    return files


def read_documents(files: list[Path]) -> list[str]:
    docs, total = [], 0
    for path in files:
        try:
            size = path.stat().st_size
            total += size
            if total > MAX_BYTES:
                raise UsageError(f"the text to score is larger than {MAX_BYTES >> 20} MB; pass "
                                 f"fewer or smaller files")
            # as the trainers read it, plain text included (a byte-order mark dropped, Windows
            # line ends as "\n"): the held-out figure a fine-tune's card gives is this one
            text, reason = read_text_file(path)
            if text is None and reason != "empty":
                raise ReverieError(f"{path}: {reason}")
        except OSError as exc:
            raise ReverieError(f"cannot read {path}: {exc.strerror or exc}") from None
        if text:
            docs.append(text)
    if not docs:
        raise UsageError("the files given hold no text")
    return docs


def separator_id(tokenizer) -> int:
    """The token a document is scored after: <|endoftext|>, else BOS, else EOS, else 0."""
    for candidate in (tokenizer.token_id("<|endoftext|>"), tokenizer.bos_id, tokenizer.eos_id):
        if candidate is not None:
            return int(candidate)
    return 0


def evaluate(lm, docs: list[str], context: int, progress=None):
    """:class:`~desktop_app.ml.training.text_eval.BpbResult` of ``docs`` under ``lm``."""
    from desktop_app.ml.training.text_eval import bits_per_byte

    vocab = lm.tokenizer.vocab_size
    batch = max(1, min(16, (256 << 20) // max(1, context * vocab * 4)))  # logits under 256 MB
    return bits_per_byte(lm.model, lm.tokenizer.tok, docs, context,
                         bos_id=separator_id(lm.tokenizer), batch=batch, check_roundtrip=False,
                         progress=progress)


def run(args: argparse.Namespace) -> int:
    files = collect_files(args.data)
    docs = read_documents(files)
    spec = server_spec(args)
    if spec is not None:
        from desktop_app.commands.serving_run import eval_on_server  # noqa: PLC0415

        return eval_on_server(args, spec, docs)
    path = local_model(args)

    from desktop_app.ml.text.generate import configure_threads
    from desktop_app.ml.text.loader import load_text_model

    configure_threads(args.threads)
    start = time.perf_counter()
    lm = load_text_model(path, precision=args.precision)
    limit = lm.max_context
    if args.context is not None and args.context > limit:
        raise UsageError(f"--context {args.context} is longer than {lm.name}'s limit of {limit}")
    context = args.context or min(DEFAULT_CONTEXT, limit)
    show = not args.json and sys.stderr.isatty()

    def progress(done: int, total: int) -> None:
        if show:
            print(f"\rscoring window {done}/{total}", end="", file=sys.stderr, flush=True)

    res = evaluate(lm, docs, context, progress)
    if show:
        print(file=sys.stderr)
    seconds = time.perf_counter() - start
    if args.json:
        print(json.dumps({"bits_per_byte": res.bits_per_byte, "tokens": res.tokens,
                          "bytes": res.bytes, "files": len(docs), "context": context,
                          "model": {"name": lm.name, "sha256": lm.sha256()},
                          "seconds": round(seconds, 2)}))
    else:
        print(f"{lm.name}: {res.bits_per_byte:.4f} bits per byte over {res.bytes:,} bytes "
              f"({res.tokens:,} tokens, {len(docs)} file{'' if len(docs) == 1 else 's'}, "
              f"context {context}) in "
              f"{seconds:.1f} s")
    return 0
