"""Tiny random Llama / Qwen2 GGUF files written with llama.cpp's own ``gguf`` writer.

Each file has a byte-level BPE vocabulary trained on a few sentences with the pre-tokenizer
the file names (so ``tokenizers`` gives the reference tokenizer), ChatML special tokens, and
weights quantized with ``gguf.quants`` (Q4_K/Q5_K/Q6_K, which gguf cannot quantize in numpy,
get random blocks with valid scales). Q/K rows are permuted as llama.cpp's converter does.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from tokenizers import Regex, Tokenizer, decoders, models, pre_tokenizers, trainers

import gguf
from gguf import GGMLQuantizationType as T

CORPUS = [
    "Once upon a time, in 1987, a dragon named Ember lived by the sea.",
    "The café served crème brûlée at 12:30; 東京 and 北京 are cities. 🐉🔥",
    "She said:   'We'll go at 3 o'clock,' and they didn't.\n\n\tIndented   text\r\n",
    "Numbers 1234567890 and 3.14159 and 42 and emoji 👩‍💻 end here.",
] * 20
SPECIALS = ["<|endoftext|>", "<|im_start|>", "<|im_end|>"]
CHATML = ("{% for message in messages %}{{'<|im_start|>' + message['role'] + '\n' + "
          "message['content'] + '<|im_end|>' + '\n'}}{% endfor %}"
          "{% if add_generation_prompt %}{{ '<|im_start|>assistant\n' }}{% endif %}")
_LLAMA3 = (r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}"
           r"| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+")
_QWEN2 = (r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}"
          r"| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+")


def reference_pre_tokenizer(pre: str):
    byte = pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=True)
    if pre in ("default", "gpt-2"):
        return byte
    if pre == "smollm":
        return pre_tokenizers.Sequence([pre_tokenizers.Digits(individual_digits=True), byte])
    regex = {"llama-bpe": _LLAMA3, "qwen2": _QWEN2}[pre]
    return pre_tokenizers.Sequence([pre_tokenizers.Split(Regex(regex), behavior="isolated"),
                                    pre_tokenizers.ByteLevel(add_prefix_space=False,
                                                             use_regex=False)])


def train_reference_tokenizer(pre: str, vocab_size: int = 384) -> Tokenizer:
    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = reference_pre_tokenizer(pre)
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(vocab_size=vocab_size, special_tokens=SPECIALS,
                                  initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
                                  show_progress=False)
    tok.train_from_iterator(CORPUS, trainer)
    return tok


def _random_k_blocks(rows: int, cols: int, qtype, rng) -> np.ndarray:
    """Random K-quant blocks whose f16 scales are small finite numbers."""
    block, size = gguf.GGML_QUANT_SIZES[qtype]
    raw = rng.integers(0, 256, size=(rows, cols // block, size), dtype=np.uint8)
    scale = np.full((rows, cols // block), 0.002, dtype=np.float16).view(np.uint8).reshape(
        rows, cols // block, 2)
    if qtype == T.Q6_K:
        raw[..., 208:210] = scale  # d is last
        raw[..., 192:208] = rng.integers(0, 16, size=(rows, cols // block, 16), dtype=np.uint8)
    else:
        raw[..., 0:2] = scale  # d
        raw[..., 2:4] = scale  # dmin
    return raw.reshape(rows, -1)


def _permute(w: np.ndarray, n_head: int) -> np.ndarray:
    """llama.cpp's convert_hf_to_gguf.py LlamaModel.permute."""
    return w.reshape(n_head, 2, w.shape[0] // n_head // 2, *w.shape[1:]).swapaxes(1, 2).reshape(
        w.shape)


