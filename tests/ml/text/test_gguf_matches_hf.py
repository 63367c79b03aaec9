"""GGUF files: Reverie's logits and tokenizer equal transformers' own GGUF loader's.

Tiny random Llama and Qwen2 files are written with llama.cpp's ``gguf`` writer in each tensor
type (see gguf_fixtures); transformers (with accelerate) reads the same file.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch
from gguf import GGMLQuantizationType as T

from desktop_app.ml.text.gguf_file import GGUFFile, qk_row_perm
from desktop_app.ml.text.loader import load_text_model
from gguf_fixtures import CORPUS, _permute, write_tiny_gguf

transformers = pytest.importorskip("transformers")
pytest.importorskip("accelerate")

TEXTS = [
    "Once upon a time, in 1987, a dragon named Ember lived by the sea.",
    "digits 0 12 345 6789 1234567890 3.14159 -42",
    "runs   of    spaces\t\ttabs\n\n\nnewlines \r\n end  ",
    "accents: café naïve jalapeño crème brûlée Ångström",
    "CJK: 東京 北京 こんにちは 안녕하세요",
    "emoji: 🐉🔥 👩‍💻 ✨ and 🦊",
    "<|im_start|>user\nHi<|im_end|>\n",
    "",
    " leading space and trailing ",
]


def _hf_model(path):
    return transformers.AutoModelForCausalLM.from_pretrained(
        str(path.parent), gguf_file=path.name, dtype=torch.float32).eval()


@pytest.mark.parametrize("arch,qtype,tied", [
    ("llama", T.F32, True), ("llama", T.F16, False), ("llama", T.Q8_0, True),
    ("llama", T.Q4_0, True), ("llama", T.Q4_1, False), ("llama", T.Q4_K, True),
    ("llama", T.Q5_K, True), ("llama", T.Q6_K, True), ("llama", T.BF16, True),
    ("qwen2", T.F32, False), ("qwen2", T.Q8_0, True), ("qwen2", T.Q4_K, True),
])
def test_logits_match_transformers(tmp_path, arch, qtype, tied):
    path = tmp_path / f"tiny-{arch}-{qtype.name}.gguf"
    write_tiny_gguf(path, arch=arch, qtype=qtype, tied=tied, pre="qwen2" if arch == "qwen2"
                    else "smollm")
    lm = load_text_model(path)
    hf = _hf_model(path)
    ids = torch.tensor([lm.tokenizer.encode(CORPUS[0] + CORPUS[1])[:48]])
    with torch.no_grad():
        ours, theirs = lm.model(ids), hf(ids).logits
    assert ours.shape == theirs.shape
    assert (ours - theirs).abs().max().item() < 1e-4
    assert lm.model.config.tie_word_embeddings == tied


@pytest.mark.parametrize("pre", ["default", "gpt-2", "llama-bpe", "qwen2", "smollm"])
def test_tokenizer_matches_reference(tmp_path, pre):
    path = tmp_path / f"tok-{pre}.gguf"
    reference = write_tiny_gguf(path, pre=pre, layers=1, hidden=64, inter=64, heads=2,
                                kv_heads=1)
    tok = load_text_model(path).tokenizer
    hf = transformers.AutoTokenizer.from_pretrained(str(tmp_path), gguf_file=path.name)
    for text in TEXTS:
        ids = tok.encode(text)
        assert ids == reference.encode(text).ids, (pre, text)
        assert tok.decode(ids, skip_special_tokens=False) == text
        if pre != "smollm":  # transformers' GGUF conversion drops SmolLM's digit split
            assert ids == hf(text)["input_ids"], (pre, text)
        elif not any(c.isdigit() for c in text):
            assert ids == hf(text)["input_ids"], (pre, text)


def test_chat_template_and_special_tokens(tmp_path):
    from desktop_app.ml.text.chat import render_chat

    path = tmp_path / "chat.gguf"
    write_tiny_gguf(path, layers=1, hidden=64, inter=64, heads=2, kv_heads=1)
    lm = load_text_model(path)
    text = render_chat(lm.chat_template, "Hello", system="Be brief.",
                       special_tokens=lm.special_tokens)
    assert text == ("<|im_start|>system\nBe brief.<|im_end|>\n<|im_start|>user\nHello"
                    "<|im_end|>\n<|im_start|>assistant\n")
    ids = lm.tokenizer.encode(text)
    assert ids[0] == lm.tokenizer.token_id("<|im_start|>")
    assert lm.tokenizer.token_id("<|im_end|>") in lm.eos_ids
    assert lm.special_tokens["eos_token"] == "<|im_end|>"


def test_raw_rows_apply_qk_permutation_without_dequantizing(tmp_path):
    """The documented raw API: raw_rows() permuted block rows dequantize to the HF weight."""
    from gguf.quants import dequantize

    path = tmp_path / "raw.gguf"
    write_tiny_gguf(path, qtype=T.Q4_0, layers=1)
    gf = GGUFFile(path)
    t = gf.tensors["model.layers.0.self_attn.q_proj.weight"]
    assert t.ggml_type == T.Q4_0 and t.shape == (256, 256)
    assert t.raw.dtype == np.uint8 and t.raw.shape == (256, 256 // 32 * 18)
    from_raw = dequantize(t.raw_rows(), t.ggml_type)
    assert np.array_equal(from_raw, gf.dequantize(t.name).numpy())
    # the permutation inverts llama.cpp's
    w = np.arange(32 * 3).reshape(32, 3)
    assert np.array_equal(_permute(w, 4)[qk_row_perm(32, 4)], w)


def test_generate_text_cli_on_gguf(tmp_path, capsys):
    import json

    from desktop_app.cli import main

    path = tmp_path / "cli.gguf"
    write_tiny_gguf(path, layers=1, hidden=64, inter=64, heads=2, kv_heads=1)
    assert main(["generate", "text", "--model", str(path), "--prompt", "Once upon",
                 "--temperature", "0", "--max-tokens", "5", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["model"]["name"] == "cli" and len(out["token_ids"]) >= 1
