"""The decode step of a Llama-family model compiled ahead of time by AOTInductor (a ``.pt2``).

``torch.compile`` runs its compiled step behind Dynamo: every call evaluates guards over ~400
weight tensors and goes through Python wrappers, and a new process must trace the model again
(~10 s of pure Python holding the GIL in slices of up to 64 ms). An AOTInductor package is the
same inductor code built into a shared library once, with no Dynamo at run time: measured on
the quiet 2-core AVX-512 Xeon, SmolLM2 int4, one thread, positions 140-260: 17.1 ms a token
through torch's own package runner against 20.1-20.9 ms for the ``torch.compile`` step in the
same process (eager: ~27 ms), and **14.7 ms** through :class:`CompiledStep` (ctypes).

The step is exported with :func:`torch.export.export` as ``(ids, position, cos, sin, k..., v...)
-> logits`` where ``position`` is the *length* of an empty ``(pos, 0)`` tensor: a shape, not
a value, so the exported program keeps one symbolic position (``pos < cache length`` becomes a
run-time check) instead of a data-dependent one that slicing the cache cannot reason about. The
KV cache buffers and the RoPE tables (views as long as the cache) are inputs, updated in place.
The package holds code only: ``aot_inductor.package_constants_in_so`` is off, and
:func:`load` hands the loaded model's own weight tensors to the library (user-managed, no
copy: loading adds ~10 MB), so one package serves every file of the same architecture, size
and precision (a merged LoRA adapter included).
"""

from __future__ import annotations

import ctypes
import os
import re
import shutil
import zipfile
from pathlib import Path

import torch
from torch import nn

from desktop_app.ml.text.int4 import GROUP

#: names inductor gives the constants it makes itself (not weights of the model)
_UNNAMED = re.compile(r"constant\d+")


class DecodeStep(nn.Module):
    """``forward(ids (1,1), pos_marker (pos,0), cos, sin, *k, *v) -> logits (1, V)``."""

    def __init__(self, model: nn.Module) -> None:
        super().__init__()
        self.model = model

    def forward(self, ids, pos_marker, cos, sin, *kv):
        from desktop_app.ml.text.kv_cache import KVCache

        n = len(kv) // 2
        cache = KVCache.__new__(KVCache)
        cache.k, cache.v = list(kv[:n]), list(kv[n:])
        cache.max_len, cache.batch, cache.rope = kv[0].shape[2], 1, (cos, sin)
        return self.model(ids, cache, pos_marker.shape[0])[:, -1]


#: How far the compiled step's logits may lie from the eager step's: the RMS of their
#: difference, each centred (a shift of every logit changes no probability), over the RMS of
#: the eager's. Summing bf16 and int4 products in another order gives 3-5 % on SmolLM2 (an
#: adapter on the fly, 4.9 %, where the compiled step was the nearer of the two to the float32
#: model: KL 0.008 against the eager's 0.027 nats); a constant off by half, 50 %; a wrong
#: weight, about 100 % and more.
CHECK_TOLERANCE = 0.15


@torch.inference_mode()
def check(model: nn.Module, run) -> None:
    """Raise RuntimeError unless the compiled step gives the eager step's logits within the
    rounding of products summed in another order (:data:`CHECK_TOLERANCE`), at two positions of
    a scratch cache. (It compared the largest difference with 5 % of the largest logit: a
    correct step with an adapter on the fly failed that at 5.4 %, and a failed check keeps the
    compiled step away from that model shape for good.)"""
    dtype = getattr(model, "cache_dtype", None) or next(model.parameters()).dtype
    ids = torch.tensor([[1, 7, 3, 11, 5]])
    caches = [model.new_cache(1, 16, dtype) for _ in range(2)]
    for cache in caches:
        model(ids[:, :3], cache, 0)
    for pos in (3, 4):
        got = run(step_inputs(ids[:, pos:pos + 1], caches[0], pos)).float()
        ref = model(ids[:, pos:pos + 1], caches[1], pos)[:, -1].float()
        if got.shape != ref.shape or not bool(torch.isfinite(got).all()):
            raise RuntimeError("the compiled step's logits differ from the eager step's")
        ref = ref - ref.mean(-1, keepdim=True)
        off = got - got.mean(-1, keepdim=True) - ref
        spread = float(ref.square().mean().sqrt()) or 1.0
        if float(off.square().mean().sqrt()) > CHECK_TOLERANCE * spread:
            raise RuntimeError("the compiled step's logits differ from the eager step's")


