"""Training checkpoints on disk: atomic, pickle-free, and checked before a resume.

Layout of a run folder ``OUT``::

    OUT/run.json                         what the run is (task + optimiser settings); a resume
                                         with different settings is refused with a clear error
    OUT/checkpoints/latest.json          {"step": N, "dir": "step-000000N0"} (atomic pointer)
    OUT/checkpoints/step-000000N0/
        model.safetensors                model weights (fp32)
        optimizer.safetensors            AdamW moments per parameter + torch RNG state
        state.json                       step, optimiser param groups, scalar state

A checkpoint is written into a temporary folder, renamed into place, and only then does
``latest.json`` move to it, so a crash or a full disk at any moment leaves the previous
checkpoint usable. Older checkpoints are pruned after the pointer has moved.
"""

from __future__ import annotations

import json
import shutil
import time
from pathlib import Path

import torch
from torch import nn

from desktop_app.core.errors import ReverieError, UsageError
from desktop_app.ml import checkpoints as ck

FORMAT = 1


def _ckpt_root(out_dir: Path) -> Path:
    return out_dir / "checkpoints"


def latest_step(out_dir: str | Path) -> int:
    """Step of the newest complete checkpoint in ``out_dir`` (0 when there is none)."""
    pointer = _ckpt_root(Path(out_dir)) / "latest.json"
    if not pointer.is_file():
        return 0
    info = ck.load_json(pointer)
    if not (_ckpt_root(Path(out_dir)) / str(info.get("dir", ""))).is_dir():
        raise ReverieError(f"{pointer} names a missing checkpoint folder {info.get('dir')!r}")
    return int(info["step"])


def latest_dir(out_dir: str | Path) -> Path:
    pointer = _ckpt_root(Path(out_dir)) / "latest.json"
    return _ckpt_root(Path(out_dir)) / str(ck.load_json(pointer)["dir"])


def _first_difference(a, b, prefix: str = "") -> str | None:
    if isinstance(a, dict) and isinstance(b, dict):
        for k in sorted(set(a) | set(b)):
            if k not in a or k not in b:
                return f"{prefix}{k}"
            d = _first_difference(a[k], b[k], f"{prefix}{k}.")
            if d:
                return d
        return None
    return None if a == b else prefix.rstrip(".")


def prepare_run(out_dir: Path, identity: dict, *, resume: bool) -> int:
    """Check ``out_dir`` against this run and return the step to start from (0 = fresh)."""
    identity = json.loads(json.dumps(identity))
    step = latest_step(out_dir)
    run_file = out_dir / "run.json"
    if step > 0:
        if not resume:
            raise UsageError(f"{out_dir} already holds a training run (checkpoint at step "
                             f"{step}); add --resume to continue it, or choose an empty --out")
        saved = ck.load_json(run_file).get("identity", {})
        diff = _first_difference(saved, identity)
        if diff is not None:
            raise ReverieError(
                f"cannot resume: {out_dir} was trained with a different configuration "
                f"({diff}: {_lookup(saved, diff)!r} there, {_lookup(identity, diff)!r} now); "
                f"use the original settings or another --out folder")
        return step
    out_dir.mkdir(parents=True, exist_ok=True)
    ck.save_json(run_file, {"format": FORMAT, "identity": identity,
                            "created": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())})
    return 0


def _lookup(d, dotted: str):
    for part in dotted.split("."):
        if not isinstance(d, dict) or part not in d:
            return None
        d = d[part]
    return d


