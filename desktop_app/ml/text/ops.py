"""Small tensor operations shared by the text models, tuned for CPU inference.

``linear`` is ``F.linear`` except for bfloat16 weights applied to many rows at once (a
prompt): on CPUs without native bf16 matrix units (AVX2), bf16 matrix-matrix products were
measured about 5x slower than float32, so the weight is upcast for that one product. Decoding
(one row per sequence) keeps bf16, where reading half the bytes makes matrix-vector products
faster.

``bf16_rows_linear`` is for the bf16 copies kept beside packed int4/int8 weights for prompts: on
a CPU with bf16 matrix units (AVX512-BF16/AMX) the product stays bf16 (measured faster than the
int4 kernel there), elsewhere it is computed in float32 — on a 2-core AVX2 AMD EPYC a 128-token
SmolLM2 prompt took 2.8 s on one thread (87 % of it in emulated bf16 products), 0.44 s in
float32 (`reverie bench text`).

``weight_for_decode`` stores a (out, in) weight as the transpose of an (in, out) contiguous
matrix: same shape and values, but ``x @ W.T`` then walks memory in the order the CPU's
bf16 matrix-vector kernels read fastest (GPT-2's 50257x768 output matrix: 5.8 ms instead of
22.7 ms on this machine; float32 gains nothing, so the loader uses it for bf16 only). The
tensor is then not contiguous; call ``.contiguous()`` before saving it.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from desktop_app.core.cpu_features import cpu_has_bf16

UPCAST_MIN_ROWS = 16
#: read once; a module constant so that a traced or exported graph sees a plain bool
NATIVE_BF16 = cpu_has_bf16()


def linear(x: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor | None = None) -> torch.Tensor:
    """``x @ weight.T + bias`` with weight (out, in); bf16 prompts are computed in float32."""
    if weight.dtype == torch.bfloat16 and _many_rows(x):
        return _float32_product(x, weight, bias)
    return F.linear(x, weight, bias)


def bf16_rows_linear(x: torch.Tensor, weight: torch.Tensor,
                     bias: torch.Tensor | None = None) -> torch.Tensor:
    """``x @ weight.T + bias`` in bf16 for a bf16 weight, computed in float32 where the CPU
    has no bf16 matrix units and ``x`` has many rows (see the module doc)."""
    if not NATIVE_BF16 and _many_rows(x):
        return _float32_product(x, weight, bias)
    return F.linear(x.to(torch.bfloat16), weight, bias)


def _many_rows(x: torch.Tensor) -> bool:
    return x.numel() // x.shape[-1] >= UPCAST_MIN_ROWS


def _float32_product(x: torch.Tensor, weight: torch.Tensor,
                     bias: torch.Tensor | None) -> torch.Tensor:
    b = bias.float() if bias is not None else None
    return F.linear(x.float(), weight.float(), b).to(torch.bfloat16)


def weight_for_decode(weight: torch.Tensor) -> torch.Tensor:
    """The same (out, in) matrix, stored as a contiguous (in, out) one (see module doc)."""
    return weight.t().contiguous().t()
