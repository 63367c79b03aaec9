"""The LoRA adapter layer itself, without a training run: it starts at the base and only it
learns, merging equals applying it, PEFT's layers_to_transform, and the adapter applied on the
fly to packed (fused) projections equals the merged one, and what compressing it keeps
(split from test_lora.py)."""

from __future__ import annotations

import json

import pytest
import torch

from desktop_app.ml.text import lora
from desktop_app.ml.text.llama import LlamaConfig, LlamaForCausalLM
from desktop_app.ml.text.tiny import tiny_llama


def _tiny_llama(seed: int = 0) -> LlamaForCausalLM:
    return tiny_llama(seed, kv_heads=2, tie=True)


def test_adapters_start_at_the_base_and_only_they_learn():
    model = _tiny_llama()
    x = torch.randint(0, 50, (4, 24), generator=torch.Generator().manual_seed(1))
    before = model(x).detach()
    frozen = {k: v.clone() for k, v in model.state_dict().items()}
    trained = lora.apply_lora(model, rank=4, alpha=8)
    assert trained == sum(p.numel() for n, p in model.named_parameters() if "lora_" in n) > 0
    assert all(p.requires_grad == ("lora_" in n) for n, p in model.named_parameters())
    assert torch.allclose(model(x), before, atol=1e-6)  # B = 0: the very same model
    opt = torch.optim.AdamW([p for p in model.parameters() if p.requires_grad], lr=1e-2)
    losses = []
    for _ in range(30):
        logits = model(x[:, :-1])
        loss = torch.nn.functional.cross_entropy(logits.reshape(-1, 50), x[:, 1:].reshape(-1))
        opt.zero_grad()
        loss.backward()
        opt.step()
        losses.append(float(loss.detach()))
    assert losses[-1] < losses[0] - 0.2
    for name, value in model.state_dict().items():
        if "lora_" not in name:
            assert torch.equal(value, frozen[name]), name
    names = set(lora.adapter_state(model))
    assert "base_model.model.model.layers.0.self_attn.q_proj.lora_A.weight" in names
    assert "base_model.model.model.layers.1.mlp.down_proj.lora_B.weight" in names
    assert len(names) == 2 * 7 * 2


def test_merge_equals_applying_on_the_fly(tmp_path):
    model = _tiny_llama()
    lora.apply_lora(model, rank=4, alpha=8)
    for m in lora.lora_modules(model).values():
        torch.nn.init.normal_(m.lora_B.weight, std=0.05)
    x = torch.randint(0, 50, (2, 16), generator=torch.Generator().manual_seed(2))
    expected = model(x).detach()
    lora.save_adapter(model, tmp_path, base="tiny")
    plain = _tiny_llama()
    assert lora.merge_adapter_into(plain, tmp_path) == 14
    assert torch.allclose(plain(x), expected, atol=1e-5)
    wrong = LlamaForCausalLM(LlamaConfig(vocab_size=50, hidden_size=48, intermediate_size=64,
                                         num_hidden_layers=2, num_attention_heads=4,
                                         tie_word_embeddings=True))
    with pytest.raises(Exception, match="does not fit"):
        lora.merge_adapter_into(wrong, tmp_path)


def test_adapters_on_upper_blocks_only_are_saved_as_peft_layers_to_transform(tmp_path):
    model = _tiny_llama()
    n = lora.apply_lora(model, 4, 8, layers=[1])
    names = set(lora.lora_modules(model))
    assert names and all(lora.layer_index(k) == 1 for k in names)
    assert n == sum(m.lora_A.weight.numel() + m.lora_B.weight.numel()
                    for m in lora.lora_modules(model).values())
    lora.save_adapter(model, tmp_path, base="tiny")
    cfg = json.loads((tmp_path / lora.CONFIG_FILE).read_text())
    assert cfg["layers_to_transform"] == [1] and cfg["layers_pattern"] == "layers"
    full = _tiny_llama()
    lora.apply_lora(full, 4, 8)
    lora.save_adapter(full, tmp_path / "all", base="tiny")
    assert json.loads((tmp_path / "all" / lora.CONFIG_FILE).read_text())[
        "layers_to_transform"] is None


