"""Tiny seeded Llama models with random weights, for tests and benchmarks (the text medium's one
dummy-model helper, as ``desktop_app.ml.music.tiny`` and ``desktop_app.ml.image.tiny`` are).

Same seed and sizes: the same weights. ``tiny_llama_dir`` writes a loadable model folder
(``config.json`` in Hugging Face layout, ``model.safetensors`` and a placeholder word-level
tokenizer whose token ids, not text, matter). Folders that must be written by Hugging Face
``transformers`` itself (to test loading them) are built in ``tests/ml/text/conftest.py``.
"""

from __future__ import annotations

import json
from pathlib import Path

import torch
from safetensors.torch import save_file

from desktop_app.ml.text.llama import LlamaConfig, LlamaForCausalLM


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
