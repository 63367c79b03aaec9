"""Broken GGUF files are refused with one clear line, before any weight is allocated.

Through the loader (ModelLoadError) and through the CLI (exit 1, one line on stderr).
"""

from __future__ import annotations

import pytest
from gguf import GGMLQuantizationType as T
from gguf_fixtures import patch_u32, train_reference_tokenizer, write_tiny_gguf

from desktop_app.cli import main
from desktop_app.core.errors import ModelLoadError
from desktop_app.ml.text.loader import load_text_model

SMALL = dict(layers=1, hidden=64, inter=64, heads=2, kv_heads=1)


@pytest.fixture(scope="module")
def good(tmp_path_factory):
    path = tmp_path_factory.mktemp("gguf") / "good.gguf"
    write_tiny_gguf(path, **SMALL)
    return path


def _refused(path, capsys, *words):
    with pytest.raises(ModelLoadError) as info:
        load_text_model(path)
    message = str(info.value)
    assert "\n" not in message
    for w in words:
        assert w in message, message
    code = main(["generate", "text", "--model", str(path), "--prompt", "x", "--max-tokens", "1"])
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 1 and len(err) == 1 and err[0].startswith("reverie: error:"), err
    return message


def test_wrong_magic(tmp_path, capsys):
    path = tmp_path / "fake.gguf"
    path.write_bytes(b"PK\x03\x04" + bytes(100))
    _refused(path, capsys, "not a GGUF file")


@pytest.mark.parametrize("keep", [6, 40, 2000, 0.5, 0.999])
def test_truncated(tmp_path, good, capsys, keep):
    data = good.read_bytes()
    n = int(len(data) * keep) if isinstance(keep, float) else keep
    path = tmp_path / "cut.gguf"
    path.write_bytes(data[:n])
    _refused(path, capsys, "cut.gguf")


def test_unsupported_architecture(tmp_path, good, capsys):
    path = tmp_path / "arch.gguf"
    path.write_bytes(good.read_bytes().replace(b"llama", b"bloom"))
    _refused(path, capsys, "'bloom'", "supported")


def test_unsupported_tensor_type(tmp_path, capsys):
    path = tmp_path / "q5.gguf"
    write_tiny_gguf(path, qtype=T.Q5_0, **SMALL)
    _refused(path, capsys, "Q5_0", "supported")


@pytest.mark.parametrize("key,value,words", [
    ("llama.block_count", 10**9, ["block_count", "1000000000"]),
    ("llama.embedding_length", 128, ["shape"]),  # tensors no longer match the metadata
    ("llama.attention.head_count", 3, ["shape"]),
    ("llama.attention.head_count_kv", 3, ["head_count_kv"]),
    ("llama.feed_forward_length", 0, ["feed_forward_length"]),
    ("llama.embedding_length", 60000, ["bytes can hold"]),
])
def test_absurd_or_mismatched_metadata(tmp_path, good, capsys, key, value, words):
    path = tmp_path / "meta.gguf"
    path.write_bytes(good.read_bytes())
    patch_u32(path, key, value)
    _refused(path, capsys, *words)


def test_huge_vocabulary_count(tmp_path, good, capsys):
    """An array count larger than the file: the reader cannot even walk it."""
    data = bytearray(good.read_bytes())
    key = b"tokenizer.ggml.tokens"
    at = data.index(key) + len(key) + 4 + 4  # type ARRAY, element type STRING, then the count
    data[at:at + 8] = (1 << 40).to_bytes(8, "little")
    path = tmp_path / "vocab.gguf"
    path.write_bytes(bytes(data))
    _refused(path, capsys, "vocab.gguf")


@pytest.mark.parametrize("skip,word", [(("tokens",), "tokenizer.ggml.tokens"),
                                        (("merges",), "tokenizer.ggml.merges")])
def test_missing_tokenizer_keys(tmp_path, capsys, skip, word):
    path = tmp_path / "tok.gguf"
    write_tiny_gguf(path, skip=skip, **SMALL)
    _refused(path, capsys, word)


def test_unknown_pre_tokenizer_refused_by_name(tmp_path, capsys):
    path = tmp_path / "pre.gguf"
    write_tiny_gguf(path, pre="smollm", pre_name="klingon-bpe",
                    tokenizer=train_reference_tokenizer("smollm"), **SMALL)
    _refused(path, capsys, "'klingon-bpe'")


def test_unknown_precision_refused(good):
    with pytest.raises(ModelLoadError):
        load_text_model(good, precision="int3")


def test_a_files_tokenizer_is_built_once_and_again_when_the_file_changes(tmp_path):
    """The BPE build holds the GIL (37 ms for SmolLM2), so a file's tokenizer is kept: the
    warm-up builds the writing model's ahead and its load reuses it; a changed file (size or
    modification time) is read again."""
    from desktop_app.ml.text import gguf_tokenizer
    from desktop_app.ml.text.gguf_file import GGUFFile

    path = tmp_path / "m.gguf"
    write_tiny_gguf(path)
    gguf_tokenizer.prepare(path)
    first = gguf_tokenizer.tokenizer_from_gguf(GGUFFile(path))[0]
    assert load_text_model(path, precision="fp32").tokenizer is first
    write_tiny_gguf(path, pre="gpt-2")  # another pre-tokenizer and a new modification time
    again = load_text_model(path, precision="fp32").tokenizer
    assert again is not first
    gguf_tokenizer.prepare(tmp_path / "missing.gguf")  # nothing there: the load will say so


def _header(n_tensors: int, keys: list[bytes]) -> bytes:
    import struct
    return b"GGUF" + struct.pack("<IQQ", 3, n_tensors, len(keys)) + b"".join(keys)


def _string_key(name: bytes, value: bytes) -> bytes:
    import struct
    return struct.pack("<Q", len(name)) + name + struct.pack("<IQ", 8, len(value)) + value


@pytest.mark.parametrize("case,words", [
    ("strings", "more than 1,048,576 strings"),
    ("keys", "impossible tensor or key counts"),
    ("tensors", "impossible tensor or key counts"),
])
def test_a_header_that_would_keep_the_reader_busy_is_refused_at_once(tmp_path, capsys, case,
                                                                       words):
    """gguf's reader decodes every metadata string in Python (a 32 MB file of 4 M empty
    strings kept it 57 s): the counts are checked first, by a walker that stops at the bound."""
    import struct
    arch = _string_key(b"general.architecture", b"llama")
    if case == "strings":
        count = (1 << 20) + 1
        name = b"tokenizer.ggml.merges"
        data = _header(0, [arch, struct.pack("<Q", len(name)) + name
                           + struct.pack("<IIQ", 9, 8, count) + bytes(8 * count)])
    elif case == "keys":    # 200,000 one-byte keys: each a few microseconds in the reader
        key = struct.pack("<Q", 1) + b"k" + struct.pack("<I", 0) + b"\0"
        data = _header(0, [arch] + [key] * 200_000)
    else:
        data = _header(10**6, [arch]) + bytes(64)
    path = tmp_path / f"{case}.gguf"
    path.write_bytes(data)
    _refused(path, capsys, words)   # the walker's words: the reader never opened the file
