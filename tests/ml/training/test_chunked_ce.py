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


def test_gradient_follows_the_upstream_gradient_and_a_bf16_weight():
    """The gradient is made in the forward pass: backward must still scale it by what comes
    from above (here 3x the loss), and a bf16 head's gradient stays near float32's."""
    torch.manual_seed(2)
    h = torch.randn(50, 24, requires_grad=True)
    w = torch.randn(300, 24) / 4
    y = torch.randint(0, 300, (50,))
    (g_ref,) = torch.autograd.grad(3 * F.cross_entropy(h @ w.t(), y), h)
    (g_got,) = torch.autograd.grad(3 * chunked_cross_entropy(h, w, y, rows=16), h)
    assert torch.allclose(g_got, g_ref, atol=1e-6)
    (g_bf16,) = torch.autograd.grad(3 * chunked_cross_entropy(h, w.to(torch.bfloat16), y), h)
    assert (g_bf16 - g_ref).abs().max() < 0.02 * g_ref.abs().max()


def test_no_gradient_made_under_no_grad(monkeypatch):
    """Scoring (no_grad) makes no softmax-minus-onehot: the same loss with one product, not two."""
    torch.manual_seed(3)
    h, w, y = torch.randn(20, 8), torch.randn(40, 8), torch.randint(0, 40, (20,))
    made = []
    scatter = torch.Tensor.scatter_add_
    monkeypatch.setattr(torch.Tensor, "scatter_add_",
                        lambda self, *a: made.append(1) or scatter(self, *a))
    with torch.no_grad():
        got = chunked_cross_entropy(h.requires_grad_(), w, y, rows=7)
    assert not got.requires_grad and made == []
    chunked_cross_entropy(h, w, y, rows=7)
    assert len(made) == 3  # with autograd: one per chunk of 7 (20 rows)
    assert torch.allclose(got, F.cross_entropy(h.detach() @ w.t(), y), atol=1e-5)