def step_inputs(ids: torch.Tensor, cache, pos: int) -> list[torch.Tensor]:
    """The package's flat inputs for one step at ``pos`` (cache made by ``model.new_cache``)."""
    cos, sin = cache.rope
    return [ids, torch.empty((pos, 0)), cos, sin, *cache.k, *cache.v]


def build(model: nn.Module, path: Path) -> Path:
    """Export the decode step of ``model`` and compile it into the package ``path``."""
    dtype = getattr(model, "cache_dtype", None) or next(model.parameters()).dtype
    with torch.inference_mode():
        cache = model.new_cache(1, 64, dtype)
        example = step_inputs(torch.zeros((1, 1), dtype=torch.long), cache, 5)
    # fresh, non-inference copies: export records tensors made in inference mode differently
    example = [t.clone() for t in example]
    auto = torch.export.Dim.AUTO
    shapes = (None, {0: auto}, {0: auto}, {0: auto}, tuple({2: auto} for _ in example[4:]))
    torch._inductor.config.compile_threads = 1  # no pool of worker processes (memory)
    with torch.no_grad():
        program = torch.export.export(DecodeStep(model), tuple(example), dynamic_shapes=shapes,
                                      strict=False)
        path.parent.mkdir(parents=True, exist_ok=True)
        # one name per process: two Reverie windows may build the same shape at once
        tmp = path.with_name(f"{path.stem}.{os.getpid()}.partial.pt2")
        torch._inductor.aoti_compile_and_package(
            program, package_path=str(tmp),
            inductor_configs={"aot_inductor.package_constants_in_so": False})
    tmp.replace(path)  # a package is whole or absent
    return path


def load(path: Path, model: nn.Module) -> "CompiledStep":
    """The compiled step of the package ``path`` running on ``model``'s own weights."""
    return CompiledStep(path, model)


