"""The LoRA fine-tuning :class:`~desktop_app.ml.training.loop.TrainTask`: a frozen base text
model (a name, HF folder or GGUF file, loaded by Reverie's own loader and dequantized to
float32) with low-rank adapters (:mod:`desktop_app.ml.text.lora`) on its projections.

* Held-out measure: bits per byte of the held-out documents (sliding window, stride half the
  context, each document after ``<|endoftext|>``: the same rule as ``reverie eval text``),
  before the first step and at every evaluation (``held_out``).
* bf16: the frozen projection weights are stored in bfloat16 and products run under bf16
  autocast (AMX/AVX512-BF16 matrix units); the adapters, embeddings, norms and the optimiser
  stay float32, as does the residual stream. See ``benchmarks/bench_finetune.py``.
* Checkpoints hold only the adapters (see ``state.checkpoint_weights``); ``export`` writes a
  PEFT adapter folder.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import torch
from torch import nn

from desktop_app.ml.text import lora
from desktop_app.ml.text.bpe import EOT_ID
from desktop_app.ml.training.text_eval import bits_per_byte
from desktop_app.ml.training.text_task import TextTask, sample_tokens


def to_bf16_projections(model: nn.Module) -> None:
    """Store the frozen projection weights in bfloat16 (products then run on bf16 units)."""
    with torch.no_grad():
        for name, module in model.named_modules():
            if name.rpartition(".")[2] in lora.TARGETS and isinstance(module, nn.Linear):
                module.weight.data = module.weight.data.to(torch.bfloat16).contiguous()


def load_base(path: Path, *, bf16: bool = False) -> tuple[nn.Module, object]:
    """(Llama model with float32 weights, its TextTokenizer) from a folder or GGUF file."""
    from desktop_app.core.errors import UsageError
    from desktop_app.ml.text.loader import load_text_model

    lm = load_text_model(path, precision="fp32", check_memory=True)
    if lm.arch != "llama":
        raise UsageError(f"{path}: LoRA fine-tuning needs a Llama-family model, this one is "
                         f"{lm.arch}")
    model = lm.model
    if bf16:
        to_bf16_projections(model)
    return model, lm.tokenizer


class LoRATextTask(TextTask):
    """Trains LoRA adapters of a frozen base on windows of the user's text."""

    def __init__(self, base_path: Path, base_ref: str, base_config: dict, tokenizer, train,
                 val_docs: list[str], *, rank: int, alpha: float, bf16: bool,
                 data_fingerprint: str, sample_prompt: str, eval_batch: int = 4,
                 sample_tokens: int = 40, base_model: nn.Module | None = None) -> None:
        self.base_path, self.base_ref, self.base_config = base_path, base_ref, base_config
        self.tokenizer = tokenizer            # TextTokenizer of the base
        self.train, self.val_docs = train, val_docs
        self.context = train.context
        self.rank, self.alpha, self.bf16 = rank, alpha, bf16
        self.data_fingerprint = data_fingerprint
        self.sample_prompt, self.sample_tokens = sample_prompt, sample_tokens
        self.eval_batch = eval_batch
        self.origin = f"fine-tuning {base_ref} with rank-{rank} adapters (the base is frozen)"
        self._base = base_model   # already loaded (float32); used by the first build_model

    def identity(self) -> dict:
        tok_hash = hashlib.sha256(self.tokenizer.tok.to_str().encode()).hexdigest()[:16]
        return {"kind": "text-lora", "base": self.base_ref, "model": self.base_config,
                "rank": self.rank, "alpha": self.alpha, "targets": list(lora.TARGETS),
                "context": self.context, "tokenizer": tok_hash, "data": self.data_fingerprint}

    def build_model(self) -> nn.Module:
        model, self._base = self._base, None
        if model is None:
            model, _ = load_base(self.base_path)
        if self.bf16:
            to_bf16_projections(model)
        lora.apply_lora(model, self.rank, self.alpha)  # A's init follows torch's seed
        model.train()
        return model

    def eval_batches(self):
        return []

    def held_out(self, model) -> tuple[float, float]:
        res = bits_per_byte(model, self.tokenizer.tok, self.val_docs, self.context,
                            bos_id=EOT_ID, batch=self.eval_batch, check_roundtrip=False)
        return res.loss_per_token, res.bits_per_byte

    def sample(self, model, step: int) -> str | None:
        if not self.sample_prompt:
            return None
        ids = [EOT_ID] + self.tokenizer.encode(self.sample_prompt, add_special_tokens=False)
        out = sample_tokens(model, ids, self.sample_tokens, self.context, temperature=0.7,
                            seed=0, top_k=40)  # one seed: before/after differ by the model only
        return self.sample_prompt + self.tokenizer.decode(out)

    def export(self, model, out_dir: Path, dtype: torch.dtype = torch.float32) -> None:
        lora.save_adapter(model, out_dir, base=self.base_ref)


def sample_prompt_from(text: str, words: int = 12) -> str:
    """The first ``words`` words of the held-out text: the samples continue the user's own
    writing (the same prompt before and after fine-tuning)."""
    parts = text.strip().split()
    return " ".join(parts[:words])
