"""int4/int8 weight-only paths: exact block repacks, kernel products, GGUF models that stay
quantized, the missing-kernel fallback, and the --precision choice."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import gguf
from gguf import GGMLQuantizationType as T
from gguf.quants import dequantize, quantize

from desktop_app.core.textgen import PRECISIONS, parse_precision
from desktop_app.ml.text import int4, int4_gguf
from desktop_app.ml.text.int4 import Int4Linear, quantize_groups
from desktop_app.ml.text.loader import load_text_model
from desktop_app.ml.text.quant import Int8Linear
from gguf_fixtures import _random_k_blocks, write_tiny_gguf

needs_int4 = pytest.mark.skipif(not int4.kernels()["int4"], reason="no int4 kernel on this CPU")


def _codes_match(qtype, raw: np.ndarray, rows: int, cols: int) -> None:
    q, s, m = int4.EXACT_INT4[qtype.name](raw, cols)
    assert q.dtype == np.uint8 and q.max() <= 15
    mine = (q.reshape(rows, -1, 32) * s[..., None] + m[..., None]).reshape(rows, cols)
    ref = dequantize(raw, qtype).reshape(rows, cols)
    np.testing.assert_allclose(mine, ref, rtol=1e-6, atol=1e-6)


@pytest.mark.parametrize("qtype", [T.Q4_0, T.Q4_1])
def test_q4_blocks_decode_exactly(qtype):
    w = np.random.default_rng(0).normal(size=(48, 256)).astype(np.float32)
    _codes_match(qtype, quantize(w, qtype), 48, 256)


def test_q4_k_blocks_decode_exactly():
    raw = _random_k_blocks(32, 512, T.Q4_K, np.random.default_rng(1))
    _codes_match(T.Q4_K, raw, 32, 512)


@needs_int4
@pytest.mark.parametrize("rows", [48, 40])  # 40: padded to the kernel's multiple of 16
def test_int4_kernel_matches_dequantized_product(rows):
    w = np.random.default_rng(2).normal(size=(rows, 128)).astype(np.float32)
    q, s, m = int4.q4_1_codes(quantize(w, T.Q4_1), 128)
    lin = Int4Linear.from_codes(q, s, m)
    ref_w = torch.from_numpy(dequantize(quantize(w, T.Q4_1), T.Q4_1).reshape(rows, 128))
    x = torch.randn(3, 2, 128)
    want = x @ ref_w.t()
    for dense_rows in (1, 10**9):  # the dense bf16 copy (prompts) and the int4 kernel
        int4.DENSE_MIN_ROWS, old = dense_rows, int4.DENSE_MIN_ROWS
        try:
            got = lin(x).float()
        finally:
            int4.DENSE_MIN_ROWS = old
        assert got.shape == (3, 2, rows)
        err = (got - want).abs().max() / want.abs().max()
        assert err < 0.02, err
    # the matrix the kernel multiplies by is the file's, up to bf16 scales
    assert (lin.dequantized() - ref_w).abs().max() < 0.02 * ref_w.abs().max()


class _LinearDtypes(torch.overrides.TorchFunctionMode):
    """Records the weight dtype of every ``F.linear`` call."""

    def __init__(self):
        super().__init__()
        self.seen = []

    def __torch_function__(self, func, types, args=(), kwargs=None):
        if func is torch.nn.functional.linear:
            self.seen.append(args[1].dtype)
        return func(*args, **(kwargs or {}))


@pytest.mark.parametrize("native", [True, False])
def test_prompt_products_use_float32_where_the_cpu_has_no_bf16_units(monkeypatch, native):
    """On an AVX2 CPU bf16 products of many rows are emulated (9x slower than float32 there):
    the bf16 copy kept for prompts is then multiplied in float32, with the same result."""
    from desktop_app.ml.text import ops
    monkeypatch.setattr(ops, "NATIVE_BF16", native)
    w = np.random.default_rng(2).normal(size=(48, 128)).astype(np.float32)
    q, s, m = quantize_groups(w)
    lin = Int4Linear.from_codes(q, s, m)
    x = torch.randn(ops.UPCAST_MIN_ROWS + 4, 128)
    with _LinearDtypes() as mode:
        got = lin(x)
    assert mode.seen == [torch.bfloat16 if native else torch.float32]
    assert got.dtype == torch.bfloat16
    want = x @ lin.dequantized().t()
    assert (got.float() - want).abs().max() < 0.02 * want.abs().max()


def test_quantize_groups_error_is_half_a_step():
    w = np.random.default_rng(3).normal(size=(16, 64)).astype(np.float32)
    q, s, m = quantize_groups(w)
    back = (q.reshape(16, -1, 32) * s[..., None] + m[..., None]).reshape(16, 64)
    assert np.all(np.abs(back - w) <= np.repeat(s, 32, axis=1) / 2 + 1e-6)


def _kl(a: torch.Tensor, b: torch.Tensor) -> float:
    pa, pb = torch.log_softmax(a.float(), -1), torch.log_softmax(b.float(), -1)
    return float((pa.exp() * (pa - pb)).sum(-1).mean())


def _logits(lm, ids):
    with torch.inference_mode():
        return lm.model(torch.tensor([ids]))[0]


@needs_int4
@pytest.mark.parametrize("qtype,precision,kind", [
    (T.Q4_1, "auto", Int4Linear), (T.Q4_0, "int4", Int4Linear), (T.Q4_K, "auto", Int4Linear),
    (T.Q8_0, "auto", Int8Linear), (T.Q6_K, "auto", Int8Linear), (T.Q5_K, "auto", Int8Linear),
    (T.Q4_1, "int8", Int8Linear), (T.F16, "int4", Int4Linear)])
def test_gguf_model_stays_quantized_and_matches_fp32(tmp_path, qtype, precision, kind):
    path = tmp_path / "tiny.gguf"
    write_tiny_gguf(path, qtype=qtype, layers=2)
    ref = load_text_model(path, precision="fp32")
    lm = load_text_model(path, precision=precision)
    att = lm.model.model.layers[0].self_attn
    assert isinstance(att.qkv_proj, kind) and att.q_proj is None  # fused q/k/v
    assert isinstance(lm.model.model.layers[0].mlp.gate_up_proj, kind)
    assert lm.precision == ("int4" if kind is Int4Linear else "int8")
    ids = lm.tokenizer.encode("Once upon a time, a dragon lived by the sea.")
    a, b = _logits(ref, ids), _logits(lm, ids)
    assert _kl(a, b) < 0.02
    assert (a.argmax(-1) == b.argmax(-1)).float().mean() > 0.7


@needs_int4
def test_quantized_generation_uses_the_cache_like_a_full_pass(tmp_path):
    path = tmp_path / "tiny.gguf"
    write_tiny_gguf(path, qtype=T.Q4_1, layers=2)
    m = load_text_model(path, precision="int4").model
    ids = torch.tensor([[5, 9, 13, 2, 7, 30]])
    with torch.inference_mode():
        full = m(ids)[0, -1]
        cache = m.new_cache(1, 16)
        m(ids[:, :5], cache, 0)
        step = m(ids[:, 5:], cache, 5)[0, -1]
    # the prompt goes through the bf16 copy and the step through the int4 kernel
    assert (full - step).abs().max() < 0.05 * full.abs().max()


def test_auto_precision_follows_the_file(tmp_path):
    cases = {T.Q4_1: "int4", T.Q8_0: "int8", T.F16: "bf16", T.F32: "fp32"}
    from desktop_app.ml.text.gguf_file import GGUFFile

    for qtype, want in cases.items():
        path = tmp_path / f"{qtype.name}.gguf"
        write_tiny_gguf(path, qtype=qtype, layers=1, hidden=64, inter=64, heads=2, kv_heads=1)
        assert int4_gguf.auto_precision(GGUFFile(path)) == want
    lm = load_text_model(tmp_path / "F16.gguf", precision="auto")
    assert lm.precision == "bf16"


def test_missing_int4_kernel_falls_back_with_one_line(tmp_path, monkeypatch):
    path = tmp_path / "tiny.gguf"
    write_tiny_gguf(path, qtype=T.Q4_1, layers=1)
    monkeypatch.setattr(int4_gguf, "kernels", lambda: {"int4": False, "int8": True})
    lines: list[str] = []
    lm = load_text_model(path, precision="int4", notice=lines.append)
    assert len(lines) == 1 and "int4 kernel" in lines[0] and "int8" in lines[0]
    assert isinstance(lm.model.model.layers[0].self_attn.qkv_proj, Int8Linear)
    ref = load_text_model(path, precision="fp32")
    ids = [3, 8, 21, 40, 2]
    assert _kl(_logits(ref, ids), _logits(lm, ids)) < 0.02


def test_missing_both_kernels_falls_back_to_bf16(tmp_path, monkeypatch, capsys):
    path = tmp_path / "tiny.gguf"
    write_tiny_gguf(path, qtype=T.Q4_1, layers=1)
    monkeypatch.setattr(int4_gguf, "kernels", lambda: {"int4": False, "int8": False})
    lm = load_text_model(path, precision="auto")  # notices go to stderr by default
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 2 and all(line.startswith("reverie: the int") for line in err)
    ref = load_text_model(path, precision="fp32")
    ids = [3, 8, 21, 40, 2]
    assert _kl(_logits(ref, ids), _logits(lm, ids)) < 0.01


def test_precision_option_parsing():
    assert PRECISIONS == ("auto", "fp32", "bf16", "int8", "int4")
    assert parse_precision(" INT4 ") == "int4"
    with pytest.raises(ValueError, match="auto, fp32, bf16, int8, int4"):
        parse_precision("int3")


@pytest.mark.parametrize("command", [["generate", "text", "--prompt", "x"], ["bench", "text"]])
def test_cli_rejects_an_unknown_precision(command, capsys):
    from desktop_app.cli import main

    assert main([*command, "--precision", "int3"]) == 2
    err = capsys.readouterr().err
    assert "unknown precision 'int3'; choose auto, fp32, bf16, int8, int4" in err

