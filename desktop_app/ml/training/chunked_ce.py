"""Cross-entropy over a large vocabulary without materialising the whole logits tensor.

A 512-token window over SmolLM2's 49,152-token vocabulary has 100 MB of float32 logits, and
autograd keeps them, their log-softmax and their gradient alive at once (about 0.4 GB a
window). :func:`chunked_cross_entropy` computes the loss ``rows`` positions at a time and
keeps only the hidden states; the backward pass recomputes each chunk's logits and turns them
into ``softmax - onehot`` in place. The output weight is frozen here (LoRA fine-tuning): no
gradient is computed for it.

Numerically this is ``F.cross_entropy(h @ W.T, y)`` (mean over targets): the log-sum-exp of
each chunk is taken in float32 even when the product runs in bf16.
"""

from __future__ import annotations

import torch


class _ChunkedCE(torch.autograd.Function):
    @staticmethod
    def forward(ctx, h: torch.Tensor, weight: torch.Tensor, targets: torch.Tensor,
                rows: int) -> torch.Tensor:
        total = torch.zeros((), dtype=torch.float32, device=h.device)
        with torch.autocast(h.device.type, enabled=False):  # the weight's dtype decides
            for i in range(0, h.shape[0], rows):
                logits = (h[i:i + rows].to(weight.dtype) @ weight.t()).float()
                lse = torch.logsumexp(logits, dim=-1)
                picked = logits.gather(1, targets[i:i + rows, None]).squeeze(1)
                total += (lse - picked).sum()
        ctx.save_for_backward(h, weight, targets)
        ctx.rows = rows
        return total / h.shape[0]

    @staticmethod
    def backward(ctx, grad: torch.Tensor):
        h, weight, targets = ctx.saved_tensors
        scale = grad.float() / h.shape[0]
        out = torch.empty_like(h)
        for i in range(0, h.shape[0], ctx.rows):
            logits = (h[i:i + ctx.rows].to(weight.dtype) @ weight.t()).float()
            p = torch.softmax(logits, dim=-1)
            p.scatter_add_(1, targets[i:i + ctx.rows, None],
                           torch.full_like(p[:, :1], -1.0))
            p.mul_(scale)
            out[i:i + ctx.rows] = (p.to(weight.dtype) @ weight).to(h.dtype)
        return out, None, None, None


def chunked_cross_entropy(hidden: torch.Tensor, weight: torch.Tensor, targets: torch.Tensor,
                          rows: int = 128) -> torch.Tensor:
    """Mean cross-entropy of ``hidden`` (..., D) against ``targets`` (...) with logits
    ``hidden @ weight.T`` (``weight`` (V, D), frozen), computed ``rows`` positions at a time."""
    h = hidden.reshape(-1, hidden.shape[-1])
    return _ChunkedCE.apply(h, weight.detach(), targets.reshape(-1), max(1, int(rows)))
