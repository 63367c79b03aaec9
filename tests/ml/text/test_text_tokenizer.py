"""The tokenizer wrapper and incremental decoding of multi-byte characters split across tokens."""

from __future__ import annotations

import pytest

from desktop_app.core.errors import ModelLoadError
from desktop_app.ml.text.tokenizer import IncrementalDecoder, TextTokenizer

TEXTS = ["Café, naïve, jalapeño 🦊 ✨ déjà vu", "Once upon a time the fox sang.",
         "日本語のテキスト and emoji 👩‍👩‍👧 mixed"]


@pytest.mark.parametrize("text", TEXTS)
def test_incremental_pieces_join_to_the_text(tokenizer_dir, text):
    tok = TextTokenizer.from_folder(tokenizer_dir)
    ids = tok.encode(text)
    dec = IncrementalDecoder(tok)
    pieces = [dec.push(i) for i in ids]
    pieces.append(dec.flush())
    assert "".join(pieces) == text
    assert not any("\ufffd" in p for p in pieces)


def test_split_character_is_held_back(tokenizer_dir):
    """A rare character encodes as several byte tokens: nothing is emitted until it is whole."""
    tok = TextTokenizer.from_folder(tokenizer_dir)
    ids = tok.encode("🐙")  # not in the training text: one token per UTF-8 byte
    assert len(ids) == 4
    dec = IncrementalDecoder(tok)
    assert [dec.push(i) for i in ids] == ["", "", "", "🐙"]


def test_dangling_bytes_become_replacement_on_flush(tokenizer_dir):
    tok = TextTokenizer.from_folder(tokenizer_dir)
    ids = tok.encode("🐙")
    dec = IncrementalDecoder(tok)
    assert dec.push(ids[0]) == ""
    assert "\ufffd" in dec.flush()


def test_missing_tokenizer_names_the_file(tmp_path):
    with pytest.raises(ModelLoadError, match="tokenizer.json"):
        TextTokenizer.from_folder(tmp_path)


def test_corrupt_tokenizer_names_the_file(tmp_path):
    (tmp_path / "tokenizer.json").write_text("{not json")
    with pytest.raises(ModelLoadError, match="tokenizer.json"):
        TextTokenizer.from_folder(tmp_path)


def test_a_tokenizer_file_larger_than_any_real_one_is_refused_unread(tmp_path, monkeypatch):
    """A model folder is untrusted: the Rust parser would read a multi-GB tokenizer.json
    whole; the size is checked first (a sparse file: nothing is written)."""
    from desktop_app.ml.text import tokenizer as tokenizer_module
    with open(tmp_path / "tokenizer.json", "wb") as fh:
        fh.truncate(tokenizer_module.MAX_TOKENIZER_FILE + 1)
    with pytest.raises(ModelLoadError, match="larger than any tokenizer"):
        TextTokenizer.from_folder(tmp_path)
    (tmp_path / "tokenizer.json").unlink()
    (tmp_path / "merges.txt").write_text("#version: 0.2\n")
    with open(tmp_path / "vocab.json", "wb") as fh:
        fh.truncate(tokenizer_module.MAX_TOKENIZER_FILE + 1)
    with pytest.raises(ModelLoadError, match="vocab.json is 128 MB"):
        TextTokenizer.from_folder(tmp_path)


def test_vocab_and_merges_folder(tmp_path):
    """GPT-2's original tokenizer files (vocab.json + merges.txt) work without tokenizer.json."""
    from tokenizers import ByteLevelBPETokenizer

    tok = ByteLevelBPETokenizer()
    tok.train_from_iterator(["hello world, hello fox"] * 3, vocab_size=270, min_frequency=1,
                            show_progress=False)
    tok.save_model(str(tmp_path))
    ours = TextTokenizer.from_folder(tmp_path)
    ids = ours.encode("hello fox")
    assert ids == tok.encode("hello fox").ids
    assert ours.decode(ids) == "hello fox"


def test_add_bos_token_setting_wins(tmp_path, tokenizer_dir):
    import json
    import shutil

    from tokenizers import Tokenizer, processors

    tok = Tokenizer.from_file(str(tokenizer_dir / "tokenizer.json"))
    eot = tok.token_to_id("<|endoftext|>")
    tok.post_processor = processors.TemplateProcessing(
        single="<|endoftext|> $A", special_tokens=[("<|endoftext|>", eot)])
    tok.save(str(tmp_path / "tokenizer.json"))
    cfg = {"bos_token": "<|endoftext|>", "add_bos_token": False}
    (tmp_path / "tokenizer_config.json").write_text(json.dumps(cfg))
    assert TextTokenizer.from_folder(tmp_path).encode("fox")[0] != eot
    cfg["add_bos_token"] = True
    (tmp_path / "tokenizer_config.json").write_text(json.dumps(cfg))
    assert TextTokenizer.from_folder(tmp_path).encode("fox")[0] == eot
    plain = tmp_path / "plain"
    shutil.copytree(tokenizer_dir, plain)
    (plain / "tokenizer_config.json").write_text(json.dumps(cfg))
    ids = TextTokenizer.from_folder(plain).encode("fox")
    assert ids[0] == eot and ids.count(eot) == 1


def test_sentencepiece_style_leading_space_is_kept(tmp_path):
    """Metaspace tokenizers (Llama, Mistral) drop a leading space when decoding from the start
    of a sequence; with the prompt as context the first generated word keeps its space."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers

    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.Metaspace()
    tok.decoder = decoders.Metaspace()
    tok.train_from_iterator(["Once upon a time there was a fox"] * 5,
                            trainers.BpeTrainer(vocab_size=60, show_progress=False))
    tok.save(str(tmp_path / "tokenizer.json"))
    ours = TextTokenizer.from_folder(tmp_path)
    full = ours.encode("Once upon a time there")
    prompt = ours.encode("Once upon")
    assert full[:len(prompt)] == prompt
    dec = IncrementalDecoder(ours, prompt)
    text = "".join(dec.push(i) for i in full[len(prompt):]) + dec.flush()
    assert text == " a time there"
