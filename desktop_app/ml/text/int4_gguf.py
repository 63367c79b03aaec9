"""Build a Llama model whose weights stay quantized, straight from a GGUF file's blocks.

:func:`fill_quantized` takes a meta-device :class:`~desktop_app.ml.text.llama.LlamaForCausalLM`
and a validated :class:`~desktop_app.ml.text.gguf_file.GGUFFile` and gives every matrix a
weight-only module, per tensor type and the requested precision:

==========  ==============================  ==============================================
precision   Q4_0 / Q4_1 / Q4_K              Q8_0, Q5_K, Q6_K, F16, BF16, F32
==========  ==============================  ==============================================
``int4``    :class:`Int4Linear`, exact      dequantized, requantized to int4 (min/max, 32)
            block repack (bf16 scales)
``int8``    dequantized, :class:`Int8Linear` (one bf16 scale per output row)
``auto``    int4 (exact repack)             int8 (per row) for Q8_0 / Q5_K / Q6_K
==========  ==============================  ==============================================

q/k/v and gate/up become one fused module each when their parts get the same kind (one
kernel call instead of three / two). The embedding table stays int8 with its Q8_0 block scales
(lookups exact) or bf16 for other types; the output layer (tied to the embeddings in SmolLM2)
is int8 per output row or bf16 (``OUTPUT``, chosen by the KL/speed measurements in
``benchmarks/bench_text.py``). Norm weights and the residual stream stay float32; matrix
inputs are bf16 (what the kernels take). If a kernel is missing on this CPU
(:func:`~desktop_app.ml.text.int4.kernels`), the layer falls back to a bf16 dense matrix and
``notice`` gets one line saying so.
"""

from __future__ import annotations

from typing import Callable

import numpy as np
import torch
from torch import nn

from desktop_app.ml.text.int4 import EXACT_INT4, Int4Linear, kernels, quantize_groups
from desktop_app.ml.text.ops import bf16_rows_linear, weight_for_decode
from desktop_app.ml.text.quant import Int8Linear

#: quantized precisions this module builds (fp32/bf16 are the plain loader's)
QUANT_PRECISIONS = ("int4", "int8")
#: output layer of the quantized model: "int8" (per row, top logits recomputed exactly) or
#: "bf16" (dense). Measured (SmolLM2 Q4_1, 4 story passages, 1 thread): int8 alone 15 ms per
#: token, KL 1.9e-3; bf16 26-39 ms, KL 6.5e-4; int8 + exact top-128 KL 5.2e-4. An int4
#: output (groups of 32; 1.4 ms against int8's 1.8 ms on a quiet AVX-512 Xeon) moved it too
#: far even with the exact top 2048: KL 1.3e-3 (top 128: 7.7e-3).
OUTPUT = "int8"
#: logits recomputed exactly from the file's rows after the int8 product (per row of input)
EXACT_TOP = 128
#: keep bf16 dense copies for prompts while they total at most this many bytes
DENSE_PREFILL_MAX_BYTES = 1 << 30

_FOUR_BIT = set(EXACT_INT4)
_FLOAT_TYPES = {"F32", "F16", "BF16"}


def auto_precision(gf) -> str:
    """The precision a file's own matrices suggest: int4 for 4-bit blocks, int8 for 5..8-bit
    blocks, bf16 for F16/BF16, fp32 for F32 (by the majority of matrix elements)."""
    count: dict[str, int] = {}
    for name, t in gf.tensors.items():
        if len(t.shape) == 2 and "embed_tokens" not in name:
            kind = _auto_kind(t.ggml_type.name)
            count[kind] = count.get(kind, 0) + t.n_elements
    return max(count, key=count.get) if count else "fp32"


def _auto_kind(type_name: str) -> str:
    if type_name in _FOUR_BIT:
        return "int4"
    if type_name == "F32":
        return "fp32"
    if type_name in _FLOAT_TYPES:
        return "bf16"
    return "int8"


