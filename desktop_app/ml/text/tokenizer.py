"""Tokenizers for text models: Hugging Face ``tokenizer.json`` through the `tokenizers` library.

Also reads a GPT-2 style ``vocab.json`` + ``merges.txt`` pair when ``tokenizer.json`` is absent.
:class:`IncrementalDecoder` turns a stream of token ids into text pieces, holding back bytes
of a multi-byte character split across tokens until the character is complete (the
prefix/read offset scheme of Hugging Face's ``TextStreamer`` and vLLM's detokenizer).
"""

from __future__ import annotations

from pathlib import Path

from tokenizers import Tokenizer, decoders, models, pre_tokenizers

from desktop_app.core.errors import DataError, ModelLoadError
from desktop_app.core.untrusted import read_json

REPLACEMENT = "\ufffd"
#: JSON side files of a model folder (configs, index, tokenizer_config with its templates).
MAX_JSON_FILE = 64 * 1024 * 1024
#: tokenizer.json / vocab.json / merges.txt at most (the largest real ones, Gemma's and other
#: 256k-token vocabularies, are 17-35 MB)
MAX_TOKENIZER_FILE = 128 * 1024 * 1024


class TextTokenizer:
    """A thin wrapper over ``tokenizers.Tokenizer`` with the model folder's special tokens."""

    def __init__(self, tok: Tokenizer, *, bos_token: str | None = None,
                 eos_token: str | None = None, add_bos: bool | None = None) -> None:
        self.tok = tok
        self.bos_token, self.eos_token = bos_token, eos_token
        self.bos_id = tok.token_to_id(bos_token) if bos_token else None
        self.eos_id = tok.token_to_id(eos_token) if eos_token else None
        self._add_bos = add_bos

    @classmethod
    def from_folder(cls, folder: Path) -> "TextTokenizer":
        folder = Path(folder)
        cfg = _read_json(folder / "tokenizer_config.json") if (
            folder / "tokenizer_config.json").is_file() else {}
        path = folder / "tokenizer.json"
        if path.is_file():
            _check_size(path, MAX_TOKENIZER_FILE)
            try:
                tok = Tokenizer.from_file(str(path))
            except Exception as exc:  # tokenizers raises plain Exception on bad files
                raise ModelLoadError(f"cannot read {path}: {exc}; the file may be truncated or "
                                     f"from a newer tokenizers version") from None
        elif (folder / "vocab.json").is_file() and (folder / "merges.txt").is_file():
            for name in ("vocab.json", "merges.txt"):
                _check_size(folder / name, MAX_TOKENIZER_FILE)
            tok = _bpe_from_vocab_merges(folder)
        else:
            raise ModelLoadError(f"{path} is missing: a text model folder needs its tokenizer "
                                 f"(tokenizer.json, or vocab.json with merges.txt)")
        return cls(tok, bos_token=_token_str(cfg.get("bos_token")),
                   eos_token=_token_str(cfg.get("eos_token")), add_bos=cfg.get("add_bos_token"))

    @property
    def vocab_size(self) -> int:
        return self.tok.get_vocab_size(with_added_tokens=True)

    def encode(self, text: str, *, add_special_tokens: bool = True) -> list[int]:
        """Token ids of ``text``. ``add_bos_token`` in tokenizer_config.json wins over the
        tokenizer.json post-processor, as in transformers: BOS is prepended or removed."""
        ids = self.tok.encode(text, add_special_tokens=add_special_tokens).ids
        if not add_special_tokens or self.bos_id is None:
            return ids
        if self._add_bos and (not ids or ids[0] != self.bos_id):
            ids = [self.bos_id, *ids]
        elif (self._add_bos is False and ids and ids[0] == self.bos_id
              and not text.startswith(self.bos_token or "\0")):
            ids = ids[1:]  # tokenizer_config.json says no BOS (as transformers honours it)
        return ids

    def decode(self, ids, *, skip_special_tokens: bool = True) -> str:
        return self.tok.decode(list(ids), skip_special_tokens=skip_special_tokens)

    def token_text(self, token_id: int) -> str:
        """A single token shown on its own (may contain U+FFFD for a partial character)."""
        return self.tok.decode([int(token_id)], skip_special_tokens=False)

    def token_id(self, token: str) -> int | None:
        return self.tok.token_to_id(token)


class IncrementalDecoder:
    """Feeds token ids one at a time and returns the new text each one completes.

    ``context`` ids (the end of the prompt) give the decoder the left context it needs for
    tokenizers whose pieces depend on it (SentencePiece's leading-space marker).
    """

    def __init__(self, tokenizer: TextTokenizer, context: list[int] | tuple[int, ...] = ()) -> None:
        self.tok = tokenizer
        self.ids: list[int] = list(context[-4:])
        self.prefix = 0
        self.read = len(self.ids)

    def push(self, token_id: int) -> str:
        self.ids.append(int(token_id))
        before = self.tok.decode(self.ids[self.prefix:self.read])
        after = self.tok.decode(self.ids[self.prefix:])
        if len(after) > len(before) and not after.endswith(REPLACEMENT):
            piece = after[len(before):]
            self.prefix, self.read = self.read, len(self.ids)
            return piece
        return ""  # an incomplete character (or a token with no text): hold it back

    def flush(self) -> str:
        """Whatever is still held back (a dangling partial character becomes U+FFFD)."""
        before = self.tok.decode(self.ids[self.prefix:self.read])
        after = self.tok.decode(self.ids[self.prefix:])
        self.prefix = self.read = len(self.ids)
        return after[len(before):]


def _token_str(value) -> str | None:
    if isinstance(value, dict):  # {"content": "<s>", "lstrip": false, ...}
        value = value.get("content")
    return value if isinstance(value, str) else None


def _check_size(path: Path, limit: int) -> None:
    """Refuse a tokenizer file larger than any real one before the Rust parser reads it whole
    (it would take memory in proportion, and a model folder is untrusted)."""
    try:
        size = path.stat().st_size
    except OSError as exc:
        raise ModelLoadError(f"cannot read {path}: {exc.strerror or exc}") from None
    if size > limit:
        raise ModelLoadError(f"{path} is {size / 2**20:,.0f} MB, larger than any tokenizer "
                             f"(at most {limit >> 20} MB): not a tokenizer file")


def _read_json(path: Path) -> dict:
    try:  # bounded (size, nesting depth): model folders are untrusted
        data = read_json(path, source=str(path), max_bytes=MAX_JSON_FILE)
    except DataError as exc:
        raise ModelLoadError(str(exc)) from None
    if not isinstance(data, dict):
        raise ModelLoadError(f"{path} does not hold a JSON object")
    return data


def _bpe_from_vocab_merges(folder: Path) -> Tokenizer:
    """GPT-2's original byte-level BPE files, as the `tokenizers` library builds them."""
    try:
        bpe = models.BPE.from_file(str(folder / "vocab.json"), str(folder / "merges.txt"))
    except Exception as exc:
        raise ModelLoadError(f"cannot read {folder / 'vocab.json'} / merges.txt: {exc}") from None
    tok = Tokenizer(bpe)
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    return tok