def write_tiny_gguf(path: Path, *, arch: str = "llama", qtype=T.F32, pre: str = "smollm",
                    tied: bool = True, seed: int = 0, hidden: int = 256, layers: int = 2,
                    heads: int = 4, kv_heads: int = 2, inter: int = 256,
                    tokenizer: Tokenizer | None = None, skip: tuple[str, ...] = (),
                    pre_name: str | None = None) -> Tokenizer:
    """Write a random model to ``path``; returns the reference tokenizer it carries.

    ``skip`` leaves out metadata ("tokens", "merges"); ``pre_name`` overrides the
    ``tokenizer.ggml.pre`` written (the vocabulary is still trained with ``pre``)."""
    rng = np.random.default_rng(seed)
    tok = tokenizer or train_reference_tokenizer(pre)
    vocab = tok.get_vocab(with_added_tokens=True)
    tokens = [t for t, _ in sorted(vocab.items(), key=lambda kv: kv[1])]
    merges = [" ".join(m) for m in _merges(tok)]
    w = gguf.GGUFWriter(str(path), arch)
    w.add_name("tiny-test")
    w.add_block_count(layers)
    w.add_context_length(256)
    w.add_embedding_length(hidden)
    w.add_feed_forward_length(inter)
    w.add_head_count(heads)
    w.add_head_count_kv(kv_heads)
    w.add_rope_dimension_count(hidden // heads)
    w.add_layer_norm_rms_eps(1e-5)
    w.add_rope_freq_base(10000.0)
    w.add_file_type(0)
    w.add_tokenizer_model("gpt2")
    w.add_tokenizer_pre(pre_name or pre)
    if "tokens" not in skip:
        w.add_token_list(tokens)
    w.add_token_types([3 if t in SPECIALS else 1 for t in tokens])
    if "merges" not in skip:
        w.add_token_merges(merges)
    w.add_bos_token_id(vocab["<|im_start|>"])
    w.add_eos_token_id(vocab["<|im_end|>"])
    w.add_add_bos_token(False)
    w.add_chat_template(CHATML)
    hd = hidden // heads

    def add(name: str, shape: tuple[int, ...], *, quant: bool = True, scale: float = 0.05,
            n_head: int | None = None) -> None:
        data = (rng.standard_normal(shape) * scale).astype(np.float32)
        if len(shape) == 1:
            data = (1.0 + data) if name.endswith("norm.weight") else data
            w.add_tensor(name, data)
            return
        if n_head is not None and arch == "llama":
            data = _permute(data, n_head)
        if not quant or qtype == T.F32:
            w.add_tensor(name, data)
        elif qtype in (T.Q4_K, T.Q5_K, T.Q6_K):
            w.add_tensor(name, _random_k_blocks(*shape, qtype, rng), raw_dtype=qtype)
        elif qtype == T.F16:
            w.add_tensor(name, data.astype(np.float16))
        else:
            w.add_tensor(name, gguf.quants.quantize(data, qtype), raw_dtype=qtype)

    add("token_embd.weight", (len(tokens), hidden), scale=0.5)
    for i in range(layers):
        p = f"blk.{i}."
        add(p + "attn_norm.weight", (hidden,))
        add(p + "attn_q.weight", (heads * hd, hidden), n_head=heads)
        add(p + "attn_k.weight", (kv_heads * hd, hidden), n_head=kv_heads)
        add(p + "attn_v.weight", (kv_heads * hd, hidden))
        if arch == "qwen2":
            add(p + "attn_q.bias", (heads * hd,))
            add(p + "attn_k.bias", (kv_heads * hd,))
            add(p + "attn_v.bias", (kv_heads * hd,))
        add(p + "attn_output.weight", (hidden, heads * hd))
        add(p + "ffn_norm.weight", (hidden,))
        add(p + "ffn_gate.weight", (inter, hidden))
        add(p + "ffn_up.weight", (inter, hidden))
        add(p + "ffn_down.weight", (hidden, inter))
    add("output_norm.weight", (hidden,))
    if not tied:
        add("output.weight", (len(tokens), hidden), scale=0.5)
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file()
    w.close()
    return tok


def _merges(tok: Tokenizer) -> list[tuple[str, str]]:
    import json

    model = json.loads(tok.to_str())["model"]
    return [tuple(m.split(" ")) if isinstance(m, str) else tuple(m) for m in model["merges"]]


def patch_u32(path: Path, key: str, value: int) -> None:
    """Overwrite the uint32 metadata value of ``key`` in place (a damaged or hostile file)."""
    data = bytearray(path.read_bytes())
    at = data.index(key.encode()) + len(key)
    assert int.from_bytes(data[at:at + 4], "little") == 4  # GGUF type UINT32
    data[at + 4:at + 8] = int(value).to_bytes(4, "little")
    path.write_bytes(bytes(data))
