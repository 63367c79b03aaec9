"""The one training loop shared by text, image and music models, driven by callbacks.

API (read this before writing a new medium):

  A medium implements :class:`TrainTask`:
    identity() -> dict                 JSON-able description that must match for ``resume``
    build_model() -> nn.Module         fresh model (same seed -> same weights)
    train_batch(gen, batch_size, part, nparts) -> batch
                                       rows ``part/nparts`` of the global batch drawn with the
                                       torch.Generator ``gen`` (seeded from seed and step, so a
                                       resumed or distributed run sees the very same data)
    train_batch_at(step, seed, batch_size, part, nparts) -> batch
                                       optional, used instead when present: the batch of step
                                       ``step`` itself (a task that reads its data in epochs,
                                       each window once a pass, needs to know where it is)
    loss(model, batch) -> Tensor       scalar mean loss of that batch slice
    batch_units(batch) -> int          tokens / images / notes in the slice (for rates)
    eval_batches() -> Iterable[batch]  fixed held-out batches (the same every evaluation)
    held_out(model) -> (loss, bpb)     optional: replaces the mean over eval_batches with the
                                       task's own held-out measure (loss per token, bits/byte)
    sample(model, step) -> str | None  a short human-readable sample, or None
    export(model, out_dir) -> None     write the finished model folder (rank 0 only)

  Then: ``train(task, TrainConfig(...), out_dir, callbacks=[fn, ...], stop=token,
  resume=True)``. Every callback receives each :class:`TrainEvent` (kind "start", "step",
  "eval", "sample", "checkpoint", "stopped", "done"); the CLI prints them (text or one JSON
  object per line) and the Train room plots the JSON lines it reads from the CLI.
  ``stop`` is anything with a ``cancelled`` property (``desktop_app.core.jobs.CancelToken``):
  when set, the loop saves a checkpoint, exports, emits "stopped" and returns.

What the loop does: AdamW (no decay on norms/biases), warm-up + cosine learning rate, gradient
clipping, optional bf16 autocast, gradient accumulation, evaluation every N steps, atomic
checkpoints (see :mod:`desktop_app.ml.training.state`), and DistributedDataParallel when run
under ``torchrun`` (see :mod:`desktop_app.ml.training.ddp`). Runs on the caller's thread.
"""

from __future__ import annotations

import contextlib
import math
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterable, Protocol

import torch
from torch import nn

from desktop_app.ml.training import ddp, state
from desktop_app.ml.training.schedule import warmup_cosine


class TrainTask(Protocol):
    def identity(self) -> dict: ...
    def build_model(self) -> nn.Module: ...
    def train_batch(self, gen: torch.Generator, batch_size: int, part: int, nparts: int) -> Any: ...
    def loss(self, model: nn.Module, batch: Any) -> torch.Tensor: ...
    def batch_units(self, batch: Any) -> int: ...
    def eval_batches(self) -> Iterable[Any]: ...
    def sample(self, model: nn.Module, step: int) -> str | None: ...
    def export(self, model: nn.Module, out_dir: Path) -> None: ...


@dataclass
class TrainConfig:
    steps: int = 1000
    batch_size: int = 16           # global: sequences (images, ...) per optimizer step
    grad_accum: int = 1            # micro-batches per optimizer step on each process
    lr: float = 1e-3
    min_lr: float = 1e-4
    warmup_steps: int = 100
    weight_decay: float = 0.1
    beta1: float = 0.9
    beta2: float = 0.95
    grad_clip: float = 1.0         # 0 disables clipping
    eval_every: int = 200          # 0 disables periodic evaluation (the final one still runs)
    eval_every_s: float = 0.0      # also evaluate after this much training time (0: off)
    eval_share: float = 0.0        # with a time budget, evaluations take at most this share of
                                   # the time: each waits for the last one's cost x (1 - share)
                                   # / share of training (0: off)
    sample_every: int = 0
    checkpoint_every: int = 200
    log_every: int = 10
    seed: int = 1337
    bf16: bool = False
    keep_checkpoints: int = 2
    device: str | None = None      # None: cuda when available, else cpu
    eval_at_start: bool = False    # evaluate (and sample) before the first step of a fresh run
    patience: int = 0              # stop after this many evaluations without improvement (0: off)
    max_seconds: float = 0.0       # time budget including earlier sessions (0: none); ends
                                   # the run early with a checkpoint and the exported model

    def identity(self) -> dict:
        """Settings that change the run's maths (a resume must use the same ones)."""
        keys = ("batch_size", "grad_accum", "lr", "min_lr", "warmup_steps", "weight_decay",
                "beta1", "beta2", "grad_clip", "seed", "bf16")
        return {k: getattr(self, k) for k in keys}


