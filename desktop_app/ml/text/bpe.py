"""Byte-level BPE tokenizers trained with the Hugging Face ``tokenizers`` library.

Byte-level (GPT-2 style): every UTF-8 byte is in the base alphabet, so any text encodes and
decodes back exactly, and bits-per-byte is well defined. The only special token is
``<|endoftext|>`` (id 0), used as beginning/end of document and for padding.

Writes ``tokenizer.json`` and a matching ``tokenizer_config.json`` that ``transformers``'
``AutoTokenizer`` / ``PreTrainedTokenizerFast`` understands.

Reference: Sennrich et al. 2016, "Neural Machine Translation of Rare Words with Subword Units";
Radford et al. 2019 (GPT-2 byte-level BPE).
"""

from __future__ import annotations

from pathlib import Path
from typing import Iterable, Iterator

from tokenizers import Tokenizer, decoders, models, pre_tokenizers, processors, trainers

from desktop_app.ml import checkpoints as ck

EOT = "<|endoftext|>"
EOT_ID = 0


def train_bpe(texts: Iterable[str], vocab_size: int, *, min_frequency: int = 2,
              length: int | None = None) -> Tokenizer:
    """Train a byte-level BPE tokenizer of (at most) ``vocab_size`` tokens on ``texts``."""
    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=True)
    tok.decoder = decoders.ByteLevel()
    tok.post_processor = processors.ByteLevel(trim_offsets=False)
    trainer = trainers.BpeTrainer(
        vocab_size=vocab_size, min_frequency=min_frequency, special_tokens=[EOT],
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(), show_progress=False)
    tok.train_from_iterator(_chunks(texts), trainer=trainer, length=length)
    assert tok.token_to_id(EOT) == EOT_ID
    return tok


def _chunks(texts: Iterable[str], size: int = 1 << 16) -> Iterator[str]:
    """Feed long documents in pieces cut at paragraph breaks (bounded memory in the trainer)."""
    for text in texts:
        start = 0
        while start < len(text):
            end = min(len(text), start + size)
            if end < len(text):
                cut = text.rfind("\n\n", start, end)
                end = cut + 2 if cut > start else end
            yield text[start:end]
            start = end


def save_tokenizer(tok: Tokenizer, folder: str | Path, model_max_length: int) -> None:
    """Write ``tokenizer.json`` + ``tokenizer_config.json`` (+ ``special_tokens_map.json``)."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    ck.atomic_write_bytes(folder / "tokenizer.json", tok.to_str(pretty=False).encode("utf-8"))
    ck.save_json(folder / "tokenizer_config.json", {
        "tokenizer_class": "PreTrainedTokenizerFast",
        "bos_token": EOT, "eos_token": EOT, "unk_token": EOT, "pad_token": EOT,
        "add_bos_token": False, "add_eos_token": False,
        "clean_up_tokenization_spaces": False,
        "model_max_length": model_max_length,
    })
    ck.save_json(folder / "special_tokens_map.json", {
        "bos_token": EOT, "eos_token": EOT, "unk_token": EOT, "pad_token": EOT})


def load_tokenizer(path: str | Path) -> Tokenizer:
    path = Path(path)
    if path.is_dir():
        path = path / "tokenizer.json"
    try:
        return Tokenizer.from_file(str(path))
    except Exception as exc:  # tokenizers raises plain Exception subclasses
        from desktop_app.core.errors import ModelLoadError
        raise ModelLoadError(f"cannot read tokenizer {path}: {exc}") from None
