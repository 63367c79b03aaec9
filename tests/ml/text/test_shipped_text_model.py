"""The shipped text model (when installed) loads and decodes exactly as transformers does."""

from __future__ import annotations

import pytest
import torch

from desktop_app.core.paths import builtin_models_dir
from desktop_app.core.sampling import SamplerSettings
from desktop_app.ml.text.generate import Generation, prompt_ids
from desktop_app.ml.text.loader import load_text_model

FOLDER = builtin_models_dir() / "text" / "reverie-stories"
pytestmark = pytest.mark.skipif(not (FOLDER / "config.json").is_file(),
                                reason="the built-in text model is not installed")


def test_greedy_matches_transformers_with_its_tokenizer():
    transformers = pytest.importorskip("transformers")
    tok = transformers.AutoTokenizer.from_pretrained(FOLDER)
    hf = transformers.AutoModelForCausalLM.from_pretrained(FOLDER).eval()
    prompt = "Once upon a time, the little fox"
    ids = tok(prompt, return_tensors="pt").input_ids
    with torch.no_grad():
        ref = hf.generate(ids, do_sample=False, max_new_tokens=32,
                          pad_token_id=tok.pad_token_id)[0, ids.shape[1]:].tolist()
    lm = load_text_model(FOLDER)
    ours_prompt = prompt_ids(lm, prompt)
    assert ours_prompt == ids[0].tolist()
    (r,) = Generation(lm, ours_prompt, SamplerSettings(temperature=0.0, seed=0),
                      max_tokens=32).run()
    assert list(r.token_ids) == ref[:len(r.token_ids)]
    assert r.text == tok.decode(list(r.token_ids), skip_special_tokens=True)
