"""Our Llama-family module against Hugging Face transformers on tiny random configs.

Weights move both ways through state dicts with identical names; logits must agree within 1e-4.
"""

from __future__ import annotations

import pytest
import torch

transformers = pytest.importorskip("transformers")

from desktop_app.ml.text.llama import LlamaConfig, LlamaForCausalLM  # noqa: E402

BASE = dict(vocab_size=211, hidden_size=64, intermediate_size=96, num_hidden_layers=2,
            num_attention_heads=4, num_key_value_heads=2, max_position_embeddings=256,
            rms_norm_eps=1e-5, bos_token_id=1, eos_token_id=2)

CASES = {
    "llama-gqa-untied": dict(model_type="llama", tie_word_embeddings=False, rope_theta=10000.0),
    "llama-tied-linear": dict(model_type="llama", tie_word_embeddings=True, rope_theta=500000.0,
                              rope_scaling={"rope_type": "linear", "factor": 2.0}),
    "llama3-scaling": dict(model_type="llama", tie_word_embeddings=True, rope_theta=500000.0,
                           rope_scaling={"rope_type": "llama3", "factor": 8.0,
                                         "low_freq_factor": 1.0, "high_freq_factor": 4.0,
                                         "original_max_position_embeddings": 64}),
    "llama-bias": dict(model_type="llama", attention_bias=True, num_key_value_heads=4),
    "qwen2": dict(model_type="qwen2", tie_word_embeddings=True, rope_theta=1000000.0),
    "mistral": dict(model_type="mistral", tie_word_embeddings=False, sliding_window=None),
}


def _hf_model(case: str):
    kw = {**BASE, **CASES[case]}
    model_type = kw.pop("model_type")
    cfg = transformers.AutoConfig.for_model(model_type, **kw)
    torch.manual_seed(0)
    model = transformers.AutoModelForCausalLM.from_config(cfg).eval()
    if case == "llama-bias" or model_type == "qwen2":  # random biases so they matter
        with torch.no_grad():
            for name, p in model.named_parameters():
                if name.endswith(".bias"):
                    p.normal_(0, 0.1)
    return model


@pytest.mark.parametrize("case", list(CASES))
def test_logits_match_transformers(case):
    hf = _hf_model(case)
    ours = LlamaForCausalLM(LlamaConfig.from_hf(hf.config.to_dict())).eval()
    sd = hf.state_dict()
    if ours.config.tie_word_embeddings:
        sd.pop("lm_head.weight", None)
    missing, unexpected = ours.load_state_dict(sd, strict=True), None
    assert set(ours.state_dict()) == set(sd), (missing, unexpected)
    ids = torch.randint(0, BASE["vocab_size"], (2, 37), generator=torch.Generator().manual_seed(1))
    with torch.no_grad():
        ref = hf(ids).logits
        out = ours(ids)
    assert out.shape == ref.shape
    torch.testing.assert_close(out, ref, atol=1e-4, rtol=0)

    # the same logits through the KV cache: prefill 20, then chunk of 10, then one by one
    cache = ours.new_cache(batch=2, max_len=64)
    with torch.no_grad():
        parts = [ours(ids[:, :20], cache, 0), ours(ids[:, 20:30], cache, 20)]
        parts += [ours(ids[:, t:t + 1], cache, t) for t in range(30, 37)]
    torch.testing.assert_close(torch.cat(parts, dim=1), ref, atol=1e-4, rtol=0)


@pytest.mark.parametrize("case", ["llama-gqa-untied", "qwen2"])
def test_weights_load_back_into_transformers(case):
    """Our state dict and to_hf() config build a transformers model with the same logits."""
    torch.manual_seed(3)
    cfg = LlamaConfig.from_hf({**BASE, **CASES[case]})
    ours = LlamaForCausalLM(cfg).eval()
    hf_cfg_dict = cfg.to_hf()
    hf_cfg = transformers.AutoConfig.for_model(**hf_cfg_dict)
    hf = transformers.AutoModelForCausalLM.from_config(hf_cfg).eval()
    result = hf.load_state_dict(ours.state_dict(), strict=False)
    assert not result.unexpected_keys
    assert set(result.missing_keys) <= {"lm_head.weight"}
    if cfg.tie_word_embeddings:
        hf.tie_weights()
    ids = torch.randint(0, BASE["vocab_size"], (1, 25), generator=torch.Generator().manual_seed(2))
    with torch.no_grad():
        torch.testing.assert_close(ours(ids), hf(ids).logits, atol=1e-4, rtol=0)


def test_config_round_trip():
    cfg = LlamaConfig.from_hf({**BASE, **CASES["llama3-scaling"]})
    again = LlamaConfig.from_hf(cfg.to_hf())
    assert again == cfg
    hf = cfg.to_hf()
    assert hf["model_type"] == "llama" and hf["architectures"] == ["LlamaForCausalLM"]


def test_training_forward_backward():
    cfg = LlamaConfig.from_hf({**BASE, **CASES["llama-gqa-untied"]})
    model = LlamaForCausalLM(cfg)
    ids = torch.randint(0, cfg.vocab_size, (3, 16))
    logits = model(ids)
    loss = torch.nn.functional.cross_entropy(logits[:, :-1].reshape(-1, cfg.vocab_size),
                                             ids[:, 1:].reshape(-1))
    loss.backward()
    assert model.model.layers[0].self_attn.q_proj.weight.grad is not None
    assert torch.isfinite(loss)


def test_mistral_sliding_window_caps_the_context():
    cfg = LlamaConfig.from_hf({**BASE, "model_type": "mistral", "sliding_window": 64})
    assert LlamaForCausalLM(cfg).max_context == 64
    cfg = LlamaConfig.from_hf({**BASE, "model_type": "qwen2", "sliding_window": 64,
                               "use_sliding_window": False})
    assert LlamaForCausalLM(cfg).max_context == BASE["max_position_embeddings"]


def test_unsupported_activation_is_refused():
    import pytest as _pytest

    with _pytest.raises(ValueError, match="hidden_act"):
        LlamaConfig.from_hf({**BASE, "hidden_act": "gelu"})