@dataclass(frozen=True)
class TrainEvent:
    kind: str                      # start | step | eval | sample | checkpoint | stopped | done
    step: int                      # optimizer steps completed
    total_steps: int
    loss: float | None = None      # mean training loss over the last logging window
    val_loss: float | None = None
    lr: float | None = None
    tokens_per_s: float | None = None   # units (tokens, images, ...) per second
    eta_s: float | None = None
    elapsed_s: float | None = None
    sample: str | None = None
    checkpoint: str | None = None
    message: str | None = None
    bits_per_byte: float | None = None  # held-out, for tasks that measure it (``held_out``)
    ended: str | None = None       # on "done": "time" | "patience" when it ended before its steps

    def to_json(self) -> dict:
        return {k: v for k, v in asdict(self).items() if v is not None}


Callback = Callable[[TrainEvent], None]


@dataclass
class TrainResult:
    step: int
    stopped: bool
    losses: list[float] = field(default_factory=list)     # per optimizer step, this process
    val_losses: list[tuple[int, float]] = field(default_factory=list)
    seconds: float = 0.0
    bits_per_byte: list[tuple[int, float]] = field(default_factory=list)  # held_out tasks
    ended_early: str = ""          # "patience" | "time" when the run ended before cfg.steps


def step_generator(seed: int, step: int) -> torch.Generator:
    """The data generator for one optimizer step: a pure function of (seed, step)."""
    return torch.Generator().manual_seed((seed * 1_000_003 + step * 7919) % (2**63 - 1))


def make_optimizer(model: nn.Module, cfg: TrainConfig) -> torch.optim.AdamW:
    decay, no_decay = [], []
    for _, p in model.named_parameters():
        if p.requires_grad:
            (decay if p.dim() >= 2 else no_decay).append(p)
    groups = [{"params": decay, "weight_decay": cfg.weight_decay},
              {"params": no_decay, "weight_decay": 0.0}]
    return torch.optim.AdamW(groups, lr=cfg.lr, betas=(cfg.beta1, cfg.beta2))


@torch.no_grad()
def evaluate(task: TrainTask, model: nn.Module, device: str, bf16: bool = False) -> float:
    """Mean of ``task.loss`` over the task's fixed held-out batches."""
    return evaluate_full(task, model, device, bf16)[0]


@torch.no_grad()
def evaluate_full(task: TrainTask, model: nn.Module, device: str, bf16: bool = False
                  ) -> tuple[float, float | None]:
    """(held-out loss, bits per byte or None): the task's ``held_out`` when it has one."""
    was_training = model.training
    model.eval()
    try:
        if hasattr(task, "held_out"):
            with _autocast(device, bf16):
                loss, bpb = task.held_out(model)
            return float(loss), float(bpb)
        total, n = 0.0, 0
        for batch in task.eval_batches():
            with _autocast(device, bf16):
                total += float(task.loss(model, _to(batch, device)).float())
            n += 1
        return total / max(n, 1), None
    finally:
        model.train(was_training)


def _autocast(device: str, bf16: bool):
    if not bf16:
        return contextlib.nullcontext()
    return torch.autocast(device_type=device.split(":")[0], dtype=torch.bfloat16)


def _to(batch: Any, device: str) -> Any:
    if isinstance(batch, torch.Tensor):
        return batch.to(device, non_blocking=True)
    if isinstance(batch, (tuple, list)):
        return type(batch)(_to(b, device) for b in batch)
    if isinstance(batch, dict):
        return {k: _to(v, device) for k, v in batch.items()}
    return batch


