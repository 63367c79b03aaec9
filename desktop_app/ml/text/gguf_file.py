"""Read a GGUF model file (llama.cpp's format) as Hugging Face named tensors, checked first.

Parsing uses the llama.cpp project's own reader (``gguf.GGUFReader``, memory-mapped: opening
allocates no tensor memory). Before anything is dequantized, :class:`GGUFFile` checks the magic,
the architecture, every size read from the metadata against sane bounds and against the file's
length, every tensor's type, shape and byte size, and the tokenizer keys; any problem raises
:class:`~desktop_app.core.errors.ModelLoadError` with one line naming it.

The raw-tensor API (for the quantized decode paths)::

    f = GGUFFile(path)                        # validated; f.arch is "llama" or "qwen2"
    f.hf_config()                             # a Hugging Face config.json dict
    for name, t in f.tensors.items():         # HF names: "model.layers.0.self_attn.q_proj.weight"
        t.ggml_type                           # gguf.GGMLQuantizationType (F32, Q4_0, Q8_0, ...)
        t.shape                               # HF layout: (out, in) for matrices, (n,) for vectors
        t.block_size, t.type_size             # elements per block, bytes per block (1, 4 for F32)
        t.raw_rows()                          # numpy: (out, in/block_size*type_size) uint8 for
                                              #   quantized types, (out, in) float for F32/F16;
                                              #   rows already in HF order (see below)
        f.dequantize(name)                    # torch.float32 tensor of shape t.shape, HF order

llama.cpp's converter permutes the rows of ``q_proj`` / ``k_proj`` of ``llama`` models (it
interleaves the two rotary halves of each head). Quantization blocks run along the *input*
dimension, so that permutation moves whole rows of blocks: :attr:`GGUFTensor.row_perm` is the
index array with ``hf_rows = gguf_rows[row_perm]``, and ``raw_rows()`` applies it to the raw
block bytes without dequantizing. ``raw`` is the unpermuted, zero-copy memmap view.

Reference: llama.cpp ``gguf-py`` (``constants.py`` names, ``convert_hf_to_gguf.py`` permute);
transformers ``modeling_gguf_pytorch_utils.py`` (the reverse permute the tests compare with).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

import numpy as np

from desktop_app.core.errors import ModelLoadError
from desktop_app.core.gguf_header import read_summary

GGUF_MAGIC = b"GGUF"
#: llama-family architecture names (general.architecture) and how they map to HF model_type.
ARCHITECTURES = {"llama": "llama", "mistral": "mistral", "qwen2": "qwen2"}
#: Upper bounds on sizes read from metadata (far above any real model, far below overflow).
MAX_LAYERS, MAX_WIDTH, MAX_HEADS, MAX_VOCAB, MAX_CONTEXT = 1024, 65536, 1024, 1 << 22, 1 << 22

ProgressFn = Callable[[float, str], None]

_LAYER_NAMES = {
    "attn_norm.weight": "input_layernorm.weight",
    "ffn_norm.weight": "post_attention_layernorm.weight",
    "attn_q.weight": "self_attn.q_proj.weight", "attn_q.bias": "self_attn.q_proj.bias",
    "attn_k.weight": "self_attn.k_proj.weight", "attn_k.bias": "self_attn.k_proj.bias",
    "attn_v.weight": "self_attn.v_proj.weight", "attn_v.bias": "self_attn.v_proj.bias",
    "attn_output.weight": "self_attn.o_proj.weight",
    "ffn_gate.weight": "mlp.gate_proj.weight", "ffn_up.weight": "mlp.up_proj.weight",
    "ffn_down.weight": "mlp.down_proj.weight",
}
_TOP_NAMES = {"token_embd.weight": "model.embed_tokens.weight",
              "output_norm.weight": "model.norm.weight", "output.weight": "lm_head.weight"}
#: Tensors that carry nothing Reverie needs (llama.cpp's precomputed RoPE tables).
_IGNORED = ("rope_freqs.weight", "rope_factors_long.weight", "rope_factors_short.weight")


def supported_types():
    from gguf import GGMLQuantizationType as T

    return (T.F32, T.F16, T.BF16, T.Q8_0, T.Q4_0, T.Q4_1, T.Q4_K, T.Q5_K, T.Q6_K)


def hf_name(gguf_name: str) -> str | None:
    """The Hugging Face parameter name of a GGUF tensor name, or None when unknown."""
    if gguf_name in _TOP_NAMES:
        return _TOP_NAMES[gguf_name]
    parts = gguf_name.split(".", 2)
    if len(parts) == 3 and parts[0] == "blk" and parts[1].isdigit() and parts[2] in _LAYER_NAMES:
        return f"model.layers.{int(parts[1])}.{_LAYER_NAMES[parts[2]]}"
    return None


def qk_row_perm(rows: int, n_head: int) -> np.ndarray:
    """Indices undoing llama.cpp's Q/K permutation: ``hf = gguf[perm]`` for (rows, ...) data.

    llama.cpp wrote ``w.reshape(n_head, 2, rows//n_head//2, ...).swapaxes(1, 2)``; the inverse
    view of row indices is that same reshape, read back the other way.
    """
    idx = np.arange(rows).reshape(n_head, rows // n_head // 2, 2).swapaxes(1, 2)
    return idx.reshape(rows)


@dataclass(frozen=True)
class GGUFTensor:
    """One weight of a GGUF file, named and shaped as Hugging Face has it."""

    name: str  # HF name
    gguf_name: str
    ggml_type: Any  # gguf.GGMLQuantizationType
    shape: tuple[int, ...]  # HF layout (out, in) / (n,)
    raw: np.ndarray  # zero-copy memmap view in GGUF row order
    row_perm: np.ndarray | None = None
    block_size: int = 1
    type_size: int = 4

    def raw_rows(self) -> np.ndarray:
        """The raw data with rows in HF order (a copy when a permutation applies)."""
        return self.raw if self.row_perm is None else self.raw[self.row_perm]

    @property
    def n_elements(self) -> int:
        return int(np.prod(self.shape))


def _value(field) -> Any:
    """A field's value (scalars, strings; arrays as lists); None where unreadable."""
    try:
        return field.contents()
    except Exception:  # a malformed field: the caller reports what it needed
        return None


class GGUFFile:
    """A validated GGUF model file. Raises ModelLoadError (one line) for any problem."""

    def __init__(self, path: str | Path, progress: ProgressFn | None = None) -> None:
        self.path = Path(path)
        report = progress or (lambda f, m: None)
        self.size = _check_magic(self.path)
        report(0.0, f"Reading {self.path.name}")
        try:   # counts first, by a walker bounded by the bytes (75 ms for SmolLM2): gguf's
            read_summary(self.path)   # reader decodes every string, a minute for a hostile 4 M
        except ValueError as exc:
            raise ModelLoadError(f"{self.path.name} is not a readable GGUF file ({exc})") from None
        except OSError as exc:
            raise ModelLoadError(f"cannot read {self.path}: {exc.strerror or exc}") from None
        try:
            from gguf import GGUFReader

            self.reader = GGUFReader(str(self.path), "r")
        except ModelLoadError:
            raise
        except Exception as exc:  # the reader raises ValueError/IndexError/struct errors
            raise ModelLoadError(f"{self.path.name} is not a readable GGUF file ({_why(exc)}); "
                                 f"it may be truncated or damaged") from None
        report(0.05, f"Checking {self.path.name}")
        self.arch = self._str("general.architecture")
        if self.arch not in ARCHITECTURES:
            raise ModelLoadError(f"{self.path.name} holds a {self.arch!r} model, which Reverie "
                                 f"cannot run; supported: {', '.join(ARCHITECTURES)}")
        self.config = self._read_config()
        self.tensors = self._read_tensors()

    # -- metadata --------------------------------------------------------------------------
    def field(self, key: str, default: Any = None) -> Any:
        f = self.reader.fields.get(key)
        return default if f is None else _value(f)

    def array_len(self, key: str) -> int | None:
        """Element count of an array field without decoding it (None when absent)."""
        f = self.reader.fields.get(key)
        return None if f is None else len(f.data)

    def _str(self, key: str) -> str:
        v = self.field(key)
        if not isinstance(v, str):
            raise ModelLoadError(f"{self.path.name} lacks the metadata key {key!r}")
        return v

    def _int(self, key: str, low: int, high: int, default: int | None = None) -> int:
        v = self.field(key, default)
        if v is None:
            raise ModelLoadError(f"{self.path.name} lacks the metadata key {key!r}")
        if isinstance(v, bool) or not isinstance(v, (int, np.integer)) or not low <= v <= high:
            raise ModelLoadError(f"{self.path.name} has an impossible {key} = {v!r} "
                                 f"(expected {low}..{high}); the file is damaged")
        return int(v)

    def _float(self, key: str, default: float) -> float:
        v = self.field(key, default)
        if isinstance(v, bool) or not isinstance(v, (int, float, np.floating)) or not (
                np.isfinite(v) and v > 0):
            raise ModelLoadError(f"{self.path.name} has an impossible {key} = {v!r}")
        return float(v)

    def _read_config(self) -> dict[str, Any]:
        a = self.arch
        n_vocab = self.array_len("tokenizer.ggml.tokens")
        if n_vocab is None:
            raise ModelLoadError(f"{self.path.name} lacks the metadata key 'tokenizer.ggml.tokens' "
                                 f"(its vocabulary); Reverie cannot build its tokenizer")
        if not 1 <= n_vocab <= MAX_VOCAB:
            raise ModelLoadError(f"{self.path.name} has an impossible vocabulary of {n_vocab} "
                                 f"tokens")
        layers = self._int(f"{a}.block_count", 1, MAX_LAYERS)
        width = self._int(f"{a}.embedding_length", 1, MAX_WIDTH)
        heads = self._int(f"{a}.attention.head_count", 1, MAX_HEADS)
        kv = self._int(f"{a}.attention.head_count_kv", 1, heads, default=heads)
        if heads % kv:
            raise ModelLoadError(f"{self.path.name}: {heads} attention heads are not a multiple "
                                 f"of {kv} key/value heads")
        head_dim = self._int(f"{a}.attention.key_length", 2, MAX_WIDTH,
                             default=self.field(f"{a}.rope.dimension_count", width // heads))
        if head_dim % 2:
            raise ModelLoadError(f"{self.path.name} has an odd head size {head_dim}")
        # Every weight must fit in the file: at least half a byte per element (the smallest
        # supported type), so a vocabulary "larger than the file" is refused here.
        embd_bytes = n_vocab * width // 2
        if embd_bytes > self.size:
            raise ModelLoadError(f"{self.path.name} claims a {n_vocab} x {width} embedding, more "
                                 f"than its {self.size} bytes can hold; the file is damaged")
        cfg = {
            "model_type": ARCHITECTURES[a],
            "vocab_size": n_vocab,
            "hidden_size": width,
            "intermediate_size": self._int(f"{a}.feed_forward_length", 1, 16 * MAX_WIDTH),
            "num_hidden_layers": layers,
            "num_attention_heads": heads,
            "num_key_value_heads": kv,
            "head_dim": head_dim,
            "max_position_embeddings": self._int(f"{a}.context_length", 1, MAX_CONTEXT,
                                                 default=2048),
            "rms_norm_eps": self._float(f"{a}.attention.layer_norm_rms_epsilon", 1e-6),
            "rope_theta": self._float(f"{a}.rope.freq_base", 10000.0),
            "hidden_act": "silu",
            "tie_word_embeddings": "output.weight" not in {t.name for t in self.reader.tensors},
            "bos_token_id": self.field("tokenizer.ggml.bos_token_id"),
            "eos_token_id": self.field("tokenizer.ggml.eos_token_id"),
        }
        kind = self.field(f"{a}.rope.scaling.type")
        if kind not in (None, "none"):
            if kind != "linear":
                raise ModelLoadError(f"{self.path.name} uses RoPE scaling {kind!r}; Reverie "
                                     f"supports only linear scaling in GGUF files")
            cfg["rope_scaling"] = {"rope_type": "linear",
                                   "factor": self._float(f"{a}.rope.scaling.factor", 1.0)}
        if a == "qwen2":
            cfg["attention_bias"] = True
        return cfg

    def hf_config(self) -> dict[str, Any]:
        return dict(self.config)

    # -- tensors ---------------------------------------------------------------------------
    def _expected_shapes(self) -> dict[str, tuple[int, ...]]:
        c = self.config
        w, hd, inter = c["hidden_size"], c["head_dim"], c["intermediate_size"]
        q, kv = c["num_attention_heads"] * hd, c["num_key_value_heads"] * hd
        out = {"model.embed_tokens.weight": (c["vocab_size"], w), "model.norm.weight": (w,)}
        if not c["tie_word_embeddings"]:
            out["lm_head.weight"] = (c["vocab_size"], w)
        for i in range(c["num_hidden_layers"]):
            p = f"model.layers.{i}."
            out.update({p + "input_layernorm.weight": (w,),
                        p + "post_attention_layernorm.weight": (w,),
                        p + "self_attn.q_proj.weight": (q, w), p + "self_attn.k_proj.weight": (kv, w),
                        p + "self_attn.v_proj.weight": (kv, w), p + "self_attn.o_proj.weight": (w, q),
                        p + "mlp.gate_proj.weight": (inter, w), p + "mlp.up_proj.weight": (inter, w),
                        p + "mlp.down_proj.weight": (w, inter)})
            if c.get("attention_bias"):
                out.update({p + "self_attn.q_proj.bias": (q,), p + "self_attn.k_proj.bias": (kv,),
                            p + "self_attn.v_proj.bias": (kv,)})
        return out

    def _read_tensors(self) -> dict[str, GGUFTensor]:
        from gguf import GGML_QUANT_SIZES

        expected = self._expected_shapes()
        allowed = supported_types()
        c = self.config
        permute = c["model_type"] != "qwen2"  # llama.cpp permutes Q/K of llama-style models only
        found: dict[str, GGUFTensor] = {}
        for t in self.reader.tensors:
            if t.name in _IGNORED:
                continue
            name = hf_name(t.name)
            if name is None or name not in expected:
                raise ModelLoadError(f"{self.path.name} holds tensor {t.name!r}, which a "
                                     f"{self.arch} model of this shape does not have")
            if t.tensor_type not in allowed:
                raise ModelLoadError(f"tensor {t.name!r} in {self.path.name} is of type "
                                     f"{t.tensor_type.name}, which Reverie cannot read; supported: "
                                     f"{', '.join(x.name for x in allowed)}")
            shape = tuple(int(d) for d in reversed(t.shape.tolist()))  # ggml lists (in, out)
            if shape != expected[name]:
                raise ModelLoadError(f"tensor {t.name!r} in {self.path.name} has shape "
                                     f"{list(shape)} but the metadata implies "
                                     f"{list(expected[name])}")
            block, tsize = GGML_QUANT_SIZES[t.tensor_type]
            if shape[-1] % block:
                raise ModelLoadError(f"tensor {t.name!r} rows of {shape[-1]} are not whole "
                                     f"{t.tensor_type.name} blocks")
            nbytes = int(np.prod(shape)) // block * tsize
            if int(t.n_bytes) != nbytes or t.data_offset + nbytes > self.size or (
                    t.data.nbytes != nbytes):
                raise ModelLoadError(f"tensor {t.name!r} does not fit in {self.path.name} "
                                     f"({self.size} bytes); the file is truncated or damaged")
            raw = t.data.reshape(shape[0], -1) if len(shape) == 2 else t.data.reshape(-1)
            perm = None
            if permute and name.endswith(("q_proj.weight", "k_proj.weight")):
                heads = c["num_attention_heads"] if "q_proj" in name else c["num_key_value_heads"]
                perm = qk_row_perm(shape[0], heads)
            found[name] = GGUFTensor(name=name, gguf_name=t.name, ggml_type=t.tensor_type,
                                     shape=shape, raw=raw, row_perm=perm, block_size=block,
                                     type_size=tsize)
        missing = sorted(set(expected) - set(found))
        if missing:
            more = f" and {len(missing) - 1} more" if len(missing) > 1 else ""
            raise ModelLoadError(f"{self.path.name} lacks tensor {missing[0]!r}{more}; the file is "
                                 f"incomplete or its metadata does not match its weights")
        return found

    def dequantize(self, name: str):
        """The tensor ``name`` (HF name) as a torch.float32 tensor in HF layout and row order."""
        import torch
        from gguf.quants import dequantize

        t = self.tensors[name]
        raw = t.raw_rows()
        data = dequantize(raw, t.ggml_type)
        arr = np.ascontiguousarray(data, dtype=np.float32).reshape(t.shape)
        if not arr.flags.writeable:  # F32 data straight from the read-only memmap
            arr = arr.copy()
        return torch.from_numpy(arr)

    def parameter_count(self) -> int:
        return sum(t.n_elements for t in self.tensors.values())


def _check_magic(path: Path) -> int:
    try:
        size = os.stat(path).st_size
        with open(path, "rb") as fh:
            head = fh.read(4)
    except OSError as exc:
        raise ModelLoadError(f"cannot read {path}: {exc.strerror or exc}") from None
    if head != GGUF_MAGIC:
        raise ModelLoadError(f"{path.name} is not a GGUF file (it does not start with 'GGUF')")
    if size < 24:
        raise ModelLoadError(f"{path.name} is truncated ({size} bytes)")
    return size


def _why(exc: Exception) -> str:
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else exc.__class__.__name__
    return text[:160]
