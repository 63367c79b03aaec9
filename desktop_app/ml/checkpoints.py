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

import errno
import json
import os
import re
import struct
import tempfile
from pathlib import Path
from typing import Any

import torch
from safetensors import SafetensorError
from safetensors.torch import load_file, save_file

from desktop_app.core.errors import DataError, ModelLoadError
from desktop_app.core.untrusted import float_in, int_in, loads_json, read_json

_MAX_HEADER = 100 * 1024 * 1024
_MAX_JSON = 64 * 1024 * 1024


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
    """Read a JSON side file with the bounds of :mod:`core.untrusted` (size, nesting, no NaN)."""
    path = Path(path)
    if not path.is_file():
        raise ModelLoadError(f"missing file {path}")
    try:
        return read_json(path, source=str(path), max_bytes=_MAX_JSON)
    except DataError as exc:
        raise ModelLoadError(str(exc)) from None


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
        try:
            save_file(clean, tmp, metadata=metadata)
        except SafetensorError as exc:
            # safetensors reports a full disk as its own error, not an OSError: make it one,
            # so every caller's "could not write" handling (and clean-up) applies to it.
            code = re.search(r"code: (\d+)", str(exc))
            err = int(code.group(1)) if code else errno.EIO
            raise OSError(err, os.strerror(err), str(path)) from None
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
            header = loads_json(fh.read(n), source="the header", max_bytes=_MAX_HEADER)
        if not isinstance(header, dict):
            raise ValueError("the header is not a JSON object")
        meta = header.pop("__metadata__", None) or {}
        if not isinstance(meta, dict):
            raise ValueError("__metadata__ is not a mapping")
        out: dict[str, tuple[str, list[int]]] = {}
        end = 0
        for name, info in header.items():
            dtype, shape, offsets = info["dtype"], info["shape"], info["data_offsets"]
            # typed, not coerced: a dtype that is a number or a shape of strings is damage
            if not isinstance(dtype, str) or not isinstance(shape, list) or not all(
                    type(d) is int and 0 <= d < 2**40 for d in shape):
                raise ValueError(f"tensor {name[:80]!r} has a malformed dtype or shape")
            if (not isinstance(offsets, list) or len(offsets) != 2
                    or not all(type(o) is int and o >= 0 for o in offsets)
                    or offsets[0] > offsets[1]):
                raise ValueError(f"tensor {name[:80]!r} has malformed data offsets")
            out[name] = (dtype, list(shape))
            end = max(end, offsets[1])
        if 8 + n + end > size:
            raise ValueError("file is truncated (tensor data missing)")
        return out, dict(meta)
    except FileNotFoundError:
        raise ModelLoadError(f"missing weights file {path}") from None
    except (OSError, ValueError, KeyError, TypeError, UnicodeDecodeError, DataError) as exc:
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


#: Largest size any field of a built-in model's config may hold (widths, layers, vocabularies).
MAX_CONFIG_SIZE = 1 << 16


def config_from_dict(cls, raw: Any, source: str, *, zero_ok: tuple[str, ...] = ()):
    """``cls.from_dict(raw)`` for a config dataclass, after checking every field it names:
    ints (and tuples of ints) whole numbers in 1..MAX_CONFIG_SIZE (0 allowed for ``zero_ok``
    names), floats finite, bools real booleans. Anything else is a ModelLoadError naming the
    field, before a layer is built from it."""
    from dataclasses import fields

    if not isinstance(raw, dict):
        raise ModelLoadError(f"{source} is not a JSON object")
    try:
        for f in fields(cls):
            if f.name not in raw:
                continue
            value, kind = raw[f.name], str(f.type)
            lo = 0 if f.name in zero_ok or f.name.endswith("_steps") else 1
            hi = 1 << 30 if f.name.endswith("_steps") else MAX_CONFIG_SIZE  # step counts
            if kind.startswith("tuple[int"):
                if not isinstance(value, list) or not 1 <= len(value) <= 16:
                    raise DataError(f"{source}: {f.name!r} must be a list of 1-16 sizes")
                for v in value:
                    int_in(v, f.name, lo, hi, source=source)
            elif kind == "int":
                int_in(value, f.name, lo, hi, source=source)
            elif kind == "float":
                float_in(value, f.name, -1e9, 1e9, source=source)
            elif kind == "bool" and not isinstance(value, bool):
                raise DataError(f"{source}: {f.name!r} must be true or false")
        return cls.from_dict(raw)
    except DataError as exc:
        raise ModelLoadError(str(exc)) from None
    except (TypeError, ValueError, KeyError) as exc:
        raise ModelLoadError(f"{source} is not a usable config: {exc}") from None
