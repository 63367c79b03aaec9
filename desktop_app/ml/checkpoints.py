"""Safe model files: safetensors + JSON, written atomically, read and validated without pickle.

Weights are only ever read with ``safetensors`` (never ``torch.load``: a pickle in a user's
file can run arbitrary code). Every write goes to a temporary file in the same folder, is
flushed to disk, then renamed over the target with ``os.replace``, so a crash or a full disk
leaves the previous file intact.

Functions:
  save_tensors(path, tensors, metadata)   atomic safetensors write (shared storage is copied)
  load_tensors(path, device)              dict of tensors; ModelLoadError on a damaged file
  read_header(path)                       {name: (dtype str, shape)} + metadata, no tensor data
  save_json(path, obj) / load_json(path)  atomic JSON write / read with a readable error
  validate_state_dict(expected, found)    names, shapes and dtypes agree, or a readable error
"""

from __future__ import annotations

import json
import os
import struct
import tempfile
from pathlib import Path
from typing import Any

import torch
from safetensors import SafetensorError
from safetensors.torch import load_file, save_file

from desktop_app.core.errors import ModelLoadError

_MAX_HEADER = 100 * 1024 * 1024


def _atomic_target(path: Path) -> tuple[int, str]:
    """A temporary file next to ``path`` (readable like a normal file once renamed)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        os.chmod(tmp, 0o644)
    except OSError:  # pragma: no cover - filesystems without permissions
        pass
    return fd, tmp


def _fsync_dir(folder: Path) -> None:
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:  # pragma: no cover - platforms without directory fds
        return
    try:
        os.fsync(fd)
    except OSError:  # pragma: no cover
        pass
    finally:
        os.close(fd)


def atomic_write_bytes(path: str | Path, data: bytes) -> None:
    """Write ``data`` to ``path`` via a temporary file + ``os.replace`` (old file kept on error)."""
    path = Path(path)
    fd, tmp = _atomic_target(path)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
        _fsync_dir(path.parent)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def save_json(path: str | Path, obj: Any) -> None:
    atomic_write_bytes(path, (json.dumps(obj, indent=2, sort_keys=True) + "\n").encode("utf-8"))


def load_json(path: str | Path) -> Any:
    path = Path(path)
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ModelLoadError(f"missing file {path}") from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ModelLoadError(f"cannot read {path}: {exc}") from None


def save_tensors(path: str | Path, tensors: dict[str, torch.Tensor],
                 metadata: dict[str, str] | None = None) -> None:
    """Atomically write ``tensors`` as safetensors. Tensors sharing storage are cloned first."""
    path = Path(path)
    seen: set[int] = set()
    clean: dict[str, torch.Tensor] = {}
    for name, t in tensors.items():
        t = t.detach().cpu()
        ptr = t.untyped_storage().data_ptr() if t.numel() else -id(t)
        if ptr in seen or not t.is_contiguous():
            t = t.clone().contiguous()
        seen.add(ptr)
        clean[name] = t
    fd, tmp = _atomic_target(path)
    os.close(fd)
    try:
        save_file(clean, tmp, metadata=metadata)
        os.chmod(tmp, 0o644)
        with open(tmp, "rb+") as fh:
            os.fsync(fh.fileno())
        os.replace(tmp, path)
        _fsync_dir(path.parent)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def load_tensors(path: str | Path, device: str | torch.device = "cpu") -> dict[str, torch.Tensor]:
    path = Path(path)
    if not path.is_file():
        raise ModelLoadError(f"missing weights file {path}")
    read_header(path)  # clear message for truncated / non-safetensors files
    try:
        return load_file(str(path), device=str(device))
    except (SafetensorError, OSError, RuntimeError) as exc:
        raise ModelLoadError(f"cannot read weights {path}: {exc}") from None


def read_header(path: str | Path) -> tuple[dict[str, tuple[str, list[int]]], dict[str, str]]:
    """Return ``({name: (dtype, shape)}, metadata)`` from a safetensors header, reading no weights."""
    path = Path(path)
    try:
        size = path.stat().st_size
        with open(path, "rb") as fh:
            raw = fh.read(8)
            if len(raw) < 8:
                raise ValueError("file shorter than a safetensors header")
            (n,) = struct.unpack("<Q", raw)
            if n <= 0 or n > _MAX_HEADER or 8 + n > size:
                raise ValueError("header length is not plausible")
            header = json.loads(fh.read(n).decode("utf-8"))
        meta = header.pop("__metadata__", None) or {}
        out: dict[str, tuple[str, list[int]]] = {}
        end = 0
        for name, info in header.items():
            out[name] = (str(info["dtype"]), [int(s) for s in info["shape"]])
            end = max(end, int(info["data_offsets"][1]))
        if 8 + n + end > size:
            raise ValueError("file is truncated (tensor data missing)")
        return out, dict(meta)
    except FileNotFoundError:
        raise ModelLoadError(f"missing weights file {path}") from None
    except (OSError, ValueError, KeyError, TypeError, UnicodeDecodeError) as exc:
        raise ModelLoadError(f"{path} is not a valid safetensors file: {exc}") from None


def validate_state_dict(expected: dict[str, torch.Tensor], found: dict[str, torch.Tensor],
                        source: str, allow_missing: tuple[str, ...] = ()) -> None:
    """Raise ModelLoadError naming the first missing/unexpected/mis-shaped tensor."""
    missing = [k for k in expected if k not in found and k not in allow_missing]
    if missing:
        raise ModelLoadError(f"{source}: tensor {missing[0]!r} is missing "
                             f"({len(missing)} missing in all)")
    extra = [k for k in found if k not in expected]
    if extra:
        raise ModelLoadError(f"{source}: unexpected tensor {extra[0]!r} "
                             f"({len(extra)} unexpected in all)")
    for k, t in found.items():
        if tuple(t.shape) != tuple(expected[k].shape):
            raise ModelLoadError(f"{source}: tensor {k!r} has shape {tuple(t.shape)}, "
                                 f"expected {tuple(expected[k].shape)}")
        if t.is_floating_point() != expected[k].is_floating_point():
            raise ModelLoadError(f"{source}: tensor {k!r} has dtype {t.dtype}, "
                                 f"expected {expected[k].dtype}")
