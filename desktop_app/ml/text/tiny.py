"""Tiny seeded text models with random weights, for tests and benchmarks (the text medium's one
dummy-model helper, as ``desktop_app.ml.music.tiny`` and ``desktop_app.ml.image.tiny`` are).

Same seed and sizes: the same weights. ``tiny_llama_dir`` writes a loadable Llama folder
(``config.json`` in Hugging Face layout, ``model.safetensors`` and a placeholder word-level
tokenizer whose token ids, not text, matter); ``tiny_gpt2_dir`` a GPT-2 folder with a real
byte-level BPE tokenizer (:func:`train_bpe_tokenizer`). Folders that must be written by Hugging
Face ``transformers`` itself (to test loading them) use ``tests/tiny_hf_text.py``.
"""

from __future__ import annotations

import json
from pathlib import Path

import torch
from safetensors.torch import save_file

from desktop_app.ml.text.llama import LlamaConfig, LlamaForCausalLM

EOS = "<|endoftext|>"


def train_bpe_tokenizer(folder: str | Path, sentences, vocab_size: int, *, repeat: int = 4,
                        eos: str = EOS) -> Path:
    """Write ``tokenizer.json``: byte-level BPE trained on ``sentences`` (each ``repeat`` times),
    with ``eos`` as its one special token; returns the folder."""
    from tokenizers import ByteLevelBPETokenizer

    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    tok = ByteLevelBPETokenizer()
    tok.train_from_iterator(list(sentences) * repeat, vocab_size=vocab_size, min_frequency=1,
                            special_tokens=[eos], show_progress=False)
    tok.save(str(folder / "tokenizer.json"))
    return folder


def tiny_llama_config(vocab: int = 50, hidden: int = 32, mlp: int = 64, layers: int = 2,
                      heads: int = 4, kv_heads: int | None = None, context: int = 64,
                      tie: bool = False) -> LlamaConfig:
    return LlamaConfig(vocab_size=vocab, hidden_size=hidden, intermediate_size=mlp,
                       num_hidden_layers=layers, num_attention_heads=heads,
                       num_key_value_heads=kv_heads, max_position_embeddings=context,
                       tie_word_embeddings=tie)


def tiny_llama(seed: int = 0, **sizes) -> LlamaForCausalLM:
    """A seeded random Llama (``sizes``: the keywords of :func:`tiny_llama_config`)."""
    torch.manual_seed(seed)
    return LlamaForCausalLM(tiny_llama_config(**sizes))


def tiny_llama_dir(folder: str | Path, seed: int = 0, **sizes) -> Path:
    """Write a tiny Llama as a model folder Reverie loads (and benchmarks)."""
    from desktop_app.ml.text.bench import write_placeholder_tokenizer

    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    model = tiny_llama(seed, **sizes)
    save_file({k: v.contiguous() for k, v in model.state_dict().items()},
              str(folder / "model.safetensors"))
    (folder / "config.json").write_text(json.dumps(model.config.to_hf()))
    write_placeholder_tokenizer(folder, model.config.vocab_size)
    return folder


def tiny_gpt2_dir(folder: str | Path, sentences, seed: int = 0, std: float = 0.3) -> Path:
    """A tiny GPT-2 folder written by Reverie's own code (every weight ~ N(0, ``std``)) with a
    BPE tokenizer trained on ``sentences``."""
    from tokenizers import Tokenizer

    from desktop_app.ml.text.gpt2 import GPT2Config, GPT2LMHeadModel

    folder = train_bpe_tokenizer(folder, sentences, 300, repeat=3)
    tok = Tokenizer.from_file(str(folder / "tokenizer.json"))
    eos = tok.token_to_id(EOS)
    cfg = GPT2Config(vocab_size=tok.get_vocab_size(), n_positions=64, n_embd=32, n_layer=2,
                     n_head=2, bos_token_id=eos, eos_token_id=eos)
    torch.manual_seed(seed)
    model = GPT2LMHeadModel(cfg)
    with torch.no_grad():
        for p in model.parameters():
            p.normal_(0, std)
    save_file({k: v.contiguous() for k, v in model.state_dict().items()},
              str(folder / "model.safetensors"))
    (folder / "config.json").write_text(json.dumps(cfg.to_hf()))
    return folder
