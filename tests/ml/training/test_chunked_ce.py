"""chunked_cross_entropy equals F.cross_entropy over full logits, value and gradient."""

import torch
import torch.nn.functional as F

from desktop_app.ml.training.chunked_ce import chunked_cross_entropy


def test_matches_full_cross_entropy_and_its_gradient():
    torch.manual_seed(0)
    h = torch.randn(2, 37, 16, requires_grad=True)
    w = torch.randn(101, 16)
    y = torch.randint(0, 101, (2, 37))
    ref = F.cross_entropy((h @ w.t()).reshape(-1, 101), y.reshape(-1))
    (g_ref,) = torch.autograd.grad(ref, h)
    got = chunked_cross_entropy(h, w, y, rows=10)  # 74 rows: chunks of 10 and a last of 4
    (g_got,) = torch.autograd.grad(got, h)
    assert torch.allclose(got, ref, atol=1e-5)
    assert torch.allclose(g_got, g_ref, atol=1e-6)


def test_bf16_weight_stays_close():
    torch.manual_seed(1)
    h = torch.randn(64, 32)
    w = torch.randn(500, 32) / 4
    y = torch.randint(0, 500, (64,))
    ref = F.cross_entropy(h @ w.t(), y)
    got = chunked_cross_entropy(h, w.to(torch.bfloat16), y, rows=16)
    assert abs(float(got) - float(ref)) < 0.02 * float(ref)
