"""Distributed data parallel set-up that needs no code changes from the user.

Under ``torchrun`` (which sets RANK, WORLD_SIZE, LOCAL_RANK, MASTER_ADDR, MASTER_PORT) the
training loop joins the process group — ``nccl`` when CUDA is available, ``gloo`` on CPU — and
wraps the model in ``DistributedDataParallel``. Without those variables it is one process.

Only rank 0 writes files and emits events; every rank computes its slice of the global batch
(the task picks rows ``part/nparts`` of it), so the loss curve equals a single process's with
the same global batch (gradients are averaged by DDP's all-reduce).
"""

from __future__ import annotations

import os
from dataclasses import dataclass

import torch
import torch.distributed as dist


@dataclass(frozen=True)
class DistInfo:
    rank: int = 0
    world: int = 1
    local_rank: int = 0
    device: str = "cpu"

    @property
    def is_main(self) -> bool:
        return self.rank == 0

    @property
    def enabled(self) -> bool:
        return self.world > 1


def default_device() -> str:
    return "cuda" if torch.cuda.is_available() else "cpu"


def setup(device: str | None = None) -> DistInfo:
    """Join the torchrun process group if the environment asks for one; else one process."""
    world = int(os.environ.get("WORLD_SIZE", "1"))
    device = device or default_device()
    if world <= 1:
        return DistInfo(device=device)
    rank = int(os.environ["RANK"])
    local_rank = int(os.environ.get("LOCAL_RANK", rank))
    if device.startswith("cuda"):
        torch.cuda.set_device(local_rank)
        device = f"cuda:{local_rank}"
    if not dist.is_initialized():
        dist.init_process_group(backend="nccl" if device.startswith("cuda") else "gloo")
    global _joined
    _joined = True
    return DistInfo(rank=rank, world=world, local_rank=local_rank, device=device)


_joined = False   # this process has been part of a torchrun process group


def joined_a_group() -> bool:
    """Whether :func:`setup` joined a process group in this process (the command line then
    ends with ``os._exit``: see ``cli.main``)."""
    return _joined


def teardown(info: DistInfo) -> None:
    if info.enabled and dist.is_initialized():
        dist.destroy_process_group()


def mean_across(value: float, info: DistInfo) -> float:
    """Average a Python float across ranks (identity for one process)."""
    if not info.enabled:
        return value
    t = torch.tensor([value], dtype=torch.float64)
    if info.device.startswith("cuda"):
        t = t.to(info.device)
    dist.all_reduce(t, op=dist.ReduceOp.SUM)
    return float(t.item()) / info.world


def any_across(flag: bool, info: DistInfo) -> bool:
    """True on every rank if ``flag`` is true on any rank (used for a coordinated stop)."""
    if not info.enabled:
        return flag
    t = torch.tensor([1.0 if flag else 0.0])
    if info.device.startswith("cuda"):
        t = t.to(info.device)
    dist.all_reduce(t, op=dist.ReduceOp.MAX)
    return bool(t.item() > 0)


def broadcast_int(value: int, info: DistInfo) -> int:
    """Rank 0's ``value`` on every rank."""
    if not info.enabled:
        return value
    t = torch.tensor([value], dtype=torch.int64)
    if info.device.startswith("cuda"):
        t = t.to(info.device)
    dist.broadcast(t, src=0)
    return int(t.item())
