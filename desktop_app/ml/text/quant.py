"""Weight-only int8 quantization for faster CPU decoding (the "int8" precision; inference only).

Each weight matrix (out, in) becomes int8 values with one bfloat16 scale per output row
(symmetric, ``scale = max|w_row| / 127``); activations stay bfloat16. Decoding a token reads a
quarter of the float32 bytes. Products go through torch's CPU kernel
``aten._weight_int8pack_mm`` (the kernel gpt-fast uses; measured on this machine for GPT-2's
50257x768 output matrix: 8.8 ms vs 14.3 ms in float32, and 0.55 ms vs 0.98 ms for a 3072x768
layer). For prompts it is about 2x slower than float32 but still faster than dequantizing
(3072x768, 128 rows: 26 ms vs 38 ms; float32 13 ms).

The kernel needs ``in_features % 16 == 0`` (other widths crash it), so other layers take a
slower dequantizing path. Per-row int8 loses some accuracy (about 1% relative per weight), unlike
llama.cpp's q8_0 with one scale per 32 values; the tests bound the change in probabilities.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

_KERNEL = getattr(torch.ops.aten, "_weight_int8pack_mm", None)


class Int8Linear(nn.Module):
    """``y = x @ W.T + b`` with W stored as int8 rows times a bf16 scale per row."""

    def __init__(self, weight: torch.Tensor, bias: torch.Tensor | None = None) -> None:
        super().__init__()
        w = weight.detach().float()  # (out, in)
        scale = w.abs().amax(dim=1).clamp(min=1e-12) / 127.0
        self.register_buffer("qweight", torch.round(w / scale[:, None]).clamp(-127, 127)
                             .to(torch.int8).contiguous())
        self.register_buffer("scales", scale.to(torch.bfloat16))
        self.register_buffer("bias", None if bias is None else bias.detach().to(torch.bfloat16))
        self.out_features, self.in_features = w.shape
        self.fast = _KERNEL is not None and self.in_features % 16 == 0

    def dequantized(self) -> torch.Tensor:
        return self.qweight.float() * self.scales.float()[:, None]

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        lead = x.shape[:-1]
        x2 = x.reshape(-1, self.in_features)
        if self.fast:
            y = _KERNEL(x2.to(torch.bfloat16).contiguous(), self.qweight, self.scales)
            if self.bias is not None:
                y = y + self.bias
        else:
            b = None if self.bias is None else self.bias.float()
            y = F.linear(x2.float(), self.dequantized(), b).to(torch.bfloat16)
        return y.view(*lead, self.out_features)


def quantize_model(model: nn.Module, arch: str) -> nn.Module:
    """Replace the matrix products of a loaded bf16/fp32 model with :class:`Int8Linear`.

    GPT-2's ``Conv1D`` (weight stored (in, out)) is transposed first; the output matrix gets
    its own int8 copy (``model.output_proj``) while the embedding table stays for lookups.
    """
    from desktop_app.ml.text.gpt2 import Conv1D

    for parent in list(model.modules()):
        for name, child in list(parent.named_children()):
            if isinstance(child, nn.Linear) and name != "lm_head":
                setattr(parent, name, Int8Linear(child.weight, child.bias))
            elif isinstance(child, Conv1D):
                setattr(parent, name, Int8Linear(child.weight.t(), child.bias))
    model.output_proj = Int8Linear(model.output_weight)
    if getattr(model, "lm_head", None) is not None:
        model.lm_head = None  # the untied output matrix now lives in output_proj only
    for p in model.parameters():
        p.data = p.data.to(torch.bfloat16)
    return model
