"""Weight-only int4 matrix products for CPU decoding (the "int4" precision; inference only).

A weight (out, in) is held as 4-bit codes ``q`` in 0..15 with, per group of 32 inputs of a row,
a scale ``s`` and an offset ``m``: ``w = q * s + m`` -- exactly llama.cpp's Q4_1 block (and
Q4_0 with ``m = -8 s``, Q4_K's sub-blocks with ``s = d * sc``, ``m = -dmin * mn``). The codes
are packed once by ``aten._convert_weight_to_int4pack_for_cpu`` and multiplied by
``aten._weight_int4pack_mm_for_cpu`` (torch's CPU kernel, the one gpt-fast uses), which reads
``(q - 8) * scale + zero`` with bfloat16 scale/zero, so a block maps to ``scale = s``,
``zero = m + 8 s``. The file's float16 s and m are rounded to bfloat16 there (8 bits of
mantissa instead of 11): the only loss of the repack, measured as a KL divergence by
``benchmarks/bench_text.py``.

Measured on this machine (1 thread, 1536x576 matrix): one row 0.062 ms (bf16 dense 0.085 ms,
fp32 0.48 ms); 128 rows 12.3 ms against 4.6 ms for a bf16 dense product. So prompts go through
a bfloat16 copy dequantized once at load (:attr:`Int4Linear.dense`, kept when the model is
small enough, see ``int4_load``) and single tokens through the int4 kernel.

The kernel needs ``out % 16 == 0`` (rows are padded with zeros otherwise) and
``in % 32 == 0`` (other widths fall back to the bf16 copy). :func:`kernels` checks at load that
both kernels exist *and* give the right numbers on this CPU (``ATEN_CPU_CAPABILITY=avx2``
included); a missing one makes the loader fall back and say so in one line.
"""

from __future__ import annotations

import functools

import numpy as np
import torch
from torch import nn

from desktop_app.ml.text.ops import bf16_rows_linear

GROUP = 32
#: rows at and above which a product uses the dense bf16 copy (when there is one)
DENSE_MIN_ROWS = 4
_PACK = getattr(torch.ops.aten, "_convert_weight_to_int4pack_for_cpu", None)
_MM4 = getattr(torch.ops.aten, "_weight_int4pack_mm_for_cpu", None)
_MM8 = getattr(torch.ops.aten, "_weight_int8pack_mm", None)


@functools.lru_cache(maxsize=1)
def kernels() -> dict[str, bool]:
    """Which weight-only kernels work here: ``{"int4": bool, "int8": bool}`` (checked once by
    multiplying a small random matrix and comparing with the dequantized product)."""
    return {"int4": _probe_int4(), "int8": _probe_int8()}


def _probe_int4() -> bool:
    if _PACK is None or _MM4 is None:
        return False
    try:
        g = torch.Generator().manual_seed(0)
        q = torch.randint(0, 16, (32, 64), generator=g, dtype=torch.int32)
        s = torch.rand(32, 2, generator=g) * 0.1 + 0.01
        m = -8 * s + torch.randn(32, 2, generator=g) * 0.01
        lin = Int4Linear.from_codes(q.numpy().astype(np.uint8), s.numpy(), m.numpy(), dense=False)
        x = torch.randn(3, 64, generator=g).to(torch.bfloat16)
        ref = x.float() @ lin.dequantized().t()
        return bool(torch.allclose(lin(x).float(), ref, atol=0.1, rtol=0.05))
    except (RuntimeError, NotImplementedError):
        return False


def _probe_int8() -> bool:
    if _MM8 is None:
        return False
    try:
        w = torch.randint(-127, 128, (16, 32), dtype=torch.int8)
        s = torch.full((16,), 0.01, dtype=torch.bfloat16)
        x = torch.randn(2, 32).to(torch.bfloat16)
        y = _MM8(x, w, s).float()
        return bool(torch.allclose(y, x.float() @ (w.float() * 0.01).t(), atol=0.1, rtol=0.05))
    except (RuntimeError, NotImplementedError):
        return False


