"""Load a Hugging Face style text model folder: config, safetensors weights, tokenizer, defaults.

A folder holds ``config.json``, ``model.safetensors`` (or shards listed in
``model.safetensors.index.json``), ``tokenizer.json`` and optionally ``generation_config.json``
and ``tokenizer_config.json`` (chat template, special tokens). Weights are memory-mapped with
``safetensors.safe_open`` and copied once into a model built on the meta device, so the peak is
about one copy of the weights. Nothing is ever unpickled: a folder with only
``pytorch_model.bin`` is refused (unpickling can run arbitrary code).

Every failure raises :class:`~desktop_app.core.errors.ModelLoadError` naming the file or tensor.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

import torch
from safetensors import safe_open

from desktop_app.core.errors import DataError, ModelLoadError
from desktop_app.core.model_use import ModelUse
from desktop_app.core.model_registry import read_safetensors_header
from desktop_app.core.untrusted import child_file, str_in
from desktop_app.ml.text.gpt2 import GPT2Config, GPT2LMHeadModel
from desktop_app.ml.text.llama import LLAMA_MODEL_TYPES, LlamaConfig, LlamaForCausalLM
from desktop_app.ml.text.ops import weight_for_decode
from desktop_app.ml.text.quant import folder_precision, quantize_model, stderr_notice
from desktop_app.ml.text.tokenizer import TextTokenizer, _read_json

SUPPORTED_MODEL_TYPES = ("gpt2", *LLAMA_MODEL_TYPES)
#: precision -> dtype the weights are loaded at ("int8" loads float32, then quantizes).
PRECISIONS = {"fp32": torch.float32, "bf16": torch.bfloat16, "int8": torch.float32,
              "int4": torch.float32}
_RESIDENT_BYTES = {"fp32": 4, "bf16": 2, "int8": 2, "int4": 2}  # per parameter, for the memory estimate
_DTYPE_BYTES = {"F64": 8, "F32": 4, "BF16": 2, "F16": 2, "I64": 8, "I32": 4, "U8": 1, "I8": 1,
                "BOOL": 1, "F8_E4M3": 1, "F8_E5M2": 1}
#: Tensors in published checkpoints that are not parameters (masks, cached RoPE frequencies).
_IGNORED_SUFFIXES = (".attn.bias", ".attn.masked_bias", ".rotary_emb.inv_freq")

ProgressFn = Callable[[float, str], None]


@dataclass
class LoadedTextModel:
    """A ready model with everything generation needs. Owned by the thread that loaded it."""

    model: torch.nn.Module
    tokenizer: TextTokenizer
    folder: Path
    arch: str  # "gpt2" | "llama"
    config: dict[str, Any]
    weight_files: list[Path]
    precision: str = "fp32"
    eos_ids: tuple[int, ...] = ()
    generation_defaults: dict[str, Any] = field(default_factory=dict)
    chat_template: str | None = None
    special_tokens: dict[str, str] = field(default_factory=dict)
    display_name: str | None = None  # e.g. the built-in name of a GGUF file
    compiler: Any = None  # a compiled.DecodeCompiler once start_compile() was called
    use: ModelUse = field(default_factory=ModelUse)
    #: parameters of the model as stored (quantized weights are buffers, so counting
    #: ``model.parameters()`` would leave them out); 0 = count ``model.parameters()``
    n_parameters: int = 0
    _sha256: str | None = None
    _pieces: list[str] | None = None

    @property
    def name(self) -> str:
        return self.display_name or self.folder.name

    @property
    def max_context(self) -> int:
        return int(self.model.max_context)

    def sha256(self) -> str:
        """SHA-256 over all weight files, in name order (computed once)."""
        if self._sha256 is None:
            h = hashlib.sha256()
            for path in sorted(self.weight_files, key=lambda p: p.name):
                with open(path, "rb") as fh:
                    for block in iter(lambda: fh.read(1 << 20), b""):
                        h.update(block)
            self._sha256 = h.hexdigest()
        return self._sha256

    def token_pieces(self) -> list[str]:
        """Every token's text on its own, by id (computed once; used for DRY breakers)."""
        if self._pieces is None:
            tok = self.tokenizer
            self._pieces = [tok.token_text(i) for i in range(tok.vocab_size)]
        return self._pieces

    def start_compile(self, threads: int | None = None) -> bool:
        """Compile the decode step in the background (see :mod:`.compiled`); False when
        switched off or not a supported architecture."""
        from desktop_app.ml.text.compiled import DecodeCompiler

        if self.compiler is None:
            self.compiler = DecodeCompiler(self.model, source=(str(self.folder), self.precision),
                                           wait_idle=self.use.wait_idle)
        return self.compiler.start(threads)

    def size_bytes(self) -> int:
        return sum(t.numel() * t.element_size() for t in self.model.state_dict().values())