def train(task: TrainTask, cfg: TrainConfig, out_dir: str | Path, *,
          callbacks: Iterable[Callback] = (), stop: Any = None, resume: bool = False,
          export: bool = True) -> TrainResult:
    """Train ``task`` for ``cfg.steps`` optimizer steps, writing checkpoints into ``out_dir``."""
    out_dir = Path(out_dir)
    info = ddp.setup(cfg.device)
    callbacks = list(callbacks) if info.is_main else []

    def emit(ev: TrainEvent) -> None:
        for cb in callbacks:
            cb(ev)

    try:
        return _run(task, cfg, out_dir, info, emit, stop, resume, export)
    finally:
        ddp.teardown(info)


def _prepare(task: TrainTask, cfg: TrainConfig, out_dir: Path, info: ddp.DistInfo,
             resume: bool) -> tuple[nn.Module, nn.Module, torch.optim.Optimizer, int, float]:
    """Build model + optimizer, check the run folder, load the newest checkpoint if resuming."""
    torch.manual_seed(cfg.seed)
    raw = task.build_model().to(info.device)
    opt = make_optimizer(raw, cfg)
    identity = {"task": task.identity(), "train": cfg.identity()}
    start_step = state.prepare_run(out_dir, identity, resume=resume) if info.is_main else 0
    start_step = ddp.broadcast_int(start_step, info)
    prior_seconds = 0.0
    if start_step > 0:
        state.load_checkpoint(out_dir, raw, opt, info.device)
        prior_seconds = float(state.read_state(out_dir).get("train_seconds", 0.0))
    model = raw
    if info.enabled:
        from torch.nn.parallel import DistributedDataParallel as DDP
        model = DDP(raw, device_ids=[info.local_rank] if info.device.startswith("cuda") else None)
    return model, raw, opt, start_step, prior_seconds


