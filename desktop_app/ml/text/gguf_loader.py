"""Load a GGUF model file into Reverie's own Llama implementation (weights dequantized).

:class:`~desktop_app.ml.text.gguf_file.GGUFFile` validates the file (nothing is allocated before
that), the tokenizer is rebuilt from the metadata
(:mod:`desktop_app.ml.text.gguf_tokenizer`), the model is built on the meta device and each
tensor is dequantized once into it at ``precision`` ("fp32" or "bf16"; llama.cpp's Q/K row
permutation undone, the output layer tied to the embeddings when ``output.weight`` is absent).
Progress goes to the loader's callback, which runs on the engine worker.
"""

from __future__ import annotations

from pathlib import Path

import torch

from desktop_app.core.errors import ModelLoadError
from desktop_app.core.gguf_header import packaged_name
from desktop_app.ml.text.gguf_file import GGUFFile
from desktop_app.ml.text.gguf_tokenizer import tokenizer_from_gguf
from desktop_app.ml.text.int4_gguf import QUANT_PRECISIONS, auto_precision, fill_quantized
from desktop_app.ml.text.llama import LlamaConfig, LlamaForCausalLM
from desktop_app.ml.text.ops import weight_for_decode
from desktop_app.ml.text.quant import stderr_notice

#: precisions a GGUF file is dequantized to (int4/int8 stay quantized: int4_gguf)
GGUF_PRECISIONS = {"fp32": torch.float32, "bf16": torch.bfloat16}


def is_gguf(path: str | Path) -> bool:
    """Whether ``path`` is a file that claims to be GGUF (by its name or its magic)."""
    p = Path(path)
    if not p.is_file():
        return False
    if p.suffix.lower() == ".gguf":
        return True
    try:
        with open(p, "rb") as fh:
            return fh.read(4) == b"GGUF"
    except OSError:
        return False


def load_gguf_model(path: str | Path, *, precision: str = "fp32", progress=None,
                    check_memory: bool = True, available_bytes: int | None = None,
                    name: str | None = None, notice=None):
    """A :class:`~desktop_app.ml.text.loader.LoadedTextModel` for the GGUF file ``path``."""
    from desktop_app.ml.text.loader import LoadedTextModel, read_meminfo_available

    path = Path(path)
    report = progress or (lambda f, m: None)
    if precision not in (*GGUF_PRECISIONS, *QUANT_PRECISIONS, "auto"):
        raise ModelLoadError(f"a GGUF model loads at auto, {', '.join(GGUF_PRECISIONS)}, "
                             f"{', '.join(QUANT_PRECISIONS)}, not {precision!r}")
    gf = GGUFFile(path, progress=report)
    if precision == "auto":
        precision = auto_precision(gf)  # the file's own: Q4 -> int4, Q8 -> int8, F16 -> bf16
    quantized = precision in QUANT_PRECISIONS
    dtype = GGUF_PRECISIONS.get(precision, torch.bfloat16)
    per_param = {"fp32": 4, "bf16": 2, "int8": 1.2, "int4": 2.7}[precision]  # int4: + bf16 copy
    need = int(gf.parameter_count() * per_param * 1.1) + (64 << 20)
    free = available_bytes if available_bytes is not None else read_meminfo_available()
    if check_memory and free is not None and need > free:
        raise ModelLoadError(f"{path.name} needs about {need / 2**30:.1f} GiB of memory at "
                             f"{precision} but only {free / 2**30:.1f} GiB is free; close other "
                             f"programs, choose bf16, or pick a smaller model")
    report(0.1, "Building the tokenizer")
    tokenizer, template = tokenizer_from_gguf(gf)
    config = gf.hf_config()
    try:
        cfg = LlamaConfig.from_hf(config)
    except (KeyError, TypeError, ValueError) as exc:
        raise ModelLoadError(f"{path.name} has an unusable configuration: {exc}") from None
    with torch.device("meta"):
        model = LlamaForCausalLM(cfg)
    if quantized:
        fill_quantized(model, gf, precision, report=report, notice=notice or stderr_notice)
    else:
        _fill(model, gf, dtype, report)
    model.eval()
    eos = [i for i in (config.get("eos_token_id"), tokenizer.eos_id) if isinstance(i, int)]
    # ChatML models end a turn with <|im_end|> and a document with <|endoftext|>: a
    # continuation that reaches either is finished (llama.cpp treats both as end of generation)
    for marker in ("<|im_end|>", "<|endoftext|>"):
        if (i := tokenizer.token_id(marker)) is not None:
            eos.append(i)
    report(1.0, f"Loaded {path.name}")
    return LoadedTextModel(
        model=model, tokenizer=tokenizer, folder=path, arch="llama", config=config,
        weight_files=[path], precision=precision, eos_ids=tuple(dict.fromkeys(eos)),
        n_parameters=gf.parameter_count(),
        generation_defaults={}, chat_template=template,
        special_tokens=dict(getattr(tokenizer, "special_tokens", {})),
        display_name=name or packaged_name(path) or path.stem)


def _fill(model: LlamaForCausalLM, gf: GGUFFile, dtype: torch.dtype, report) -> None:
    """Dequantize every tensor of ``gf`` into the meta-device ``model`` (names checked)."""
    params = dict(model.named_parameters())
    tied = model.config.tie_word_embeddings
    total = len(gf.tensors)
    for i, name in enumerate(gf.tensors):
        if name not in params:
            raise ModelLoadError(f"{gf.path.name}: tensor {name!r} has no place in the model")
        try:
            tensor = gf.dequantize(name)
        except Exception as exc:  # numpy errors on damaged block data
            raise ModelLoadError(f"cannot decode tensor {gf.tensors[name].gguf_name!r} of "
                                 f"{gf.path.name}: {exc}") from None
        tensor = tensor.to(dtype)
        decode = dtype == torch.bfloat16 and (
            name.endswith(("_proj.weight", "lm_head.weight"))
            or (tied and name == "model.embed_tokens.weight"))
        tensor = weight_for_decode(tensor) if decode else tensor.contiguous()
        owner_name, _, leaf = name.rpartition(".")
        model.get_submodule(owner_name)._parameters[leaf] = torch.nn.Parameter(
            tensor, requires_grad=False)
        if i % 8 == 0 or i == total - 1:
            report(0.15 + 0.8 * (i + 1) / total, f"Decoding weights ({i + 1}/{total})")
    missing = sorted(set(params) - set(gf.tensors))
    if missing:
        raise ModelLoadError(f"{gf.path.name} lacks tensor {missing[0]!r}")
    model.reset_rope(device="cpu")