def read_meminfo_available(path: str = "/proc/meminfo") -> int | None:
    """Bytes of memory available now (``MemAvailable``), or None where unreadable."""
    try:
        with open(path, encoding="ascii") as fh:
            for line in fh:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    return None


def find_weight_files(folder: Path) -> list[Path]:
    """The safetensors files of ``folder``; refuses pickle-only folders with a reason."""
    index = folder / "model.safetensors.index.json"
    if index.is_file():
        weight_map = _read_json(index).get("weight_map")
        if not isinstance(weight_map, dict) or not weight_map:
            raise ModelLoadError(f"{index} has no weight_map")
        try:  # names are untrusted: text, and inside the folder (never ../elsewhere)
            names = sorted({str_in(v, "weight_map entry", max_len=255, source=index.name)
                            for v in weight_map.values()})
            files = [child_file(folder, name, source=index.name) for name in names]
        except DataError as exc:
            raise ModelLoadError(str(exc)) from None
        for f in files:
            if not f.is_file():
                raise ModelLoadError(f"weight file {f} (listed in {index.name}) is missing")
        return files
    if (folder / "model.safetensors").is_file():
        return [folder / "model.safetensors"]
    shards = sorted(folder.glob("*.safetensors"))
    if shards:
        return shards
    pickles = sorted(p.name for p in folder.glob("*.bin")) + sorted(
        p.name for p in folder.glob("*.pt*"))
    if pickles:
        raise ModelLoadError(
            f"{folder} holds only {', '.join(pickles)}: Reverie does not read PyTorch pickle "
            f"files, because unpickling a file can run arbitrary code. Convert it on a trusted "
            f"machine, e.g. AutoModelForCausalLM.from_pretrained(folder).save_pretrained(out, "
            f"safe_serialization=True) with transformers, and load the model.safetensors folder")
    raise ModelLoadError(f"no model.safetensors (or model.safetensors.index.json) in {folder}")


def build_model(config: dict[str, Any]):
    """(arch, module) for a HF config dict, built on the meta device (no memory, no init)."""
    model_type = str(config.get("model_type", ""))
    try:
        if model_type == "gpt2":
            arch, cls, cfg = "gpt2", GPT2LMHeadModel, GPT2Config.from_hf(config)
        elif model_type in LLAMA_MODEL_TYPES:
            arch, cls, cfg = "llama", LlamaForCausalLM, LlamaConfig.from_hf(config)
        else:
            raise ModelLoadError(
                f"config.json has model_type {model_type or '(none)'!r}, which Reverie cannot "
                f"run; supported: {', '.join(SUPPORTED_MODEL_TYPES)}")
    except (KeyError, TypeError, ValueError, DataError) as exc:
        raise ModelLoadError(f"config.json is not a usable {model_type} config: {exc}") from None
    with torch.device("meta"):
        model = cls(cfg)
    return arch, model


def _expected_name(arch: str, name: str) -> str:
    if arch == "gpt2" and not name.startswith("transformer.") and not name.startswith("lm_head"):
        return "transformer." + name  # the original OpenAI export has no prefix
    return name


