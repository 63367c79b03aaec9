"""The text medium's :class:`~desktop_app.ml.training.loop.TrainTask`: a Llama LM on BPE tokens.

Model sizes (``--size``) are Llama configurations with tied embeddings; ``export`` writes a
Hugging Face folder (config.json, model.safetensors, tokenizer.json, tokenizer_config.json,
generation_config.json) that Reverie and ``transformers`` both load.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn

from desktop_app.ml import checkpoints as ck
from desktop_app.ml.text.bpe import EOT_ID, save_tokenizer
from desktop_app.ml.text.llama import LlamaConfig, LlamaForCausalLM
from desktop_app.ml.text.train_data import TokenWindows

#: name -> (hidden, layers, heads, kv heads, mlp, vocab, context)
SIZES: dict[str, tuple[int, int, int, int, int, int, int]] = {
    "test": (32, 2, 2, 2, 64, 512, 32),          # unit tests only (~37k parameters)
    "tiny": (256, 4, 8, 8, 688, 4096, 256),      # 4.2M: the built-in story model (CPU, ~2 h)
    "small": (384, 6, 6, 6, 1024, 8192, 256),    # 13.8M
    "base": (512, 8, 8, 8, 1408, 8192, 512),     # 29.9M (a GPU, or a long CPU run)
}


def llama_config(size: str, vocab_size: int | None = None) -> LlamaConfig:
    hidden, layers, heads, kv, mlp, vocab, ctx = SIZES[size]
    return LlamaConfig(vocab_size=vocab_size or vocab, hidden_size=hidden,
                       intermediate_size=mlp, num_hidden_layers=layers,
                       num_attention_heads=heads, num_key_value_heads=kv,
                       max_position_embeddings=ctx, rms_norm_eps=1e-5,
                       tie_word_embeddings=True, bos_token_id=EOT_ID, eos_token_id=EOT_ID)


class TextTask:
    """Trains :class:`LlamaForCausalLM` on windows of a token stream (next-token loss)."""

    def __init__(self, config: LlamaConfig, tokenizer, train: TokenWindows, val: TokenWindows,
                 *, eval_batches: int = 20, eval_batch_size: int = 16,
                 data_fingerprint: str = "", sample_prompt: str = "Once upon a time",
                 sample_tokens: int = 48) -> None:
        self.config, self.tokenizer = config, tokenizer
        self.train, self.val = train, val
        self.context = train.context
        self._eval = val.even_batches(eval_batches, eval_batch_size)
        self.data_fingerprint = data_fingerprint
        self.sample_prompt, self.sample_tokens = sample_prompt, sample_tokens

    def identity(self) -> dict:
        tok_hash = hashlib.sha256(self.tokenizer.to_str().encode()).hexdigest()[:16]
        return {"kind": "text-llama", "model": self.config.to_hf(), "context": self.context,
                "tokenizer": tok_hash, "data": self.data_fingerprint}

    def build_model(self) -> nn.Module:
        return LlamaForCausalLM(self.config)

    def train_batch(self, gen, batch_size, part, nparts):
        return self.train.random_batch(gen, batch_size, part, nparts)

    def loss(self, model, batch) -> torch.Tensor:
        x, y = batch  # (B, T) each
        logits = model(x)  # (B, T, V)
        return F.cross_entropy(logits.reshape(-1, logits.shape[-1]), y.reshape(-1))

    def batch_units(self, batch) -> int:
        return int(batch[0].numel())

    def eval_batches(self):
        return self._eval

    def sample(self, model, step: int) -> str | None:
        ids = [EOT_ID] + self.tokenizer.encode(self.sample_prompt).ids
        out = sample_tokens(model, ids, self.sample_tokens, self.context, temperature=0.8,
                            seed=step)
        return self.sample_prompt + self.tokenizer.decode(out)

    def export(self, model, out_dir: Path, dtype: torch.dtype = torch.float32) -> None:
        export_hf(model, self.tokenizer, out_dir, self.context, dtype)


@torch.no_grad()
def sample_tokens(model: LlamaForCausalLM, ids: list[int], n: int, context: int, *,
                  temperature: float = 1.0, seed: int = 0, top_k: int = 0) -> list[int]:
    """Plain ancestral sampling (no KV cache): ``n`` new token ids after ``ids``."""
    device = next(model.parameters()).device
    gen = torch.Generator().manual_seed(seed)
    seq = list(ids)
    new: list[int] = []
    for _ in range(n):
        x = torch.tensor([seq[-context:]], device=device)
        logits = model(x, last_only=True)[0, -1].float().cpu()
        if temperature <= 0:
            nxt = int(logits.argmax())
        else:
            logits = logits / temperature
            if top_k > 0:
                kth = torch.topk(logits, top_k).values[-1]
                logits = logits.masked_fill(logits < kth, float("-inf"))
            nxt = int(torch.multinomial(torch.softmax(logits, -1), 1, generator=gen))
        if nxt == EOT_ID:
            break
        seq.append(nxt)
        new.append(nxt)
    return new


def export_hf(model: LlamaForCausalLM, tokenizer, out_dir: str | Path, context: int,
              dtype: torch.dtype = torch.float32) -> None:
    """Write a Hugging Face Llama folder (weights in ``dtype``) into ``out_dir``."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    cfg = model.config.to_hf()
    cfg["torch_dtype"] = str(dtype).replace("torch.", "")
    ck.save_json(out_dir / "config.json", cfg)
    tensors = {k: v.detach().to(dtype) for k, v in model.state_dict().items()}
    ck.save_tensors(out_dir / "model.safetensors", tensors, metadata={"format": "pt"})
    save_tokenizer(tokenizer, out_dir, context)
    ck.save_json(out_dir / "generation_config.json", {
        "bos_token_id": EOT_ID, "eos_token_id": EOT_ID, "pad_token_id": EOT_ID,
        "do_sample": True, "temperature": 0.8, "top_p": 0.95, "max_length": context})