class QuantEmbedding(nn.Module):
    """Embedding lookups from int8 codes with one scale per 32 values (Q8_0, exact) or from a
    bf16 table; returns float32 rows."""

    def __init__(self, codes: torch.Tensor, scales: torch.Tensor | None) -> None:
        super().__init__()
        self.register_buffer("codes", codes)  # (V, D) int8, or (V, D) bf16 when scales is None
        self.register_buffer("scales", scales)  # (V, D/32) float32

    @property
    def num_embeddings(self) -> int:
        return self.codes.shape[0]

    def forward(self, ids: torch.Tensor) -> torch.Tensor:
        rows = self.codes[ids].float()
        if self.scales is None:
            return rows
        s = self.scales[ids]
        return (rows.unflatten(-1, (s.shape[-1], -1)) * s[..., None]).flatten(-2)


def fill_quantized(model, gf, precision: str, *, report: Callable[[float, str], None] | None = None,
                   notice: Callable[[str], None] | None = None) -> dict[str, int]:
    """Give ``model`` (built on the meta device from ``gf``'s config) quantized modules.

    ``precision`` is "int4", "int8" or "auto". Returns how many matrices got each kind.
    """
    report = report or (lambda f, m: None)
    notice = notice or (lambda line: None)
    have = kernels()
    if precision in ("int4", "auto") and not have["int4"]:
        notice("the int4 kernel (aten._weight_int4pack_mm_for_cpu) does not work on this CPU; "
               "4-bit weights run as " + ("int8" if have["int8"] else "bf16"))
    if not have["int8"]:
        notice("the int8 kernel (aten._weight_int8pack_mm) does not work on this CPU; "
               "8-bit weights run as bf16")
    cfg = model.config
    budget = [DENSE_PREFILL_MAX_BYTES]
    kinds: dict[str, int] = {}

    def kind_of(name: str) -> str:
        k = "int4" if precision == "int4" else (
            "int8" if precision == "int8" else _auto_kind(gf.tensors[name].ggml_type.name))
        if k == "int4" and not have["int4"]:
            k = "int8"
        if k == "int8" and not have["int8"]:
            k = "bf16"
        return "bf16" if k == "fp32" else k

    def build(names: list[str]) -> nn.Module:
        kind = kind_of(names[0])
        kinds[kind] = kinds.get(kind, 0) + len(names)
        biases = [_bias(gf, n) for n in names]
        bias = None if all(b is None for b in biases) else torch.cat(
            [b if b is not None else torch.zeros(gf.tensors[n].shape[0])
             for b, n in zip(biases, names)])
        if kind == "int4":
            parts = [_int4_codes(gf, n) for n in names]
            q, s, m = (np.concatenate([p[i] for p in parts]) for i in range(3))
            dense_bytes = q.size * 2
            keep = dense_bytes <= budget[0]
            budget[0] -= dense_bytes if keep else 0
            return Int4Linear.from_codes(q, s, m, dense=keep, bias=bias)
        w = torch.cat([gf.dequantize(n) for n in names])
        if kind == "int8":
            return Int8Linear(w, bias)
        return _Bf16Linear(w, bias)

    def same_kind(names: list[str]) -> bool:
        return len({kind_of(n) for n in names}) == 1

    total = cfg.num_hidden_layers
    for i, layer in enumerate(model.model.layers):
        p = f"model.layers.{i}."
        att, mlp = layer.self_attn, layer.mlp
        qkv = [p + f"self_attn.{x}_proj.weight" for x in "qkv"]
        if same_kind(qkv):
            att.fuse_qkv(build(qkv))
        else:
            att.q_proj, att.k_proj, att.v_proj = (build([n]) for n in qkv)
        att.o_proj = build([p + "self_attn.o_proj.weight"])
        gu = [p + "mlp.gate_proj.weight", p + "mlp.up_proj.weight"]
        if same_kind(gu):
            mlp.fuse_gate_up(build(gu))
        else:
            mlp.gate_proj, mlp.up_proj = (build([n]) for n in gu)
        mlp.down_proj = build([p + "mlp.down_proj.weight"])
        for norm in ("input_layernorm", "post_attention_layernorm"):
            _set_param(getattr(layer, norm), "weight", gf.dequantize(p + norm + ".weight"))
        report(0.15 + 0.7 * (i + 1) / total, f"Packing weights (layer {i + 1}/{total})")
    _set_param(model.model.norm, "weight", gf.dequantize("model.norm.weight"))
    report(0.88, "Packing the embeddings")
    emb = gf.tensors["model.embed_tokens.weight"]
    model.model.embed_tokens = _embedding(gf, emb)
    out_name = "model.embed_tokens.weight" if cfg.tie_word_embeddings else "lm_head.weight"
    out_w = gf.dequantize(out_name)
    if OUTPUT == "int8" and have["int8"]:
        rows = model.model.embed_tokens if cfg.tie_word_embeddings else _embedding(
            gf, gf.tensors[out_name])
        model.output_proj = CorrectedOutput(Int8Linear(out_w), rows, EXACT_TOP)
    else:
        model.output_proj = _Bf16Linear(out_w)
    model.lm_head = None
    model.cache_dtype = torch.float32
    model.reset_rope(device="cpu")
    return kinds