def test_a_saved_adapter_loads_back_into_fresh_adapters_and_misfits_change_nothing(tmp_path):
    """Continuing an adapter: its A and B replace a fresh layout's (whose B is zero), giving
    the saved model exactly; another rank or other blocks are refused before any change."""
    model = _tiny_llama()
    lora.apply_lora(model, 4, 8, layers=[1])
    for m in lora.lora_modules(model).values():
        torch.nn.init.normal_(m.lora_B.weight, std=0.05)
    x = torch.randint(0, 50, (2, 16), generator=torch.Generator().manual_seed(3))
    expected = model(x).detach()
    lora.save_adapter(model, tmp_path, base="tiny")
    again = _tiny_llama()
    torch.manual_seed(99)   # other fresh A matrices: all of them must be replaced
    lora.apply_lora(again, 4, 8, layers=[1])
    assert not torch.allclose(again(x), expected, atol=1e-4)
    assert lora.load_adapter_weights(again, tmp_path) == 7
    assert torch.allclose(again(x), expected, atol=1e-6)
    for layout in ({"rank": 8, "layers": [1]}, {"rank": 4, "layers": None}):
        other = _tiny_llama()
        lora.apply_lora(other, layout["rank"], 8, layers=layout["layers"])
        fresh = {k: v.clone() for k, v in lora.adapter_state(other).items()}
        with pytest.raises(lora.ModelLoadError, match="does not fit|no weights for"):
            lora.load_adapter_weights(other, tmp_path)
        assert all(torch.equal(v, fresh[k]) for k, v in lora.adapter_state(other).items())


def _fused(model: LlamaForCausalLM) -> LlamaForCausalLM:
    """q|k|v and gate|up as one projection each, as the quantized loaders build them."""
    for layer in model.model.layers:
        att, mlp = layer.self_attn, layer.mlp
        qkv = torch.nn.Linear(att.q_proj.in_features, sum(
            p.out_features for p in (att.q_proj, att.k_proj, att.v_proj)), bias=False)
        qkv.weight.data = torch.cat([att.q_proj.weight, att.k_proj.weight, att.v_proj.weight])
        att.fuse_qkv(qkv)
        gu = torch.nn.Linear(mlp.gate_proj.in_features, 2 * mlp.gate_proj.out_features,
                             bias=False)
        gu.weight.data = torch.cat([mlp.gate_proj.weight, mlp.up_proj.weight])
        mlp.fuse_gate_up(gu)
    return model


@pytest.mark.parametrize("layers", [None, [1]])
def test_an_adapter_on_the_fly_equals_the_merged_one_fused_or_not(tmp_path, layers):
    """A quantized base keeps its packed (often fused) projections and gets the adapter as
    LowRankAdded: on float projections, where no quantization blurs the comparison, its
    output is the merged model's, fused q|k|v and gate|up included, and with adapters on
    some blocks only."""
    model = _tiny_llama()
    lora.apply_lora(model, rank=4, alpha=8, layers=layers)
    for m in lora.lora_modules(model).values():
        torch.nn.init.normal_(m.lora_B.weight, std=0.05)
    lora.save_adapter(model, tmp_path, base="tiny")
    x = torch.randint(0, 50, (2, 16), generator=torch.Generator().manual_seed(2))
    merged = _tiny_llama()
    lora.merge_adapter_into(merged, tmp_path)
    expected = merged(x).detach()
    covered = 14 if layers is None else 7
    for build in (_tiny_llama, lambda: _fused(_tiny_llama())):
        live = build()
        assert lora.add_adapter_on_the_fly(live, tmp_path, keep_energy=1.0) == covered
        assert torch.allclose(live(x), expected, atol=1e-5)
    before = _tiny_llama()(x).detach()
    assert not torch.allclose(before, expected, atol=1e-3)   # the adapter changes the output
    wrong = LlamaForCausalLM(LlamaConfig(vocab_size=50, hidden_size=48, intermediate_size=64,
                                         num_hidden_layers=2, num_attention_heads=4,
                                         tie_word_embeddings=True))
    with pytest.raises(Exception, match="does not fit"):
        lora.add_adapter_on_the_fly(wrong, tmp_path)
    assert not any(isinstance(m, lora.LowRankAdded) for m in wrong.modules())   # untouched