def _check_file(path: Path) -> dict[str, Any]:
    """The safetensors header of ``path``, after checking the file is complete."""
    try:
        header = read_safetensors_header(path)
    except (OSError, ValueError) as exc:
        raise ModelLoadError(f"{path} is not a readable safetensors file: {exc}") from None
    with open(path, "rb") as fh:
        header_len = int.from_bytes(fh.read(8), "little")
    end = 0
    for k, e in header.items():
        if k == "__metadata__":
            continue
        # Every field typed and bounded before the estimate or the reader uses it.
        offsets = e.get("data_offsets") if isinstance(e, dict) else None
        shape = e.get("shape") if isinstance(e, dict) else None
        if (not isinstance(e.get("dtype") if isinstance(e, dict) else None, str)
                or not isinstance(shape, list) or len(shape) > 8
                or not all(type(d) is int and 0 <= d < 2**40 for d in shape)
                or not isinstance(offsets, list) or len(offsets) != 2
                or not all(type(o) is int and 0 <= o for o in offsets)
                or offsets[0] > offsets[1]):
            raise ModelLoadError(f"{path} has a malformed safetensors header (tensor {k[:80]!r})")
        end = max(end, offsets[1])
    size = path.stat().st_size
    if size < 8 + header_len + end:
        raise ModelLoadError(f"{path} is truncated ({size} bytes, the header needs "
                             f"{8 + header_len + end}); copy or download it again")
    return header


_LAYER_INDEX = re.compile(r"\.(?:layers|h)\.(\d+)\.")


def _check_layer_count(config: dict[str, Any], headers: list[dict[str, Any]]) -> None:
    """Refuse a config that asks for more layers than the weights hold, before the model is
    built from it (``num_hidden_layers: 1e9`` would otherwise build for ever)."""
    asked = config.get("num_hidden_layers", config.get("n_layer"))
    held = {int(m.group(1)) for h in headers for k in h if (m := _LAYER_INDEX.search(k))}
    if not held or isinstance(asked, bool) or not isinstance(asked, (int, float)):
        return  # other checks (LlamaConfig / GPT2Config) give the precise message
    if asked != len(held):
        raise ModelLoadError(f"config.json says {asked:g} layers but the weights hold "
                             f"{len(held)}; the config does not match the weights")


def estimate_bytes(headers: list[dict[str, Any]], precision: str) -> int:
    """Memory the weights take at ``precision``, plus 10% for activations and the KV cache."""
    target = _RESIDENT_BYTES[precision]
    n = 0
    for header in headers:
        for name, e in header.items():
            if name != "__metadata__" and not name.endswith(_IGNORED_SUFFIXES):
                count = 1
                for d in e["shape"]:
                    count *= d
                n += count * (target if e["dtype"].startswith(("F", "BF")) else
                              _DTYPE_BYTES.get(e["dtype"], 4))
    return int(n * 1.1) + (64 << 20)


def load_text_tokenizer(path: str | Path) -> TextTokenizer:
    """The tokenizer of the model at ``path`` (a GGUF file, a folder holding one, a Hugging
    Face folder or a LoRA adapter's folder), without its weights: to count a text's tokens as
    the model will see them."""
    from desktop_app.core.model_registry import folder_gguf
    from desktop_app.ml.text.gguf_file import GGUFFile
    from desktop_app.ml.text.gguf_loader import is_gguf
    from desktop_app.ml.text.gguf_tokenizer import tokenizer_from_gguf

    path = Path(path)
    if (path / "adapter_config.json").is_file():   # a LoRA adapter: its base's tokenizer
        from desktop_app.ml.text.adapter import base_of
        path = base_of(path)
    if path.is_dir() and not (path / "config.json").is_file():
        path = folder_gguf(path) or path
    if is_gguf(path):
        return tokenizer_from_gguf(GGUFFile(path))[0]
    return TextTokenizer.from_folder(path)