class CorrectedOutput(nn.Module):
    """The output layer as per-row int8 (half the bytes of bf16 for the largest matrix of a
    small model), then the ``top`` largest logits of each position recomputed in float32 from
    the file's exact rows: per-row int8 alone moved the distribution (KL 1.9e-3), mostly
    through the likely tokens that sampling and the inspector read. The tail keeps the int8
    values."""

    def __init__(self, approx: nn.Module, rows: QuantEmbedding, top: int) -> None:
        super().__init__()
        self.approx, self.rows, self.top = approx, rows, top

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.approx(x).float()
        if self.top <= 0:
            return y
        x2, y2 = x.reshape(-1, x.shape[-1]).float(), y.view(-1, y.shape[-1])
        idx = y2.topk(min(self.top, y2.shape[-1]), dim=-1).indices  # (N, top)
        exact = torch.einsum("nd,nkd->nk", x2, self.rows(idx))
        y2.scatter_(1, idx, exact)
        return y


class _Bf16Linear(nn.Module):
    """A bf16 dense matrix in decode layout (the output layer, or the fallback when a kernel
    is missing)."""

    def __init__(self, weight: torch.Tensor, bias: torch.Tensor | None = None) -> None:
        super().__init__()
        self.register_buffer("weight", weight_for_decode(weight.to(torch.bfloat16)))
        self.register_buffer("bias", None if bias is None else bias.to(torch.bfloat16))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return bf16_rows_linear(x, self.weight, self.bias)


def _int4_codes(gf, name: str):
    t = gf.tensors[name]
    fn = EXACT_INT4.get(t.ggml_type.name)
    if fn is not None:
        return fn(np.asarray(t.raw_rows()), t.shape[1])
    return quantize_groups(gf.dequantize(name).numpy())  # requantized: the loss is measured


def _bias(gf, weight_name: str) -> torch.Tensor | None:
    name = weight_name[: -len("weight")] + "bias"
    return gf.dequantize(name) if name in gf.tensors else None


def _embedding(gf, t) -> QuantEmbedding:
    if t.ggml_type.name == "Q8_0":
        raw = np.asarray(t.raw_rows())
        b = raw.reshape(t.shape[0], t.shape[1] // 32, 34)
        d = b[..., 0:2].copy().view(np.float16)[..., 0].astype(np.float32)
        codes = b[..., 2:34].copy().view(np.int8).reshape(t.shape)
        return QuantEmbedding(torch.from_numpy(codes), torch.from_numpy(d))
    return QuantEmbedding(gf.dequantize(t.name).to(torch.bfloat16), None)


def _set_param(module: nn.Module, leaf: str, tensor: torch.Tensor) -> None:
    module._parameters[leaf] = nn.Parameter(tensor.float().contiguous(), requires_grad=False)