def _run(task: TrainTask, cfg: TrainConfig, out_dir: Path, info: ddp.DistInfo,
         emit: Callback, stop: Any, resume: bool, export: bool) -> TrainResult:
    model, raw, opt, step, prior_seconds = _prepare(task, cfg, out_dir, info, resume)
    device = info.device
    result = TrainResult(step=step, stopped=False)
    nparams = sum(p.numel() for p in raw.parameters())
    ntrain = sum(p.numel() for p in raw.parameters() if p.requires_grad)
    origin = getattr(task, "origin", None) or "starting from scratch"
    emit(TrainEvent("start", step, cfg.steps, message=(
        f"{nparams:,} parameters"
        + (f" ({ntrain:,} trained)" if ntrain < nparams else "")
        + f" on {device} x{info.world}; "
        + (f"resuming at step {step}" if step else origin))))
    t0 = win_t = time.perf_counter()
    win_units, win_loss, win_n, rate = 0, 0.0, 0, None
    eval_cost = 0.0  # seconds the last evaluation took
    if step == 0 and cfg.eval_at_start and info.is_main:
        eval_cost = _eval_now(task, raw, cfg, step, device, emit, result)
        _sample_now(task, raw, step, cfg.steps, emit)
        t0 = win_t = time.perf_counter()  # the budget and rates count training only
    model.train()
    step_s, train_s, session_steps, last_eval_s = 0.0, 0.0, 0, 0.0
    while step < cfg.steps:
        # with a time budget the schedule follows whichever ends first, steps or time (a
        # run sized for more steps than the budget holds still decays its learning rate)
        sched = step
        if cfg.max_seconds > 0:
            frac = (prior_seconds + time.perf_counter() - t0) / cfg.max_seconds
            sched = max(step, min(cfg.steps, int(frac * cfg.steps)))
        lr = warmup_cosine(sched, max_lr=cfg.lr, min_lr=cfg.min_lr,
                           warmup=cfg.warmup_steps, total=cfg.steps)
        for g in opt.param_groups:
            g["lr"] = lr
        t_step = time.perf_counter()
        loss_value, units = _one_step(task, model, opt, cfg, info, step)
        step_s = time.perf_counter() - t_step
        train_s, session_steps = train_s + step_s, session_steps + 1
        step += 1
        result.losses.append(loss_value)
        win_loss, win_n, win_units = win_loss + loss_value, win_n + 1, win_units + units
        stopping = ddp.any_across(bool(stop is not None and stop.cancelled), info)
        spent = prior_seconds + time.perf_counter() - t0
        # the budget: stop when one more step would overrun it (the last step's time)
        if cfg.max_seconds > 0 and spent + step_s > cfg.max_seconds and step < cfg.steps:
            result.ended_early = "time"
        if step % max(cfg.log_every, 1) == 0 or step == cfg.steps or stopping \
                or result.ended_early:
            now = time.perf_counter()
            rate = win_units * info.world / max(now - win_t, 1e-9)
            # from the mean step time of this session, evaluations and checkpoints left out
            # (a window that held an evaluation made a 7-minute run say "37 min left")
            eta = train_s / max(session_steps, 1) * (cfg.steps - step)
            if cfg.max_seconds > 0:
                eta = min(eta, max(0.0, cfg.max_seconds - spent))
            emit(TrainEvent("step", step, cfg.steps, loss=win_loss / max(win_n, 1), lr=lr,
                            tokens_per_s=rate, eta_s=0.0 if result.ended_early else eta,
                            elapsed_s=now - t0))
            win_t, win_units, win_loss, win_n = now, 0, 0.0, 0
        t_aside = time.perf_counter()
        if info.is_main:
            # every eval_every steps, and (with a time budget) after eval_every_s of training:
            # one evaluation when both fall on the same step
            gap = train_s - last_eval_s
            timed = cfg.eval_every_s > 0 and gap >= cfg.eval_every_s \
                and step < cfg.steps and not result.ended_early
            # ... but within a budget, evaluations that cost much (a large held-out text on a
            # slow CPU: 20 s each against 9 s a step) are spaced so that they do not eat the
            # steps: at most eval_share of the time (the run always ends with one)
            # ... and the run's closing evaluation counts as the next one: an evaluation that
            # would leave less than that spacing of training before the budget's end only
            # repeats the closing one a few steps early (German 200 kB in four minutes on an
            # AVX2 laptop: evaluations at steps 47 and 52, 25 s each; without the one at 47,
            # 63-68 steps instead of 52, and -10.6 to -11.0 % held out instead of -10.0 %)
            spacing = eval_cost * (1 - cfg.eval_share) / max(cfg.eval_share, 1e-9)
            spaced = cfg.max_seconds <= 0 or cfg.eval_share <= 0 or (
                gap >= spacing and cfg.max_seconds - spent - eval_cost >= spacing)
            if (timed or (cfg.eval_every > 0 and step % cfg.eval_every == 0)) and spaced:
                last_eval_s = train_s
                eval_cost = _eval_now(task, raw, cfg, step, device, emit, result)
            _periodic(task, raw, cfg, step, emit)
            if cfg.patience > 0 and _no_progress(result.val_losses, cfg.patience):
                result.ended_early = result.ended_early or "patience"
        result.ended_early = _agree(result.ended_early, info)
        ending = bool(result.ended_early)
        due = cfg.checkpoint_every > 0 and step % cfg.checkpoint_every == 0
        if info.is_main and (stopping or due or step == cfg.steps or ending):
            spent = prior_seconds + time.perf_counter() - t0
            path = state.save_checkpoint(out_dir, raw, opt, step, cfg.keep_checkpoints,
                                         extra={"train_seconds": round(spent, 1)})
            emit(TrainEvent("checkpoint", step, cfg.steps, checkpoint=str(path)))
        # the rate is of training: evaluations, samples and checkpoints are left out of the
        # window (with a sample every step the room's chart read 60 tokens/s for 200)
        win_t += time.perf_counter() - t_aside
        if stopping:
            result.stopped = True
            break
        if ending:
            break
    result.step, result.seconds = step, time.perf_counter() - t0
    if info.is_main and not result.stopped and (not result.val_losses
                                                or result.val_losses[-1][0] != step):
        _eval_now(task, raw, cfg, step, device, emit, result)
    sampled_step = step
    if info.is_main and not result.stopped and hasattr(task, "restore_best"):
        best = task.restore_best(raw)  # the sample and the export are of the best evaluation
        if best is not None:  # ... so the sample carries that evaluation's step
            sampled_step = next((s for s, b in reversed(result.bits_per_byte) if b == best),
                                step)
    if info.is_main and not result.stopped and cfg.eval_at_start:
        _sample_now(task, raw, sampled_step, cfg.steps, emit)  # the "after" of a before/after
    if info.is_main and export:
        task.export(raw, out_dir)
    why = {"time": f"the time budget ended the run at step {step}; ",
           "patience": f"held-out loss stopped improving, so the run ended at step {step}; ",
           "": ""}[result.ended_early]
    emit(TrainEvent("stopped" if result.stopped else "done", step, cfg.steps,
                    elapsed_s=result.seconds, tokens_per_s=rate,
                    val_loss=result.val_losses[-1][1] if result.val_losses else None,
                    bits_per_byte=result.bits_per_byte[-1][1] if result.bits_per_byte else None,
                    message=(why + f"model written to {out_dir}") if export else why or None,
                    ended=result.ended_early or None))
    if info.enabled:
        torch.distributed.barrier()
    return result


