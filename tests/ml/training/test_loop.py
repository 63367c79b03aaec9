"""The shared training loop: learning, events, schedule, checkpoints, resume, stop, disk full."""

from __future__ import annotations

import errno
import json

import pytest
import torch

from desktop_app.core.errors import ReverieError, UsageError
from desktop_app.ml.training import state
from desktop_app.ml.training.loop import TrainConfig, evaluate, train
from desktop_app.ml.training.schedule import warmup_cosine


def _cfg(**kw) -> TrainConfig:
    base = dict(steps=12, batch_size=4, lr=3e-3, min_lr=3e-4, warmup_steps=2, eval_every=6,
                checkpoint_every=4, log_every=1, seed=7, device="cpu")
    base.update(kw)
    return TrainConfig(**base)


def test_schedule_warmup_then_cosine_to_floor():
    lrs = [warmup_cosine(s, max_lr=1.0, min_lr=0.1, warmup=10, total=110) for s in range(111)]
    assert lrs[0] == pytest.approx(0.1) and lrs[9] == pytest.approx(1.0)
    assert lrs[10] == pytest.approx(1.0)
    assert lrs[60] == pytest.approx(0.55)   # half-way through the cosine: the mean of max and min
    assert lrs[110] == pytest.approx(0.1)
    assert all(a >= b for a, b in zip(lrs[10:], lrs[11:]))


def test_loss_goes_down_and_events_flow(tiny_task, tmp_path):
    events = []
    before = evaluate(tiny_task, _fresh_model(tiny_task), "cpu")
    res = train(tiny_task, _cfg(steps=40, eval_every=20, sample_every=20, checkpoint_every=20),
                tmp_path / "run", callbacks=[events.append])
    kinds = [e.kind for e in events]
    assert kinds[0] == "start" and kinds[-1] == "done"
    assert {"step", "eval", "sample", "checkpoint"} <= set(kinds)
    steps = [e for e in events if e.kind == "step"]
    assert all(e.tokens_per_s > 0 and e.lr > 0 and e.eta_s >= 0 for e in steps)
    json.dumps([e.to_json() for e in events])  # every event is JSON-serialisable
    assert res.val_losses[-1][1] < before - 1.0, (before, res.val_losses)
    assert sum(res.losses[-5:]) / 5 < sum(res.losses[:5]) / 5 - 1.0
    assert (tmp_path / "run" / "model.safetensors").is_file()
    assert state.latest_step(tmp_path / "run") == 40


def _fresh_model(task):
    torch.manual_seed(7)
    return task.build_model()


class _StopAt:
    def __init__(self, step: int) -> None:
        self.step, self.cancelled = step, False

    def __call__(self, ev) -> None:
        if ev.kind == "step" and ev.step >= self.step:
            self.cancelled = True


def test_interrupted_then_resumed_run_matches_uninterrupted(tiny_task, tmp_path):
    full = train(tiny_task, _cfg(), tmp_path / "a", export=False)
    stopper = _StopAt(5)
    first = train(tiny_task, _cfg(), tmp_path / "b", callbacks=[stopper], stop=stopper,
                  export=False)
    assert first.stopped and first.step == 6 and state.latest_step(tmp_path / "b") == 6
    second = train(tiny_task, _cfg(), tmp_path / "b", resume=True, export=False)
    assert second.step == 12 and not second.stopped
    resumed = first.losses + second.losses
    assert resumed == pytest.approx(full.losses, abs=1e-6, rel=0)
    assert second.val_losses[-1][1] == pytest.approx(full.val_losses[-1][1], abs=1e-6)


def test_existing_run_needs_resume_and_same_configuration(tiny_task, tmp_path):
    train(tiny_task, _cfg(steps=4), tmp_path / "run", export=False)
    with pytest.raises(UsageError, match="--resume"):
        train(tiny_task, _cfg(steps=4), tmp_path / "run", export=False)
    with pytest.raises(ReverieError, match="different configuration.*lr"):
        train(tiny_task, _cfg(steps=8, lr=1e-2), tmp_path / "run", resume=True, export=False)
    # a longer run with the same settings extends it
    res = train(tiny_task, _cfg(steps=6), tmp_path / "run", resume=True, export=False)
    assert res.step == 6 and len(res.losses) == 2


def test_disk_full_during_checkpoint_keeps_previous(tiny_task, tmp_path, monkeypatch):
    run = tmp_path / "run"
    train(tiny_task, _cfg(steps=4), run, export=False)
    before = (run / "checkpoints" / "step-00000004" / "model.safetensors").read_bytes()

    from desktop_app.ml import checkpoints as ck
    real = ck.save_file

    def full_disk(tensors, filename, metadata=None):
        real(tensors, filename, metadata=metadata)
        if "optimizer" in str(filename):
            raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(ck, "save_file", full_disk)
    with pytest.raises(ReverieError, match="No space left.*previous checkpoint"):
        train(tiny_task, _cfg(steps=8), run, resume=True, export=False)
    assert state.latest_step(run) == 4
    assert (run / "checkpoints" / "step-00000004" / "model.safetensors").read_bytes() == before
    assert not list((run / "checkpoints").glob(".tmp-*"))
    monkeypatch.setattr(ck, "save_file", real)
    assert train(tiny_task, _cfg(steps=8), run, resume=True, export=False).step == 8


