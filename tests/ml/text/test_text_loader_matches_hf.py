"""Folders written by transformers load in Reverie with the same logits and greedy tokens."""

from __future__ import annotations

import pytest
import torch

transformers = pytest.importorskip("transformers")

from desktop_app.core.sampling import SamplerSettings  # noqa: E402
from desktop_app.ml.text.generate import Generation  # noqa: E402
from desktop_app.ml.text.loader import load_text_model  # noqa: E402

ARCHS = ["gpt2", "llama", "qwen2"]


@pytest.mark.parametrize("arch", ARCHS)
def test_logits_match(model_folders, arch):
    folder, hf = model_folders[arch]
    lm = load_text_model(folder)
    assert lm.arch == ("gpt2" if arch == "gpt2" else "llama")
    ids = torch.randint(0, lm.tokenizer.vocab_size, (2, 50),
                        generator=torch.Generator().manual_seed(5))
    with torch.no_grad():
        ref = hf(ids).logits
        out = lm.model(ids)
    assert ref.abs().max() > 1.0  # not a degenerate near-uniform model
    torch.testing.assert_close(out, ref, atol=1e-4, rtol=0)


@pytest.mark.parametrize("arch", ARCHS)
def test_greedy_64_tokens_match(model_folders, arch):
    folder, hf = model_folders[arch]
    lm = load_text_model(folder)
    prompt = lm.tokenizer.encode("Once upon a time the fox")
    with torch.no_grad():
        ref = hf.generate(torch.tensor([prompt]), do_sample=False, max_new_tokens=64,
                          eos_token_id=None, pad_token_id=0)[0, len(prompt):].tolist()
    lm.eos_ids = ()  # compare the full 64 tokens even if EOS comes up
    greedy = SamplerSettings(temperature=0.0, seed=1)
    (result,) = Generation(lm, prompt, greedy, max_tokens=64).run()
    assert len(ref) == 64 and len(set(ref)) > 8  # a real sequence, not one repeated token
    assert list(result.token_ids) == ref
    assert result.finish_reason == "length"


def test_bf16_close_to_fp32(model_folders):
    folder, _ = model_folders["llama"]
    fp32, bf16 = load_text_model(folder), load_text_model(folder, precision="bf16")
    ids = torch.randint(0, fp32.tokenizer.vocab_size, (1, 20))
    with torch.no_grad():
        a, b = fp32.model(ids), bf16.model(ids)
    assert b.dtype == torch.float32
    assert next(bf16.model.parameters()).dtype == torch.bfloat16
    assert (a.softmax(-1) - b.softmax(-1)).abs().max() < 0.05


@pytest.mark.parametrize("arch", ["gpt2", "llama"])
def test_bf16_generation_with_long_prompt(model_folders, arch):
    """bf16 prompts of >= 16 rows take the float32 path, single tokens stay bf16."""
    lm = load_text_model(model_folders[arch][0], precision="bf16")
    lm.eos_ids = ()
    prompt = list(range(3, 43))
    results = Generation(lm, prompt, SamplerSettings(seed=2), max_tokens=10, variants=2).run()
    assert [len(r.token_ids) for r in results] == [10, 10]
    fp32 = load_text_model(model_folders[arch][0])
    with torch.no_grad():
        a = fp32.model(torch.tensor([prompt]), last_only=True).softmax(-1)
        b = lm.model(torch.tensor([prompt]), last_only=True).softmax(-1)
    assert (a - b).abs().max() < 0.05