class Int4Linear(nn.Module):
    """``y = x @ W.T (+ b)`` with W as packed int4 codes and bf16 scale/zero per 32 inputs.

    Build with :meth:`from_codes` (codes, scales, offsets) or :meth:`from_float`. Outputs are
    bfloat16. ``dense`` (bf16, same (out, in) values) serves products of many rows.
    """

    def __init__(self, packed: torch.Tensor, scales_zeros: torch.Tensor, out_features: int,
                 in_features: int, dense: torch.Tensor | None = None,
                 bias: torch.Tensor | None = None) -> None:
        super().__init__()
        self.out_features, self.in_features = out_features, in_features
        self.padded_out = packed.shape[0]
        self.register_buffer("packed", packed)
        self.register_buffer("scales_zeros", scales_zeros)  # (in/32, padded_out, 2) bf16
        self.register_buffer("dense", dense)
        self.register_buffer("bias", None if bias is None else bias.detach().to(torch.bfloat16))

    @classmethod
    def from_codes(cls, q: np.ndarray, s: np.ndarray, m: np.ndarray, *, dense: bool = True,
                   bias: torch.Tensor | None = None) -> "Int4Linear":
        """From codes ``q`` (out, in) uint8 0..15, scales ``s`` and offsets ``m`` (out, in/32)
        (any float dtype): ``w = q * s + m`` per group of 32 inputs."""
        out_f, in_f = q.shape
        if in_f % GROUP or s.shape != (out_f, in_f // GROUP) or m.shape != s.shape:
            raise ValueError(f"int4 codes {q.shape} need scales of shape (out, in/{GROUP})")
        s32, m32 = np.asarray(s, np.float32), np.asarray(m, np.float32)
        dense_w = None
        if dense:
            w = q.reshape(out_f, -1, GROUP).astype(np.float32) * s32[..., None] + m32[..., None]
            dense_w = torch.from_numpy(w.reshape(out_f, in_f)).to(torch.bfloat16)
        pad = -out_f % 16
        qt = torch.from_numpy(np.ascontiguousarray(q, dtype=np.int32))
        st, zt = torch.from_numpy(s32), torch.from_numpy(m32 + 8 * s32)
        if pad:
            qt = torch.cat([qt, torch.full((pad, in_f), 8, dtype=torch.int32)])
            st, zt = (torch.cat([t, torch.zeros(pad, t.shape[1])]) for t in (st, zt))
        sz = torch.stack([st.t(), zt.t()], dim=-1).to(torch.bfloat16).contiguous()
        packed = _PACK(qt, 2) if _PACK is not None else qt.to(torch.uint8)
        return cls(packed, sz, out_f, in_f, dense_w, bias)

    @classmethod
    def from_float(cls, weight: torch.Tensor, bias: torch.Tensor | None = None,
                   *, dense: bool = True) -> "Int4Linear":
        """Asymmetric min/max quantization of a float (out, in) weight, groups of 32."""
        q, s, m = quantize_groups(weight.detach().float().numpy())
        return cls.from_codes(q, s, m, dense=dense, bias=bias)

    def dequantized(self) -> torch.Tensor:
        """The float32 (out, in) matrix the int4 kernel multiplies by."""
        if _PACK is None:
            q = self.packed.float()
        else:
            eye = torch.eye(self.in_features, dtype=torch.bfloat16)
            cols = _MM4(eye, self.packed, GROUP, self.scales_zeros).float()  # (in, out)
            return cols.t()[: self.out_features].contiguous()
        sz = self.scales_zeros.float()
        s = sz[..., 0].t().repeat_interleave(GROUP, 1)
        z = sz[..., 1].t().repeat_interleave(GROUP, 1)
        return ((q - 8) * s + z)[: self.out_features]

    def drop_dense(self) -> None:
        self.dense = None

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        lead = x.shape[:-1]
        x2 = x.reshape(-1, self.in_features).to(torch.bfloat16)
        if self.dense is not None and x2.shape[0] >= DENSE_MIN_ROWS:
            y = bf16_rows_linear(x2, self.dense)   # float32 on CPUs without bf16 units
        else:
            y = _MM4(x2.contiguous(), self.packed, GROUP, self.scales_zeros)
            if self.padded_out != self.out_features:
                y = y[:, : self.out_features]
        if self.bias is not None:
            y = y + self.bias
        return y.reshape(*lead, self.out_features)

    def extra_repr(self) -> str:
        return (f"in_features={self.in_features}, out_features={self.out_features}, "
                f"dense={self.dense is not None}")


def quantize_groups(w: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Codes (out, in) uint8 and scale/offset (out, in/32) float32 for a float (out, in)
    matrix: each group of 32 maps its [min, max] onto 0..15 (Q4_1's rule)."""
    out_f, in_f = w.shape
    g = w.reshape(out_f, in_f // GROUP, GROUP).astype(np.float32)
    lo, hi = g.min(-1), g.max(-1)
    s = (hi - lo) / 15.0
    inv = np.divide(1.0, s, out=np.zeros_like(s), where=s > 0)
    q = np.clip(np.rint((g - lo[..., None]) * inv[..., None]), 0, 15).astype(np.uint8)
    return q.reshape(out_f, in_f), s, lo


# -- llama.cpp blocks -> codes, scales, offsets ------------------------------------------------
def q4_0_codes(raw: np.ndarray, in_features: int):
    """Q4_0 rows (out, nb*18 bytes): fp16 d, 16 bytes of nibbles; ``w = d * (q - 8)``."""
    b = raw.reshape(raw.shape[0], in_features // GROUP, 18)
    d = b[..., 0:2].copy().view(np.float16)[..., 0].astype(np.float32)
    return _nibbles(b[..., 2:18], in_features), d, -8.0 * d


def q4_1_codes(raw: np.ndarray, in_features: int):
    """Q4_1 rows (out, nb*20 bytes): fp16 d, fp16 m, 16 bytes of nibbles; ``w = d q + m``."""
    b = raw.reshape(raw.shape[0], in_features // GROUP, 20)
    d = b[..., 0:2].copy().view(np.float16)[..., 0].astype(np.float32)
    m = b[..., 2:4].copy().view(np.float16)[..., 0].astype(np.float32)
    return _nibbles(b[..., 4:20], in_features), d, m


def q4_k_codes(raw: np.ndarray, in_features: int):
    """Q4_K rows (out, nb*144 bytes), super-blocks of 256 = 8 sub-blocks of 32: fp16 d, dmin,
    12 bytes of 6-bit (scale, min) pairs, 128 bytes of nibbles; ``w = d sc q - dmin mn``."""
    rows, nb = raw.shape[0], in_features // 256
    b = raw.reshape(rows, nb, 144)
    d = b[..., 0:2].copy().view(np.float16)[..., 0].astype(np.float32)
    dmin = b[..., 2:4].copy().view(np.float16)[..., 0].astype(np.float32)
    sc, mn = _k_scale_min(b[..., 4:16])  # (rows, nb, 8) each
    qs = b[..., 16:144].reshape(rows, nb, 4, 32)  # 4 chunks of 64 values: low then high nibbles
    q = np.stack([qs & 0x0F, qs >> 4], axis=3).reshape(rows, in_features)
    s = (d[..., None] * sc).reshape(rows, -1)
    m = -(dmin[..., None] * mn).reshape(rows, -1)
    return q.astype(np.uint8), s, m


def _k_scale_min(s: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """llama.cpp's ``get_scale_min_k4`` for all 8 sub-blocks at once (values 0..63)."""
    s = s.astype(np.uint8)
    sc = np.empty(s.shape[:-1] + (8,), np.float32)
    mn = np.empty_like(sc)
    sc[..., :4] = s[..., 0:4] & 63
    mn[..., :4] = s[..., 4:8] & 63
    sc[..., 4:] = (s[..., 8:12] & 0x0F) | ((s[..., 0:4] >> 6) << 4)
    mn[..., 4:] = (s[..., 8:12] >> 4) | ((s[..., 4:8] >> 6) << 4)
    return sc, mn


def _nibbles(qs: np.ndarray, in_features: int) -> np.ndarray:
    """Block bytes (rows, nb, 16) -> codes (rows, in): low nibbles are values 0..15 of a
    block, high nibbles values 16..31 (ggml's layout)."""
    q = np.concatenate([qs & 0x0F, qs >> 4], axis=-1)
    return q.reshape(qs.shape[0], in_features).astype(np.uint8)


#: ggml type name -> block decoder giving codes/scales/offsets exactly (no requantization)
EXACT_INT4 = {"Q4_0": q4_0_codes, "Q4_1": q4_1_codes, "Q4_K": q4_k_codes}
