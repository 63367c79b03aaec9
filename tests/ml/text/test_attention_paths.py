"""Training attention under bf16 autocast runs as two bf16 matrix products (faster than CPU
SDPA's flash kernel); it must stay causal, match float32 attention as closely as SDPA's bf16
kernel does, and be used only where it was measured: bf16 training on short windows."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from desktop_app.ml.text import llama


def _qkv(heads: int, kv_heads: int, T: int = 48, hd: int = 16, seed: int = 0):
    gen = torch.Generator().manual_seed(seed)
    q = torch.randn(2, heads, T, hd, generator=gen) * 1.5
    k = torch.randn(2, kv_heads, T, hd, generator=gen) * 1.5
    v = torch.randn(2, kv_heads, T, hd, generator=gen)
    return [t.requires_grad_() for t in (q, k, v)]


def _reference(q, k, v):
    """Float32 SDPA, key/value heads repeated for grouped-query attention."""
    groups = q.shape[1] // k.shape[1]
    return F.scaled_dot_product_attention(q, k.repeat_interleave(groups, 1),
                                          v.repeat_interleave(groups, 1), is_causal=True)


def _out_and_grads(fn, q, k, v, weight):
    out = fn(q, k, v)
    (out.float() * weight).sum().backward()
    result = [out.detach().float()] + [t.grad.clone() for t in (q, k, v)]
    for t in (q, k, v):
        t.grad = None
    return result


@pytest.mark.parametrize("heads, kv_heads", [(6, 2), (4, 4)], ids=["gqa", "mha"])
def test_bf16_training_attention_is_as_close_to_float32_as_sdpa_bf16(heads, kv_heads):
    q, k, v = _qkv(heads, kv_heads)
    weight = torch.randn(q.shape, generator=torch.Generator().manual_seed(1))
    reference = _out_and_grads(_reference, q, k, v, weight)
    with torch.autocast("cpu", dtype=torch.bfloat16):
        ours = _out_and_grads(lambda *a: llama._attend(*a, 0), q, k, v, weight)
        sdpa = _out_and_grads(lambda a, b, c: F.scaled_dot_product_attention(
            a, b.repeat_interleave(heads // kv_heads, 1), c.repeat_interleave(
                heads // kv_heads, 1), is_causal=True), q, k, v, weight)
    for mine, theirs, exact in zip(ours, sdpa, reference):
        error = ((mine - exact).norm() / exact.norm()).item()
        sdpa_error = ((theirs - exact).norm() / exact.norm()).item()
        assert error < max(2 * sdpa_error, 0.01), (error, sdpa_error)


def test_bf16_training_attention_is_causal():
    q, k, v = _qkv(6, 2)
    with torch.autocast("cpu", dtype=torch.bfloat16):
        before = llama._attend(q, k, v, 0).detach()
        k2, v2 = k.detach().clone(), v.detach().clone()
        k2[:, :, 30:] += 5.0                     # change only positions 30 and later
        v2[:, :, 30:] -= 5.0
        after = llama._attend(q, k2.requires_grad_(), v2.requires_grad_(), 0).detach()
    assert torch.equal(before[:, :, :30], after[:, :, :30])
    assert not torch.equal(before[:, :, 30:], after[:, :, 30:])


def test_the_product_path_is_used_only_for_bf16_training_on_short_windows(monkeypatch):
    calls = []
    real = llama._attend_bf16_math
    monkeypatch.setattr(llama, "_attend_bf16_math", lambda *a: calls.append(1) or real(*a))
    q, k, v = _qkv(6, 2)
    with torch.autocast("cpu", dtype=torch.bfloat16):
        llama._attend(q, k, v, 0)                               # training: used
        assert len(calls) == 1
        with torch.no_grad():
            llama._attend(q, k, v, 0)                           # generation: SDPA
        llama._attend(q[:, :, -8:], k, v, 40)                   # a cached prefix: SDPA
        monkeypatch.setattr(llama, "_MATH_SCORES_BYTES", 1000)
        llama._attend(q, k, v, 0)                               # scores too large: SDPA
    llama._attend(q, k, v, 0)                                   # float32 training: SDPA
    assert len(calls) == 1