def load_text_model(folder: str | Path, *, precision: str = "fp32",
                    progress: ProgressFn | None = None, check_memory: bool = True,
                    available_bytes: int | None = None,
                    name: str | None = None, notice=None) -> LoadedTextModel:
    """Load the model in ``folder`` at ``precision``: "fp32", "bf16", "int8" / "int4"
    (weight-only, bf16 activations, see :mod:`desktop_app.ml.text.quant`) or "auto" (the
    file's own). ``folder`` may also be a GGUF file (:mod:`desktop_app.ml.text.gguf_loader`);
    ``name`` names it. ``notice`` gets one line when a kernel is missing (default: stderr)."""
    folder = Path(folder)
    report = progress or (lambda f, m: None)
    from desktop_app.ml.text.gguf_loader import is_gguf, load_gguf_model

    if is_gguf(folder):
        return load_gguf_model(folder, precision=precision, progress=progress,
                               check_memory=check_memory, available_bytes=available_bytes,
                               name=name, notice=notice)
    if (folder / "adapter_config.json").is_file():  # a LoRA adapter: its base + the adapter
        if precision not in (*PRECISIONS, "auto"):   # (auto: the base's own)
            raise ModelLoadError(f"unknown precision {precision!r}; choose "
                                 f"{', '.join(PRECISIONS)}")
        from desktop_app.ml.text.adapter import load_adapter_model
        return load_adapter_model(folder, precision=precision, progress=progress,
                                  check_memory=check_memory, available_bytes=available_bytes)
    if precision == "auto":  # the folder's own (fp32 unless its config says 16-bit)
        cfg_path = folder / "config.json"
        precision = folder_precision(_read_json(cfg_path)) if cfg_path.is_file() else "fp32"
    if precision not in PRECISIONS:
        raise ModelLoadError(f"unknown precision {precision!r}; choose {', '.join(PRECISIONS)}")
    if not folder.is_dir():
        raise ModelLoadError(f"model folder {folder} does not exist")
    if not (folder / "config.json").is_file():
        raise ModelLoadError(f"{folder / 'config.json'} is missing: not a model folder")
    config = _read_json(folder / "config.json")
    report(0.0, f"Reading {folder.name}")
    files = find_weight_files(folder)
    headers = [_check_file(f) for f in files]
    _check_layer_count(config, headers)
    need = estimate_bytes(headers, precision)
    free = available_bytes if available_bytes is not None else read_meminfo_available()
    if check_memory and free is not None and need > free:
        raise ModelLoadError(
            f"{folder.name} needs about {need / 2**30:.1f} GiB of memory at {precision} but only "
            f"{free / 2**30:.1f} GiB is free; close other programs, choose bf16, or pick a "
            f"smaller model")
    tokenizer = TextTokenizer.from_folder(folder)
    arch, model = build_model(config)
    _load_weights(model, arch, files, headers, PRECISIONS[precision], report)
    n_parameters = sum(p.numel() for p in model.parameters())  # before quantizing
    if precision in ("int8", "int4"):
        report(0.96, f"Quantizing to {precision}")
        quantize_model(model, arch, bits=8 if precision == "int8" else 4,
                       notice=notice or stderr_notice)
    model.eval()
    gen_cfg = _read_json(folder / "generation_config.json") if (
        folder / "generation_config.json").is_file() else {}
    tok_cfg = _read_json(folder / "tokenizer_config.json") if (
        folder / "tokenizer_config.json").is_file() else {}
    report(1.0, f"Loaded {folder.name}")
    return LoadedTextModel(
        model=model, tokenizer=tokenizer, folder=folder, arch=arch, config=config,
        weight_files=files, precision=precision, n_parameters=n_parameters,
        eos_ids=_eos_ids(config, gen_cfg, tokenizer),
        generation_defaults=generation_defaults(gen_cfg),
        chat_template=_chat_template(tok_cfg),
        special_tokens={k: v for k in ("bos_token", "eos_token", "pad_token", "unk_token")
                        if isinstance(v := _tok(tok_cfg.get(k)), str)})


def _load_weights(model, arch, files, headers, dtype, report) -> None:
    params = dict(model.named_parameters())
    tied = getattr(model.config, "tie_word_embeddings", arch == "gpt2")
    seen: set[str] = set()
    total = max(1, sum(len(h) - ("__metadata__" in h) for h in headers))
    done = [0]

    def tick() -> None:
        done[0] += 1
        if done[0] % 16 == 0 or done[0] == total:
            report(0.05 + 0.9 * done[0] / total, f"Loading weights ({done[0]}/{total})")

    for path in files:
        try:
            _load_file(model, arch, path, params, tied, seen, dtype, tick)
        except ModelLoadError:
            raise
        except Exception as exc:  # safetensors' own errors (bad dtype, bad offsets, I/O)
            raise ModelLoadError(f"cannot read the weights in {path}: {exc}") from None
    missing = sorted(set(params) - seen)
    if missing:
        more = f" and {len(missing) - 3} more" if len(missing) > 3 else ""
        raise ModelLoadError(f"the weights lack tensor {missing[0]!r}"
                             f"{', ' + ', '.join(map(repr, missing[1:3])) if missing[1:3] else ''}"
                             f"{more}; the files may be incomplete or for another model")
    if hasattr(model, "reset_rope"):  # the RoPE buffer was built on the meta device
        model.reset_rope(device="cpu")