class CompiledStep:
    """The package's shared library called through its C interface with :mod:`ctypes`.

    Why not ``torch._inductor.aoti_load_package``: its runner holds the GIL for the whole
    step (measured: a 1 ms ticker thread got the GIL every 16-17 ms while it decoded, every
    1.1 ms with this class), which would stall the window for a whole token of a large model.
    A ctypes call releases the GIL. The tensors go in and out as ``AtenTensorHandle``s made
    by torch's own helpers (``torch._C._aoti``); the library steals the input handles and
    hands over the output ones, and holds the weights' handles (user-managed constants, no
    copy) until :meth:`close` takes them back.
    """

    def __init__(self, path: Path, model: nn.Module) -> None:
        self._lib = ctypes.CDLL(str(_extract_library(path)), mode=os.RTLD_NOW | os.RTLD_LOCAL)
        lib, size_t = self._lib, ctypes.c_size_t
        self._container = ctypes.c_void_p()
        self._check(lib.AOTInductorModelContainerCreateWithDevice(
            ctypes.byref(self._container), size_t(1), b"cpu", None), "create")
        count = size_t()
        self._check(lib.AOTInductorModelContainerGetNumConstants(
            self._container, ctypes.byref(count)), "count constants")
        wrapper = DecodeStep(model)
        own = dict(wrapper.named_parameters(remove_duplicate=False))
        own.update(wrapper.named_buffers(remove_duplicate=False))
        names, tensors = [], []
        for i in range(count.value):
            name, fqn = ctypes.c_char_p(), ctypes.c_char_p()
            lib.AOTInductorModelContainerGetConstantName(self._container, size_t(i),
                                                         ctypes.byref(name))
            lib.AOTInductorModelContainerGetConstantOriginalFQN(self._container, size_t(i),
                                                                ctypes.byref(fqn))
            key = fqn.value.decode()
            if key in own:
                tensors.append(own[key])
            elif _UNNAMED.fullmatch(key):
                # inductor's int4 lowering passes the group size as a scalar tensor constant
                # of its own; :func:`check` proves the whole step against the eager one
                tensors.append(torch.tensor(GROUP, dtype=torch.int64))
            else:
                self.close()
                raise RuntimeError(f"the compiled step needs a tensor this model lacks: {key}")
            names.append(name.value)
        self._tensors = tensors  # the library points into these: they live as long as it
        self._constant_handles = torch._C._aoti.unsafe_alloc_void_ptrs_from_tensors(tensors)
        entries = (_ConstantEntry * len(names))(*(
            _ConstantEntry(n, _pointer(h)) for n, h in zip(names, self._constant_handles)))
        self._check(lib.AOTInductorModelContainerUpdateUserManagedConstantBufferPairs(
            self._container, entries, size_t(len(names)), ctypes.c_bool(False),
            ctypes.c_bool(True)), "hand over the weights")
        outputs = size_t()
        lib.AOTInductorModelContainerGetNumOutputs(self._container, ctypes.byref(outputs))
        self._outputs = outputs.value

    def __call__(self, inputs: list[torch.Tensor]) -> torch.Tensor:
        """Logits (1, V) for :func:`step_inputs`' list (the GIL is free while it runs)."""
        handles = [_pointer(h) for h in torch._C._aoti.unsafe_alloc_void_ptrs_from_tensors(
            inputs)]
        ins = (ctypes.c_void_p * len(handles))(*handles)
        outs = (ctypes.c_void_p * self._outputs)()
        self._check(self._lib.AOTInductorModelContainerRun(
            self._container, ins, ctypes.c_size_t(len(handles)), outs,
            ctypes.c_size_t(self._outputs), None, None), "run")
        return torch._C._aoti.alloc_tensors_by_stealing_from_void_ptrs(
            [_capsule(outs[i], None, None) for i in range(self._outputs)])[0]

    def close(self) -> None:
        """Free the library's model and take the weights' handles back (idempotent)."""
        if self._container.value:
            self._lib.AOTInductorModelContainerDelete(self._container)
            self._container = ctypes.c_void_p()
        handles, self._constant_handles = getattr(self, "_constant_handles", None), None
        if handles:  # stolen back into tensors that Python then frees
            torch._C._aoti.alloc_tensors_by_stealing_from_void_ptrs(handles)

    def __del__(self) -> None:
        try:
            self.close()
        except Exception:  # noqa: BLE001 - never raise from a finaliser
            pass

    @staticmethod
    def _check(code: int, what: str) -> None:
        if code != 0:
            raise RuntimeError(f"the compiled step failed to {what} (AOTInductor error {code})")


class _ConstantEntry(ctypes.Structure):
    """``AOTInductorConstantMapEntry`` of aoti_runtime/interface.h."""
    _fields_ = [("name", ctypes.c_char_p), ("handle", ctypes.c_void_p)]


_GET_POINTER = ctypes.pythonapi.PyCapsule_GetPointer
_GET_POINTER.restype, _GET_POINTER.argtypes = ctypes.c_void_p, [ctypes.py_object, ctypes.c_char_p]
_capsule = ctypes.pythonapi.PyCapsule_New
_capsule.restype = ctypes.py_object
_capsule.argtypes = [ctypes.c_void_p, ctypes.c_char_p, ctypes.c_void_p]


def _pointer(capsule) -> int:
    """The raw pointer inside one of ``torch._C._aoti``'s handle capsules (no destructor)."""
    return _GET_POINTER(capsule, None)


def _extract_library(package: Path) -> Path:
    """The package's shared library, unpacked once beside it (``<package>.so``)."""
    target = package.with_suffix(".so")
    if target.exists() and target.stat().st_mtime >= package.stat().st_mtime:
        return target
    with zipfile.ZipFile(package) as archive:
        names = [n for n in archive.namelist() if n.endswith(".so")]
        if len(names) != 1:
            raise RuntimeError(f"{package.name} holds {len(names)} libraries, not one")
        tmp = target.with_name(f"{target.name}.{os.getpid()}.partial")
        with archive.open(names[0]) as src, open(tmp, "wb") as dst:
            shutil.copyfileobj(src, dst)
    tmp.replace(target)
    return target
