"""Open a LoRA adapter folder as a text model: its base, with the adapter merged at load.

An adapter folder (PEFT's format, written by ``reverie train text --lora``) holds
``adapter_config.json`` + ``adapter_model.safetensors``; ``base_model_name_or_path`` names the
base as Reverie finds it: a model name (``smollm2-135m-instruct``), or a path (absolute, or
relative to the adapter folder) to a model folder or ``.gguf`` file.

At fp32 and bf16 the adapter is merged at load: ``W + (alpha/r) B A`` is added once to the
float32 base weights (about 0.1 s for a 135M model), after which decoding costs exactly what
the base costs. At int4 and int8 (and at "auto" for a quantized GGUF base, the Write room's
default) the base keeps its packed weights and the adapter is applied on the fly
(:class:`~desktop_app.ml.text.lora.LowRankAdded`, one pair of small products per fused
projection): merged and requantized, the weights lose most of what the fine-tune learned, and
the packed base decodes about twice as fast as the float32 merge (``benchmarks/
bench_finetune.py``). Applied on the fly, each projection's update keeps only the singular
directions that carry :data:`~desktop_app.ml.text.lora.ON_THE_FLY_ENERGY` of it: the decoder
reads the adapter's weights at every token, and a trained adapter uses few of its directions
(``benchmarks/bench_adapter_decode.py``). ``reverie eval text`` scores at fp32 by default:
merged, the adapter exactly.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

import torch

from desktop_app.core.errors import ModelLoadError, UsageError
from desktop_app.ml import checkpoints as ck
from desktop_app.ml.text import lora


def is_adapter(folder: str | Path) -> bool:
    return (Path(folder) / lora.CONFIG_FILE).is_file()


def resolve_model(ref: str, relative_to: Path | None = None) -> Path:
    """A model name, folder or ``.gguf`` file as a path (UsageError when not found)."""
    p = Path(ref).expanduser()
    if relative_to is not None and not p.is_absolute() and (relative_to / p).exists():
        return (relative_to / p).resolve()
    if p.is_file() and p.suffix.lower() == ".gguf":
        return p.resolve()
    from desktop_app.commands.generate_text import resolve_text_model
    return resolve_text_model(ref)


def base_of(folder: Path) -> Path:
    """The base model an adapter folder names (ModelLoadError when it cannot be found)."""
    cfg = lora.read_adapter_config(folder)
    ref = cfg.get("base_model_name_or_path")
    if not isinstance(ref, str) or not ref.strip():
        raise ModelLoadError(f"{folder / lora.CONFIG_FILE} does not name its base model")
    try:
        base = resolve_model(ref, relative_to=folder)
    except UsageError as exc:
        raise ModelLoadError(f"the adapter {folder.name} was trained on {ref!r}, which is not "
                             f"installed here ({exc})") from None
    if is_adapter(base):
        raise ModelLoadError(f"the adapter {folder.name} names another adapter as its base")
    return base


def base_reference(folder: Path) -> str:
    """How an adapter trained further from ``folder`` names the same base: its model name
    when the adapter names the base by name (it stays findable on another machine), else the
    base's absolute path (a path relative to ``folder`` would not be relative to the new
    adapter's folder)."""
    base = base_of(folder)
    ref = str(lora.read_adapter_config(folder)["base_model_name_or_path"]).strip()
    as_path = Path(ref).expanduser()
    by_path = ("/" in ref or "\\" in ref or ref.lower().endswith(".gguf")
               or as_path.exists() or (Path(folder) / as_path).exists())
    return str(base) if by_path else ref