def _pair_with_spectrum(values: list[float], rank: int, n_in: int = 40, n_out: int = 30,
                        seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    """(A (rank, in), B (out, rank)) whose product has exactly these singular values (the rest
    zero): an adapter stored at ``rank`` that uses fewer directions."""
    g = torch.Generator().manual_seed(seed)
    u, _ = torch.linalg.qr(torch.randn(n_out, rank, generator=g, dtype=torch.float64))
    v, _ = torch.linalg.qr(torch.randn(n_in, rank, generator=g, dtype=torch.float64))
    s = torch.zeros(rank, dtype=torch.float64)
    s[:len(values)] = torch.tensor(values, dtype=torch.float64)
    mix = torch.randn(rank, rank, generator=g, dtype=torch.float64)  # not already in SVD form
    return (torch.linalg.solve(mix, v.t())).float(), (u * s @ mix).float()


def test_compressing_an_update_keeps_the_fewest_directions_that_carry_the_energy():
    """Singular values 4, 2, 1, 0.5 stored at rank 6: the energy kept after 1-4 directions is
    75.3, 94.1, 98.8 and 100 %, so 0.9 keeps two, 0.95 three, 0.999 four (the exact update),
    and the dropped part is the rest of the spectrum (Eckart-Young)."""
    a, b = _pair_with_spectrum([4.0, 2.0, 1.0, 0.5], rank=6)
    update = b.double() @ a.double()
    for keep, k, dropped in ((0.9, 2, (1 + 0.25) ** 0.5), (0.95, 3, 0.5), (0.999, 4, 0.0)):
        at, bt = lora.compress_update(a, b, keep)
        assert at.shape == (40, k) and bt.shape == (k, 30)
        assert at.dtype == bt.dtype == torch.float32 and at.is_contiguous()
        err = torch.linalg.matrix_norm(update - (at.double() @ bt.double()).t())
        assert abs(float(err) - dropped) < 1e-4, (keep, float(err))
    at, bt = lora.compress_update(a, b, 1.0)     # 1.0: the adapter as stored, no SVD
    assert torch.equal(at, a.t()) and torch.equal(bt, b.t())
    at, bt = lora.compress_update(torch.randn(6, 40), torch.zeros(30, 6), 0.9)   # untrained
    assert at.shape == (40, 1) and not bt.any()


def test_an_adapter_on_the_fly_keeps_only_the_directions_it_uses(tmp_path):
    """An adapter of rank 4 whose updates use two directions each is applied on the fly with
    two directions per projection (q|k|v fused: six) and still equals the merged model; its
    kept ranks are in the model's repr, which keys the compiled decode step, so two adapters of
    one shape but other kept ranks never share a compiled package."""
    from desktop_app.ml.text import compiled

    model = _tiny_llama()
    lora.apply_lora(model, rank=4, alpha=4)
    for i, m in enumerate(lora.lora_modules(model).values()):
        a, b = _pair_with_spectrum([1.0, 0.5], rank=4, n_in=m.lora_A.weight.shape[1],
                                   n_out=m.lora_B.weight.shape[0], seed=i)
        m.lora_A.weight.data, m.lora_B.weight.data = a, b
    lora.save_adapter(model, tmp_path, base="tiny")
    x = torch.randint(0, 50, (2, 16), generator=torch.Generator().manual_seed(2))
    merged = _tiny_llama()
    lora.merge_adapter_into(merged, tmp_path)
    live = _fused(_tiny_llama())
    lora.add_adapter_on_the_fly(live, tmp_path, keep_energy=0.999)
    ranks = {m.rank for m in live.modules() if isinstance(m, lora.LowRankAdded)}
    assert ranks == {2, 4, 6}    # o and down: 2; gate|up: 2 + 2; q|k|v: 2 + 2 + 2
    assert torch.allclose(live(x), merged(x), atol=1e-5)
    whole = _fused(_tiny_llama())
    lora.add_adapter_on_the_fly(whole, tmp_path, keep_energy=1.0)
    assert "rank=6 of 12" in repr(live) and "rank=12 of 12" in repr(whole)
    assert compiled.package_path(live) != compiled.package_path(whole)


def test_an_adapter_holding_nan_is_refused_in_one_line(tmp_path):
    """A damaged adapter file with a NaN or an infinity is refused by name when it is read,
    merged or applied on the fly, before any weight changes (the SVD at load would fail on it
    with a linear-algebra traceback; merged, it would give a model of NaNs)."""
    from desktop_app.core.errors import ModelLoadError

    model = _tiny_llama()
    lora.apply_lora(model, rank=2, alpha=2)
    next(iter(lora.lora_modules(model).values())).lora_B.weight.data[0, 0] = float("nan")
    lora.save_adapter(model, tmp_path, base="tiny")
    for apply in (lora.merge_adapter_into, lora.add_adapter_on_the_fly):
        target = _tiny_llama()
        before = {k: v.clone() for k, v in target.state_dict().items()}
        with pytest.raises(ModelLoadError, match=r"not numbers \(NaN or inf.* in .*lora_B"):
            apply(target, tmp_path)
        assert all(torch.equal(v, before[k]) for k, v in target.state_dict().items())
