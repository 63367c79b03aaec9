"""The LoRA fine-tuning task itself, without a CLI run: recomputation in backward changes no
gradient, the held-out cap, the lower blocks' cache, one window a step, the higher rate for a
budget under one pass, and the text read in shuffled passes (split from test_lora.py)."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from desktop_app.ml.text import lora
from desktop_app.ml.text.llama import LlamaForCausalLM
from desktop_app.ml.text.tiny import tiny_llama


def _tiny_llama(seed: int = 0) -> LlamaForCausalLM:
    return tiny_llama(seed, kv_heads=2, tie=True)


@pytest.mark.parametrize("bf16", [False, True])
def test_recomputing_the_adapted_blocks_in_backward_changes_no_gradient(bf16):
    """Activation checkpointing (the default, for memory) must give the very loss and adapter
    gradients of a plain backward, under bf16 autocast and with adapter dropout too."""
    import numpy as np

    from desktop_app.ml.text.train_data import TokenWindows
    from desktop_app.ml.training.lora_task import LoRATextTask

    tokens = np.random.default_rng(0).integers(0, 50, 400)
    grads = []
    for recompute in (False, True):
        task = LoRATextTask(Path("tiny"), "tiny", {"num_hidden_layers": 2, "hidden_size": 32},
                            None, TokenWindows(tokens, 24), [], rank=4, alpha=8, bf16=bf16,
                            data_fingerprint="x", sample_prompt="", dropout=0.1,
                            base_model=_tiny_llama(), recompute=recompute)
        torch.manual_seed(3)              # the adapters' init and the dropout masks
        model = task.build_model()
        for m in lora.lora_modules(model).values():   # B = 0 at the start: A gets no gradient
            torch.nn.init.normal_(m.lora_B.weight, std=0.05)
        batch = task.train_batch(torch.Generator().manual_seed(1), 4, 0, 1)
        with torch.autocast("cpu", dtype=torch.bfloat16, enabled=bf16):
            loss = task.loss(model, batch)
        loss.backward()
        grads.append((float(loss.detach()),
                      {n: p.grad.clone() for n, p in model.named_parameters() if p.requires_grad}))
    (plain_loss, plain), (ckpt_loss, ckpt) = grads
    assert ckpt_loss == plain_loss
    assert plain.keys() == ckpt.keys() and len(plain) == 2 * 7 * 2
    for name, g in plain.items():
        assert g.abs().sum() > 0, name
        assert torch.allclose(ckpt[name], g, rtol=1e-5, atol=1e-7), name


def test_a_large_held_out_part_is_scored_from_the_start_of_each_file():
    from desktop_app.commands.train_text_lora import EVAL_MAX_BYTES, scored_held_out
    from desktop_app.ui.train.presets import LORA_EVAL_MAX_BYTES
    assert LORA_EVAL_MAX_BYTES == EVAL_MAX_BYTES     # the room's estimate uses the same cap
    small = ["one line\n", "two lines\nhere\n"]
    assert scored_held_out(small, 1000) == small                 # fits: scored whole
    a = "".join(f"line {i} of a\n" for i in range(200))          # 2,690 bytes
    b = "".join(f"line {i} of b\n" for i in range(100))          # 1,290 bytes
    parts = scored_held_out([a, b], 400)
    assert len(parts) == 2 and a.startswith(parts[0]) and b.startswith(parts[1])
    assert all(p.endswith("\n") for p in parts)                  # whole lines
    assert sum(len(p) for p in parts) <= 400
    assert len(parts[0]) > len(parts[1])                         # in proportion to size


def test_the_lower_blocks_output_is_cached_only_when_there_are_lower_blocks():
    """With adapters on the top blocks, the frozen blocks below run once per window and are
    cached; with adapters on every block the "lower blocks" are the embedding lookup, cheaper
    to redo than to keep (160 kB of German held 290 MB of cached rows). The loss is the same
    either way."""
    import numpy as np

    from desktop_app.ml.text.train_data import TokenWindows
    from desktop_app.ml.training.lora_task import LoRATextTask

    tokens = np.random.default_rng(0).integers(0, 50, 400)
    losses = []
    for layers in (0, 1):                                    # 0: every block
        task = LoRATextTask(Path("tiny"), "tiny", {"num_hidden_layers": 2, "hidden_size": 32},
                            None, TokenWindows(tokens, 24), [], rank=4, alpha=8, bf16=False,
                            data_fingerprint="x", sample_prompt="", lora_layers=layers,
                            base_model=_tiny_llama())
        torch.manual_seed(3)
        model = task.build_model()
        batch = task.train_batch(torch.Generator().manual_seed(1), 4, 0, 1)
        losses.append(float(task.loss(model, batch).detach()))
        assert task._cache_ok == (layers == 1)
        assert len(task._cache) == (len(set(batch[0].tolist())) if layers == 1 else 0)
    # B = 0 at the start: both are the base's loss on the same windows, cached or not
    assert losses[0] == pytest.approx(losses[1], rel=1e-6) and np.isfinite(losses[0])


def test_one_window_a_step_keeps_its_activations_and_more_recompute():
    """The default step (one window of 512) keeps its activations for backward: 2.5 GiB at
    the peak and a fifth faster; a backward over more tokens recomputes the adapted blocks
    (two windows kept took 4.2 GiB, over the issue's 3 GB)."""
    from desktop_app.commands.train_text_lora import (DEFAULT_BATCH, DEFAULT_CONTEXT,
                                                      recomputes)
    assert not recomputes(DEFAULT_BATCH, DEFAULT_CONTEXT)
    assert recomputes(2, 512) and recomputes(1, 1024)
    assert not recomputes(1, 256)


def test_a_budget_under_one_pass_over_the_text_gets_the_higher_rate():
    """Four minutes on 200 kB of German read it less than once (nothing to memorise): 1e-3.
    40 kB is read twice or more: 5e-4. Only when the time budget, not the steps, ends the run.
    The estimate ignores --threads (a resumed run must keep its rate) and scales with the
    base's size."""
    from desktop_app.commands.train_text_lora import (LORA_LR, LORA_LR_UNDER_ONE_PASS,
                                                      REFERENCE_PARAMETERS, budget_passes,
                                                      default_lr, default_steps)
    ref = REFERENCE_PARAMETERS

    def lr(tokens, minutes, bf16=False, parameters=ref, steps=None):
        steps = steps or default_steps(tokens, 512)
        return default_lr(budget_passes(tokens, steps, 512, minutes, bf16, parameters))

    assert lr(12_729, 4) == LORA_LR                       # German 40 kB: 1.1 passes on 1 thread
    assert lr(64_000, 4) == LORA_LR_UNDER_ONE_PASS        # German 200 kB: 0.23
    assert lr(64_000, 4, bf16=True) == LORA_LR_UNDER_ONE_PASS      # 0.7 on an AMX Xeon
    assert lr(64_000, 15, bf16=True) == LORA_LR           # the room's 15 minutes: 2.7
    assert lr(12_729, 4, parameters=4 * ref) == LORA_LR_UNDER_ONE_PASS   # a base 4x the size
    assert lr(64_000, None) == LORA_LR                    # no budget: the steps end it
    assert lr(64_000, 4, steps=10) == LORA_LR             # 10 steps end it before 4 minutes
    assert budget_passes(10_000, 100, 512, 1, False, ref) == pytest.approx(
        60 * 0.75 * 80.9 / 10_000)
    assert budget_passes(10_000, 5, 512, 1, False, ref) is None


def test_with_adapters_on_every_block_the_text_is_read_in_shuffled_passes():
    """No cache, so no fixed windows: each pass reads its windows once each, without overlap,
    in a shuffled order from its own phase; the same step always reads the same windows (a
    resumed run), and the parts of a step (gradient accumulation) are its whole batch."""
    from types import SimpleNamespace

    import numpy as np

    from desktop_app.ml.text.train_data import TokenWindows
    from desktop_app.ml.training.lora_task import LoRATextTask

    tokens = np.arange(1000) % 50
    context = 24
    tokenizer = SimpleNamespace(tok=SimpleNamespace(to_str=lambda: "a tokenizer"))

    def task(layers=0):
        return LoRATextTask(Path("tiny"), "tiny", {"num_hidden_layers": 2, "hidden_size": 32},
                            tokenizer, TokenWindows(tokens, context), [], rank=4, alpha=8,
                            bf16=False, data_fingerprint="x", sample_prompt="",
                            lora_layers=layers)

    t = task()
    assert t.in_passes and t.per_pass == 999 // context - 1 == 40
    assert t.identity()["windows"] == "passes-shuffled-phase"
    batch = 4
    starts = [int(s) for step in range(30) for s in t.train_batch_at(step, 7, batch, 0, 1)[0]]
    passes = [starts[i:i + t.per_pass] for i in range(0, 3 * t.per_pass, t.per_pass)]
    for one in passes:
        phase = min(one)
        assert sorted(one) == [phase + k * context for k in range(t.per_pass)]   # no overlap
        assert max(one) + context + 1 <= len(tokens)                           # inside
    assert len({min(p) for p in passes}) > 1 or passes[0] != passes[1]   # passes differ
    assert passes[0] != sorted(passes[0])                                 # shuffled
    again = task()      # a resumed run: the same windows at the same step, and x/y shifted
    idx, x, y = again.train_batch_at(17, 7, batch, 0, 1)
    assert idx.tolist() == starts[17 * batch:18 * batch]
    assert torch.equal(x[:, 1:], y[:, :-1]) and x[0, 0].item() == tokens[idx[0]]
    halves = [again.train_batch_at(17, 7, batch, part, 2)[0].tolist() for part in (0, 1)]
    assert halves[0] + halves[1] == idx.tolist()
    cached = task(layers=1)    # the top block only: fixed windows, whose outputs are cached
    assert not cached.in_passes and cached.identity()["windows"] == "fixed-half-overlap"
