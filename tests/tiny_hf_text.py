"""Tiny random text model folders written by Hugging Face ``transformers`` itself (test-only:
transformers is not a runtime dependency), for the tests that load what transformers saves.

Models Reverie writes with its own code come from ``desktop_app.ml.text.tiny``; the byte-level
BPE tokenizer both use is :func:`desktop_app.ml.text.tiny.train_bpe_tokenizer`. Weights are
drawn with a large ``std`` so the logits are far from uniform (greedy decoding has clear
winners, logit comparisons mean something).
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import torch

EOS = "<|endoftext|>"


def random_hf_model(cfg, seed: int = 0, std: float = 0.3):
    """A seeded transformers model of ``cfg``: norms ~ N(1, 0.1), everything else N(0, std)."""
    import transformers

    torch.manual_seed(seed)
    model = transformers.AutoModelForCausalLM.from_config(cfg).eval()
    with torch.no_grad():
        for name, p in model.named_parameters():
            if "norm" in name or name.endswith(("ln_1.weight", "ln_2.weight", "ln_f.weight")):
                p.normal_(1.0, 0.1)
            else:
                p.normal_(0.0, std)
    return model


def save_hf_folder(dest: Path, model, tokenizer_dir: Path, **tokenizer_config) -> Path:
    """``save_pretrained`` (safetensors) plus the tokenizer and its ``tokenizer_config.json``."""
    model.save_pretrained(dest, safe_serialization=True)
    if Path(tokenizer_dir) != Path(dest):
        shutil.copy(Path(tokenizer_dir) / "tokenizer.json", Path(dest) / "tokenizer.json")
    (Path(dest) / "tokenizer_config.json").write_text(
        json.dumps({"eos_token": EOS, **tokenizer_config}))
    return Path(dest)