def _load_file(model, arch, path, params, tied, seen, dtype, tick) -> None:
    """Copy every tensor of one safetensors file into ``model`` (checked by name and shape)."""
    with safe_open(str(path), framework="pt", device="cpu") as fh:
        for key in fh.keys():
            tick()
            name = _expected_name(arch, key)
            if name.endswith(_IGNORED_SUFFIXES) or (tied and name == "lm_head.weight"):
                continue
            if name not in params:
                raise ModelLoadError(f"{path.name} holds tensor {key!r}, which this {arch} "
                                     f"model does not have; config.json may not match the "
                                     f"weights")
            param = params[name]
            shape = tuple(fh.get_slice(key).get_shape())
            if shape != tuple(param.shape):
                raise ModelLoadError(f"tensor {key!r} in {path.name} has shape {list(shape)} "
                                     f"but config.json implies {list(param.shape)}")
            owner_name, _, leaf = name.rpartition(".")
            owner = model.get_submodule(owner_name)
            tensor = fh.get_tensor(key).to(dtype)
            relayout = dtype == torch.bfloat16 and _decode_layout(arch, name, tied)
            tensor = weight_for_decode(tensor) if relayout else tensor.contiguous()
            owner._parameters[leaf] = torch.nn.Parameter(tensor, requires_grad=False)
            seen.add(name)


def _decode_layout(arch: str, name: str, tied: bool) -> bool:
    """Whether a weight is multiplied as (out, in) and so is stored in decode layout (bf16
    only: for float32 the plain layout measured as fast or faster, e.g. GPT-2's output
    matrix 18.7 ms vs 21.9 ms, while bf16's went from 22.7 ms to 5.8 ms)."""
    if arch == "gpt2":
        return name == "transformer.wte.weight"  # the tied output matrix; Conv1D is (in, out)
    return name.endswith(("_proj.weight", "lm_head.weight")) or (
        tied and name == "model.embed_tokens.weight")


def _tok(value):
    return value.get("content") if isinstance(value, dict) else value


def _eos_ids(config: dict, gen_cfg: dict, tokenizer: TextTokenizer) -> tuple[int, ...]:
    ids: list[int] = []
    for source in (gen_cfg.get("eos_token_id"), config.get("eos_token_id")):
        for v in (source if isinstance(source, list) else [source]):
            if isinstance(v, int) and v not in ids:
                ids.append(v)
    if tokenizer.eos_id is not None and tokenizer.eos_id not in ids:
        ids.append(tokenizer.eos_id)
    return tuple(ids)


def generation_defaults(gen_cfg: dict[str, Any]) -> dict[str, Any]:
    """``generation_config.json`` values as Reverie sampler-setting names (for the UI)."""
    out: dict[str, Any] = {}
    mapping = {"temperature": "temperature", "top_k": "top_k", "top_p": "top_p",
               "min_p": "min_p", "typical_p": "typical_p",
               "repetition_penalty": "repeat_penalty", "max_new_tokens": "max_tokens"}
    for src, dst in mapping.items():
        if isinstance(gen_cfg.get(src), (int, float)) and not isinstance(gen_cfg[src], bool):
            out[dst] = gen_cfg[src]
    if gen_cfg.get("do_sample") is False:
        out["temperature"] = 0.0  # the authors ask for greedy decoding
    return out


def _chat_template(tok_cfg: dict[str, Any]) -> str | None:
    tpl = tok_cfg.get("chat_template")
    if isinstance(tpl, list):  # [{"name": "default", "template": "..."}, ...]
        named = {t.get("name"): t.get("template") for t in tpl if isinstance(t, dict)}
        tpl = named.get("default") or next(iter(named.values()), None)
    return tpl if isinstance(tpl, str) else None


def read_config(folder: Path) -> dict[str, Any]:
    """``config.json`` of a folder as a dict (ModelLoadError when unreadable)."""
    return json.loads(json.dumps(_read_json(Path(folder) / "config.json")))