def save_checkpoint(out_dir: Path, model: nn.Module, opt: torch.optim.Optimizer, step: int,
                    keep: int = 2, extra: dict | None = None) -> Path:
    """Write a complete checkpoint for ``step`` and point ``latest.json`` at it.

    ``extra`` (JSON-able, e.g. the cumulative training seconds) is stored in state.json.
    """
    root = _ckpt_root(out_dir)
    root.mkdir(parents=True, exist_ok=True)
    name = f"step-{step:08d}"
    final, tmp = root / name, root / f".tmp-{name}"
    try:
        shutil.rmtree(tmp, ignore_errors=True)
        tmp.mkdir()
        ck.save_tensors(tmp / "model.safetensors", checkpoint_weights(model))
        tensors, meta = _optimizer_payload(opt)
        tensors["rng.cpu"] = torch.get_rng_state()
        ck.save_tensors(tmp / "optimizer.safetensors", tensors)
        ck.save_json(tmp / "state.json", {**(extra or {}), "format": FORMAT, "step": step,
                                          **meta})
        if final.exists():
            shutil.rmtree(final)
        tmp.rename(final)
        ck.save_json(root / "latest.json", {"step": step, "dir": name})
    except OSError as exc:
        shutil.rmtree(tmp, ignore_errors=True)
        prev = root / "latest.json"
        kept = f"; the previous checkpoint ({prev}) is intact" if prev.exists() else ""
        raise ReverieError(f"could not write the checkpoint for step {step} in {root}: "
                           f"{exc.strerror or exc}{kept}") from None
    except BaseException:  # anything else (an interrupt): never leave a half-written folder
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    old = sorted(p for p in root.glob("step-*") if p.is_dir() and p.name != name)
    for p in old[: max(0, len(old) - (keep - 1))]:
        shutil.rmtree(p, ignore_errors=True)
    return final


def checkpoint_weights(model: nn.Module) -> dict[str, torch.Tensor]:
    """What a checkpoint stores: the whole state dict, or only the trained parameters when
    some are frozen (a LoRA fine-tune: the frozen base is rebuilt from its own file, so a
    checkpoint is a few megabytes instead of the whole model)."""
    params = dict(model.named_parameters())
    if all(p.requires_grad for p in params.values()):
        return {k: v.contiguous() for k, v in model.state_dict().items()}
    return {k: p.detach().contiguous() for k, p in params.items() if p.requires_grad}


def _optimizer_payload(opt: torch.optim.Optimizer) -> tuple[dict[str, torch.Tensor], dict]:
    sd = opt.state_dict()
    tensors: dict[str, torch.Tensor] = {}
    scalars: dict[str, dict] = {}
    for idx, st in sd["state"].items():
        for key, val in st.items():
            if isinstance(val, torch.Tensor):
                tensors[f"state.{idx}.{key}"] = val
            else:
                scalars.setdefault(str(idx), {})[key] = val
    return tensors, {"param_groups": sd["param_groups"], "scalar_state": scalars}


def read_state(out_dir: str | Path) -> dict:
    """The newest checkpoint's state.json ({} when there is no checkpoint)."""
    if latest_step(out_dir) == 0:
        return {}
    return ck.load_json(latest_dir(out_dir) / "state.json")


def load_checkpoint(out_dir: Path, model: nn.Module, opt: torch.optim.Optimizer | None,
                    device: str = "cpu") -> int:
    """Load the newest checkpoint of ``out_dir`` into ``model`` (and ``opt``); return its step."""
    folder = latest_dir(out_dir)
    weights = ck.load_tensors(folder / "model.safetensors", device=device)
    expected = checkpoint_weights(model)
    ck.validate_state_dict(expected, weights, str(folder / "model.safetensors"))
    if any(not p.requires_grad for p in model.parameters()):  # trained parameters only
        params = dict(model.named_parameters())
        with torch.no_grad():
            for name, tensor in weights.items():
                params[name].copy_(tensor)
    else:
        model.load_state_dict(weights)
    meta = ck.load_json(folder / "state.json")
    if opt is not None:
        tensors = ck.load_tensors(folder / "optimizer.safetensors", device="cpu")
        state: dict[int, dict] = {}
        for name, t in tensors.items():
            if name.startswith("state."):
                _, idx, key = name.split(".", 2)
                state.setdefault(int(idx), {})[key] = t
        for idx, extra in meta.get("scalar_state", {}).items():
            state.setdefault(int(idx), {}).update(extra)
        try:
            opt.load_state_dict({"state": state, "param_groups": meta["param_groups"]})
        except (ValueError, KeyError) as exc:
            raise ReverieError(f"checkpoint {folder} does not fit this model's optimiser: "
                               f"{exc}") from None
        if "rng.cpu" in tensors:
            torch.set_rng_state(tensors["rng.cpu"].to(torch.uint8))
    return int(meta["step"])
