"""Fixtures for the text engine: a tiny byte-level BPE tokenizer and tiny random model folders
saved by Hugging Face ``transformers`` (save_pretrained, safetensors). No downloads."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch

from desktop_app.ml.text.tiny import train_bpe_tokenizer
from tiny_hf_text import random_hf_model, save_hf_folder

SENTENCES = [
    "Once upon a time there was a little fox who lived in a wood.",
    "The fox liked to sing songs to the moon, and the moon sang back.",
    "Café, naïve, jalapeño: the rabbit wrote déjà vu in the snow. 🦊 ✨",
    "One day the fox met a rabbit. \"Hello,\" said the rabbit. \"Who are you?\"",
    "They walked together to the river and told each other stories until night.",
]
EOS = "<|endoftext|>"


@pytest.fixture(autouse=True, scope="session")
def _one_torch_thread():
    """Tiny models run fastest on one thread (and the CI machine is shared)."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@pytest.fixture(scope="session")
def tokenizer_dir(tmp_path_factory) -> Path:
    """A folder holding tokenizer.json: byte-level BPE (vocab 320) trained on a few sentences."""
    return train_bpe_tokenizer(tmp_path_factory.mktemp("tokenizer"), SENTENCES, 320)


def _vocab_size(tokenizer_dir: Path) -> int:
    from tokenizers import Tokenizer

    return Tokenizer.from_file(str(tokenizer_dir / "tokenizer.json")).get_vocab_size()


def hf_config(arch: str, vocab_size: int, eos: int):
    import transformers

    if arch == "gpt2":
        return transformers.GPT2Config(vocab_size=vocab_size, n_positions=128, n_embd=48,
                                       n_layer=2, n_head=4, bos_token_id=eos, eos_token_id=eos)
    common = dict(vocab_size=vocab_size, hidden_size=48, intermediate_size=80,
                  num_hidden_layers=2, num_attention_heads=4, num_key_value_heads=2,
                  max_position_embeddings=128, bos_token_id=eos, eos_token_id=eos,
                  rms_norm_eps=1e-5)
    if arch == "llama":
        return transformers.LlamaConfig(**common, tie_word_embeddings=False, rope_theta=10000.0,
                                        rope_scaling={"rope_type": "llama3", "factor": 4.0,
                                                      "low_freq_factor": 1.0,
                                                      "high_freq_factor": 4.0,
                                                      "original_max_position_embeddings": 32})
    if arch == "qwen2":
        return transformers.Qwen2Config(**common, tie_word_embeddings=True, rope_theta=1e6)
    raise ValueError(arch)


def make_model_folder(dest: Path, arch: str, tokenizer_dir: Path, *, seed: int = 0,
                      std: float = 0.3):
    """Save a random transformers model + our tokenizer into ``dest``; return the HF model
    (``tests/tiny_hf_text.py``)."""
    eos = json.loads((tokenizer_dir / "tokenizer.json").read_text())["added_tokens"][0]["id"]
    model = random_hf_model(hf_config(arch, _vocab_size(tokenizer_dir), eos), seed, std)
    save_hf_folder(dest, model, tokenizer_dir)
    return model


@pytest.fixture(scope="session")
def model_folders(tmp_path_factory, tokenizer_dir):
    """{"gpt2" | "llama" | "qwen2": (folder, transformers model)} built once per session."""
    out = {}
    for arch in ("gpt2", "llama", "qwen2"):
        dest = tmp_path_factory.mktemp(f"tiny-{arch}")
        out[arch] = (dest, make_model_folder(dest, arch, tokenizer_dir))
    return out
