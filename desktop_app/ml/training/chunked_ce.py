"""Cross-entropy over a large vocabulary without materialising the whole logits tensor.

A 512-token window over SmolLM2's 49,152-token vocabulary has 100 MB of float32 logits, and
autograd keeps them, their log-softmax and their gradient alive at once (about 0.4 GB a
window). :func:`chunked_cross_entropy` computes the loss ``rows`` positions at a time, and
when the hidden states need a gradient it makes it there too, from the chunk's logits in hand
(``softmax - onehot``, times the output weight): the backward pass only scales it. The output
weight is frozen here (LoRA fine-tuning): no gradient is computed for it.

Making the gradient in the forward pass (as Liger-Kernel's fused linear cross-entropy does)
costs two products with the output weight a window where recomputing the logits in backward
cost three; with the 49,152 × 576 head a float32 LoRA step on an AVX2 CPU is 1.09× faster on
one thread, 1.04× on two (docs/train-room.md). It keeps only the (positions, hidden) gradient
for backward, no larger than the hidden states kept before.

Numerically this is ``F.cross_entropy(h @ W.T, y)`` (mean over targets): the log-sum-exp of
each chunk is taken in float32 even when the product runs in bf16.
"""

from __future__ import annotations

import torch


class _ChunkedCE(torch.autograd.Function):
    @staticmethod
    def forward(ctx, h: torch.Tensor, weight: torch.Tensor, targets: torch.Tensor,
                rows: int, want_grad: bool) -> torch.Tensor:
        total = torch.zeros((), dtype=torch.float32, device=h.device)
        # d(sum of the losses)/dh, made while each chunk's logits exist (None under no_grad)
        grad_h = torch.empty_like(h) if want_grad else None
        with torch.autocast(h.device.type, enabled=False):  # the weight's dtype decides
            for i in range(0, h.shape[0], rows):
                logits = (h[i:i + rows].to(weight.dtype) @ weight.t()).float()
                lse = torch.logsumexp(logits, dim=-1)
                picked = logits.gather(1, targets[i:i + rows, None]).squeeze(1)
                total += (lse - picked).sum()
                if grad_h is not None:
                    p = logits.sub_(lse[:, None]).exp_()  # the softmax, in place
                    p.scatter_add_(1, targets[i:i + rows, None], torch.full_like(p[:, :1], -1.0))
                    grad_h[i:i + rows] = (p.to(weight.dtype) @ weight).to(h.dtype)
        ctx.save_for_backward(grad_h)
        return total / h.shape[0]

    @staticmethod
    def backward(ctx, grad: torch.Tensor):
        (grad_h,) = ctx.saved_tensors
        return grad_h * (grad.float() / grad_h.shape[0]).to(grad_h.dtype), None, None, None, None


def chunked_cross_entropy(hidden: torch.Tensor, weight: torch.Tensor, targets: torch.Tensor,
                          rows: int = 128) -> torch.Tensor:
    """Mean cross-entropy of ``hidden`` (..., D) against ``targets`` (...) with logits
    ``hidden @ weight.T`` (``weight`` (V, D), frozen), computed ``rows`` positions at a time."""
    h = hidden.reshape(-1, hidden.shape[-1])
    # (needs_input_grad says True under no_grad too: ask autograd here, outside the Function)
    want_grad = torch.is_grad_enabled() and h.requires_grad
    return _ChunkedCE.apply(h, weight.detach(), targets.reshape(-1), max(1, int(rows)),
                            want_grad)