def _one_step(task: TrainTask, model: nn.Module, opt: torch.optim.Optimizer, cfg: TrainConfig,
              info: ddp.DistInfo, step: int) -> tuple[float, int]:
    """One optimizer step over this process's micro-batches; returns (global mean loss, units)."""
    gen = step_generator(cfg.seed, step)
    nparts = info.world * cfg.grad_accum
    opt.zero_grad(set_to_none=True)
    total, units = 0.0, 0
    for micro in range(cfg.grad_accum):
        part = info.rank * cfg.grad_accum + micro
        at = getattr(task, "train_batch_at", None)
        batch = (at(step, cfg.seed, cfg.batch_size, part, nparts) if at is not None
                 else task.train_batch(_copy_gen(gen), cfg.batch_size, part, nparts))
        units += task.batch_units(batch)
        batch = _to(batch, info.device)
        sync = micro == cfg.grad_accum - 1 or not info.enabled
        ctx = contextlib.nullcontext() if sync else model.no_sync()
        with ctx:
            with _autocast(info.device, cfg.bf16):
                loss = task.loss(model, batch)
            (loss / cfg.grad_accum).backward()
        total += float(loss.detach().float()) / cfg.grad_accum
    if cfg.grad_clip > 0:
        torch.nn.utils.clip_grad_norm_(model.parameters(), cfg.grad_clip)
    opt.step()
    total = ddp.mean_across(total, info)
    if not math.isfinite(total):
        from desktop_app.core.errors import ReverieError
        raise ReverieError(f"training diverged at step {step + 1} (loss is {total}); "
                           f"lower the learning rate and start again")
    return total, units


def _copy_gen(gen: torch.Generator) -> torch.Generator:
    """Each micro-batch redraws the same global batch with a fresh copy of the step's generator."""
    g = torch.Generator()
    g.set_state(gen.get_state())
    return g


def _no_progress(val_losses: list[tuple[int, float]], patience: int) -> bool:
    """True when none of the last ``patience`` evaluations beat the best one before them."""
    if len(val_losses) <= patience:
        return False
    best_before = min(v for _, v in val_losses[:-patience])
    return all(v >= best_before for _, v in val_losses[-patience:])


def _agree(reason: str, info: ddp.DistInfo) -> str:
    """Every process ends together (rank 0 decides about patience; time is per process)."""
    if not info.enabled:
        return reason
    code = ddp.broadcast_int({"": 0, "time": 1, "patience": 2}[reason], info)
    return ["", "time", "patience"][code]


def _eval_now(task: TrainTask, raw: nn.Module, cfg: TrainConfig, step: int, device: str,
              emit: Callback, result: TrainResult) -> float:
    """Evaluate, record and report; returns the seconds it took."""
    t = time.perf_counter()
    val, bpb = evaluate_full(task, raw, device, cfg.bf16)
    result.val_losses.append((step, val))
    if bpb is not None:
        result.bits_per_byte.append((step, bpb))
    emit(TrainEvent("eval", step, cfg.steps, val_loss=val, bits_per_byte=bpb))
    return time.perf_counter() - t


def _sample_now(task: TrainTask, raw: nn.Module, step: int, total: int, emit: Callback
                ) -> None:
    was = raw.training
    raw.eval()
    with torch.no_grad():
        text = task.sample(raw, step)
    raw.train(was)
    if text:
        emit(TrainEvent("sample", step, total, sample=text))


def _periodic(task: TrainTask, raw: nn.Module, cfg: TrainConfig, step: int, emit: Callback
              ) -> None:
    if cfg.sample_every > 0 and step % cfg.sample_every == 0:
        _sample_now(task, raw, step, cfg.steps, emit)
