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

This module also holds the ``--precision`` choice shared by ``generate text``, ``eval text``,
``bench text`` and Preferences: ``auto`` keeps a file's own (a GGUF file's 4-bit blocks ->
int4, 8-bit -> int8, F16/BF16 -> bf16; a safetensors folder's ``torch_dtype``), and
:func:`quantize_model` also makes int4 layers (:mod:`desktop_app.ml.text.int4`) from float
weights.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from desktop_app.core.textgen import PRECISIONS, parse_precision  # noqa: F401 - re-exported

_KERNEL = getattr(torch.ops.aten, "_weight_int8pack_mm", None)

#: every value of ``--precision`` (and of the Preferences choice)
PRECISION_CHOICES = PRECISIONS


def folder_precision(config: dict) -> str:
    """``auto`` for a safetensors folder: bf16 when its weights are stored as 16-bit floats."""
    dtype = str(config.get("torch_dtype") or config.get("dtype") or "float32")
    return "bf16" if dtype in ("bfloat16", "float16") else "fp32"


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


def quantize_model(model: nn.Module, arch: str, bits: int = 8,
                   notice=None) -> nn.Module:
    """Replace the matrix products of a loaded bf16/fp32 model with :class:`Int8Linear`
    (``bits=8``) or :class:`~desktop_app.ml.text.int4.Int4Linear` (``bits=4``; widths the int4
    kernel cannot take, or a CPU without it, get int8 and ``notice`` one line).

    GPT-2's ``Conv1D`` (weight stored (in, out)) is transposed first; the output matrix gets
    its own int8 copy (``model.output_proj``) while the embedding table stays for lookups.
    """
    from desktop_app.ml.text.gpt2 import Conv1D
    from desktop_app.ml.text.int4 import GROUP, Int4Linear, kernels

    if bits == 4 and not kernels()["int4"]:
        (notice or (lambda line: None))(
            "the int4 kernel (aten._weight_int4pack_mm_for_cpu) does not work on this CPU; "
            "using int8")
        bits = 8

    def make(w: torch.Tensor, b: torch.Tensor | None) -> nn.Module:
        if bits == 4 and w.shape[1] % GROUP == 0:
            return Int4Linear.from_float(w, b)
        return Int8Linear(w, b)

    for parent in list(model.modules()):
        for name, child in list(parent.named_children()):
            if isinstance(child, nn.Linear) and name != "lm_head":
                setattr(parent, name, make(child.weight, child.bias))
            elif isinstance(child, Conv1D):
                setattr(parent, name, make(child.weight.t(), child.bias))
    model.output_proj = Int8Linear(model.output_weight)
    if getattr(model, "lm_head", None) is not None:
        model.lm_head = None  # the untied output matrix now lives in output_proj only
    for p in model.parameters():
        p.data = p.data.to(torch.bfloat16)
    return model


def stderr_notice(line: str) -> None:
    """Default sink for a loader's one-line notices (a missing kernel and its fallback)."""
    import sys

    print(f"reverie: {line}", file=sys.stderr, flush=True)
