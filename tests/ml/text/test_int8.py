"""Weight-only int8: the kernel and the fallback agree, and models stay close to float32."""

from __future__ import annotations

import pytest
import torch

from desktop_app.core.sampling import SamplerSettings
from desktop_app.ml.text.generate import Generation
from desktop_app.ml.text.loader import load_text_model
from desktop_app.ml.text.quant import Int8Linear


@pytest.mark.parametrize("in_features", [40, 64])  # 40: no kernel (needs % 16), fallback
@pytest.mark.parametrize("rows", [1, 3, 20])
def test_int8_linear_matches_dequantized_product(in_features, rows):
    torch.manual_seed(0)
    w, b = torch.randn(24, in_features), torch.randn(24)
    layer = Int8Linear(w, b)
    assert layer.fast == (in_features % 16 == 0)
    x = torch.randn(2, rows, in_features).bfloat16()
    ref = x.float() @ layer.dequantized().t() + layer.bias.float()
    out = layer(x)
    assert out.shape == (2, rows, 24) and out.dtype == torch.bfloat16
    torch.testing.assert_close(out.float(), ref, atol=0.1, rtol=0.02)
    assert (layer.dequantized() - w).abs().max() <= w.abs().max() / 127  # per-row rounding


@pytest.mark.parametrize("arch", ["gpt2", "llama", "qwen2"])
def test_int8_model_close_to_fp32(model_folders, arch):
    folder, _ = model_folders[arch]
    fp32, int8 = load_text_model(folder), load_text_model(folder, precision="int8")
    assert any(isinstance(m, Int8Linear) for m in int8.model.modules())
    ids = torch.randint(0, fp32.tokenizer.vocab_size, (1, 24),
                        generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        a, b = fp32.model(ids).softmax(-1), int8.model(ids).softmax(-1)
    assert (a - b).abs().max() < 0.1
    assert (a.argmax(-1) == b.argmax(-1)).float().mean() > 0.7
    int8.eos_ids = ()
    results = Generation(int8, ids[0].tolist(), SamplerSettings(seed=1), max_tokens=12,
                         variants=2).run()
    assert all(len(r.token_ids) == 12 for r in results)