def test_keeps_only_recent_checkpoints(tiny_task, tmp_path):
    train(tiny_task, _cfg(steps=12, checkpoint_every=2, keep_checkpoints=2), tmp_path / "r",
          export=False)
    names = sorted(p.name for p in (tmp_path / "r" / "checkpoints").glob("step-*"))
    assert names == ["step-00000010", "step-00000012"]


def test_grad_accumulation_matches_full_batch(tiny_task, tmp_path):
    one = train(tiny_task, _cfg(steps=4, batch_size=4), tmp_path / "a", export=False)
    acc = train(tiny_task, _cfg(steps=4, batch_size=4, grad_accum=2), tmp_path / "b",
                export=False)
    assert acc.losses == pytest.approx(one.losses, abs=1e-5)


def test_bf16_autocast_runs_and_learns(tiny_task, tmp_path):
    res = train(tiny_task, _cfg(steps=8, bf16=True, eval_every=0), tmp_path / "bf16",
                export=False)
    assert all(torch.isfinite(torch.tensor(res.losses)))
    assert res.losses[-1] < res.losses[0]


class _Crash(Exception):
    pass


def test_hard_kill_then_resume_from_last_periodic_checkpoint(tiny_task, tmp_path):
    """A crash (no stop, no final save) loses only the steps after the last checkpoint."""
    full = train(tiny_task, _cfg(), tmp_path / "a", export=False)

    def crash(ev):
        if ev.kind == "step" and ev.step == 7:
            raise _Crash()

    with pytest.raises(_Crash):
        train(tiny_task, _cfg(), tmp_path / "b", callbacks=[crash], export=False)
    assert state.latest_step(tmp_path / "b") == 4
    again = train(tiny_task, _cfg(), tmp_path / "b", resume=True, export=False)
    assert again.losses == pytest.approx(full.losses[4:], abs=1e-6, rel=0)


def test_the_step_rate_leaves_out_evaluations_and_samples(tiny_task, tmp_path, monkeypatch):
    """The Train room's throughput chart and the run's thread choice read this rate: with a
    sample every step it read a third of the training rate. On a clock where a step takes 1 s
    and an evaluation or a sample 100 s, every step reports its units per second."""
    from desktop_app.ml.training import loop
    clock = [0.0]
    monkeypatch.setattr(loop.time, "perf_counter", lambda: clock[0])
    real_loss, real_eval, real_sample = (type(tiny_task).loss, loop._eval_now,
                                         loop._sample_now)

    def loss(self, model, batch):
        clock[0] += 1.0
        return real_loss(self, model, batch)

    def slow(real):
        def run(*args, **kw):
            clock[0] += 100.0
            return real(*args, **kw)
        return run

    monkeypatch.setattr(type(tiny_task), "loss", loss)
    monkeypatch.setattr(loop, "_eval_now", slow(real_eval))
    monkeypatch.setattr(loop, "_sample_now", slow(real_sample))
    events = []
    train(tiny_task, _cfg(steps=6, eval_every=1, sample_every=1, checkpoint_every=2),
          tmp_path / "run", callbacks=[events.append])
    steps = [e for e in events if e.kind == "step"]
    per_step = tiny_task.batch_units(tiny_task.train_batch(torch.Generator(), 4, 0, 1))
    assert len(steps) == 6 and sum(1 for e in events if e.kind == "eval") >= 6
    assert [e.tokens_per_s for e in steps] == pytest.approx([per_step] * 6)


def test_costly_evaluations_take_at_most_their_share_of_a_time_budget(tiny_task, tmp_path,
                                                                     monkeypatch):
    """On a laptop CPU a LoRA run's held-out evaluation took 20 s against 9 s a step, and
    with one due every few steps the evaluations ate a third of a four-minute budget. With
    ``eval_share`` each evaluation waits for its cost x (1 - share) / share of training: on a
    clock where a step takes 1 s and an evaluation 10 s, a 100 s budget at a share of a
    quarter evaluates at the start, once after 30 s of training and at the end, where every
    step would otherwise evaluate. The one due after 60 s of training is left out too: it
    would leave 20 s of training before the closing evaluation, which then only repeats it."""
    from desktop_app.ml.training import loop
    clock = [0.0]
    monkeypatch.setattr(loop.time, "perf_counter", lambda: clock[0])
    real_loss, real_eval = type(tiny_task).loss, loop.evaluate_full

    def loss(self, model, batch):
        clock[0] += 1.0 if torch.is_grad_enabled() else 0.0   # evaluations score with it too
        return real_loss(self, model, batch)

    def evaluate(*args, **kw):
        clock[0] += 10.0
        return real_eval(*args, **kw)

    monkeypatch.setattr(type(tiny_task), "loss", loss)
    monkeypatch.setattr(loop, "evaluate_full", evaluate)
    cfg = dict(steps=200, eval_every=1, eval_at_start=True, max_seconds=100.0)
    shared = train(tiny_task, _cfg(**cfg, eval_share=0.25), tmp_path / "shared", export=False)
    assert [s for s, _ in shared.val_losses] == [0, 30, 90]
    assert shared.ended_early == "time"
    clock[0] = 0.0
    every = train(tiny_task, _cfg(**cfg), tmp_path / "every", export=False)
    assert [s for s, _ in every.val_losses] == list(range(every.step + 1))
    assert every.step <= 10 and shared.step >= 90