def load_adapter_model(folder: Path, *, precision: str = "fp32", progress=None,
                       check_memory: bool = True, available_bytes: int | None = None):
    """A :class:`~desktop_app.ml.text.loader.LoadedTextModel` of base + adapter: merged at
    fp32/bf16, on the fly over the packed base at int4/int8 and at "auto" for a quantized
    base."""
    from desktop_app.ml.text import loader

    folder = Path(folder)
    base = base_of(folder)
    report = progress or (lambda f, m: None)

    def load(at: str):
        return loader.load_text_model(base, precision=at, progress=progress,
                                      check_memory=check_memory, available_bytes=available_bytes)

    # a quantized base keeps its packed weights and gets the adapter on the fly: merged and
    # requantized, the weights lose most of what the fine-tune learned (lora.LowRankAdded)
    float_target = precision in ("fp32", "bf16")
    lm = load("fp32" if float_target else precision)
    if not float_target:          # "auto" resolved: the base's own (int4 for a Q4 GGUF)
        precision = lm.precision
    quantized = precision in ("int4", "int8")
    if not quantized and lm.precision != "fp32":   # a 16-bit base: merged in float32 first
        lm = load("fp32")
    if lm.arch != "llama":
        raise ModelLoadError(f"the adapter {folder.name} needs a Llama-family base")
    report(0.97, f"Applying the adapter {folder.name}")
    if quantized:
        lora.add_adapter_on_the_fly(lm.model, folder)
    else:
        lora.merge_adapter_into(lm.model, folder)
        convert_precision(lm.model, lm.arch, precision)
    # named after the adapter folder (messages and `reverie eval text` then say which model
    # was scored: the base's name would read as the base's figure)
    return dataclasses.replace(
        lm, folder=folder, precision=precision, _sha256=None, _pieces=None, display_name=None,
        weight_files=[*lm.weight_files, folder / lora.WEIGHTS_FILE])


def convert_precision(model, arch: str, precision: str, notice=None) -> None:
    """Turn float32 weights into ``precision`` the way the loader does at load time
    (``notice``: one line when the int4 kernel is missing and int8 is used)."""
    from desktop_app.ml.text.loader import PRECISIONS, _decode_layout
    from desktop_app.ml.text.ops import weight_for_decode
    from desktop_app.ml.text.quant import quantize_model

    if precision not in PRECISIONS:
        raise ModelLoadError(f"unknown precision {precision!r}")
    if precision == "bf16":
        tied = bool(getattr(model.config, "tie_word_embeddings", False))
        with torch.no_grad():
            for name, p in model.named_parameters():
                t = p.data.to(torch.bfloat16)
                p.data = weight_for_decode(t) if _decode_layout(arch, name, tied) else t
    elif precision in ("int8", "int4"):   # int4 was ignored here: the model stayed float32
        quantize_model(model, arch, bits=8 if precision == "int8" else 4, notice=notice)


def merge_to_folder(adapter_dir: Path, out_dir: Path) -> Path:
    """Write base + adapter as one Hugging Face model folder (float32) into ``out_dir``."""
    from desktop_app.ml.text.loader import load_text_model

    lm = load_adapter_model(Path(adapter_dir))
    out_dir = Path(out_dir)
    if out_dir.exists() and any(out_dir.iterdir()):
        raise UsageError(f"{out_dir} is not empty; choose a new folder for the merged model")
    out_dir.mkdir(parents=True, exist_ok=True)
    cfg = lm.model.config.to_hf()
    ck.save_json(out_dir / "config.json", cfg)
    tensors = {k: v.detach().float().contiguous() for k, v in lm.model.state_dict().items()
               if k != "lm_head.weight" or not cfg.get("tie_word_embeddings")}
    ck.save_tensors(out_dir / "model.safetensors", tensors, metadata={"format": "pt"})
    lm.tokenizer.tok.save(str(out_dir / "tokenizer.json"))
    tok_cfg = {k: v for k, v in lm.special_tokens.items()}
    tok_cfg["tokenizer_class"] = "PreTrainedTokenizerFast"
    if lm.chat_template:
        tok_cfg["chat_template"] = lm.chat_template
    ck.save_json(out_dir / "tokenizer_config.json", tok_cfg)
    gen = {"eos_token_id": list(lm.eos_ids) or None}
    ck.save_json(out_dir / "generation_config.json", gen)
    load_text_model(out_dir, check_memory=False)  # it must open as any model folder does
    return out_dir
