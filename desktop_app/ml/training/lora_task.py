"""The LoRA fine-tuning :class:`~desktop_app.ml.training.loop.TrainTask`: a frozen base text
model (a name, HF folder or GGUF file, loaded by Reverie's own loader and dequantized to
float32) with low-rank adapters (:mod:`desktop_app.ml.text.lora`) on its projections.

* Held-out measure: bits per byte of the held-out documents (sliding window of
  ``eval_context`` tokens, stride half of it, each document after ``<|endoftext|>``: the rule
  and, from the command, the default context of ``reverie eval text``),
  before the first step and at every evaluation (``held_out``), in float32 even in a bf16
  run. The text is used as written (hard line breaks kept, unlike from-scratch training), so
  these figures are the ones ``reverie eval text`` gives on the same files.
* bf16: the frozen projection weights of the adapted blocks are stored in bfloat16 and
  products run under bf16 autocast (AMX/AVX512-BF16 matrix units); the adapters, the lower
  blocks, embeddings, norms and the optimiser stay float32, as does the residual stream. See
  ``benchmarks/bench_finetune.py``.
* Continuing an adapter (``start_adapter``): the same layout is built and its ``A``/``B``
  loaded instead of PEFT's fresh start (``B`` = 0), so the evaluation before the first step
  scores the adapter continued, and an early stop there keeps it unchanged.
* Checkpoints hold only the adapters (see ``state.checkpoint_weights``); ``export`` writes a
  PEFT adapter folder holding the adapters of the best held-out evaluation (not the last: a run
  that ended on patience has already started to memorise the text).
* Speed (``benchmarks/bench_finetune.py``): adapters go on the upper ``lora_layers`` blocks only
  (PEFT's ``layers_to_transform``). The lower blocks are frozen and adapter-free, so their
  output for a training window never changes: it is computed once per window without autograd
  and cached (a few MB for a few hundred KB of text), and backward stops at the first adapted
  block. The loss over the 49k-token vocabulary is computed in chunks
  (:mod:`~desktop_app.ml.training.chunked_ce`), never as one (batch, 512, 49152) tensor.
  Training windows are fixed (half-overlapping) so that the cache applies. With adapters on
  every block there is no cache, and the text is read in passes instead (``train_batch_at``).
* Memory: with ``recompute`` the adapted blocks keep only their inputs for backward and run
  their forward again there (activation checkpointing, Chen et al. 2016): about 20 % slower a
  step, and the activations of 30 blocks no longer decide the peak (every block at rank 32,
  two windows of 512: 3.56 GiB without, 2.65 GiB with; bench_finetune, 2026-12-06). The
  command turns it on only for steps of more than one such window
  (``train_text_lora.recomputes``).
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import torch
from torch import nn
from torch.utils.checkpoint import checkpoint

from desktop_app.ml.text import lora
from desktop_app.ml.text.bpe import EOT_ID
from desktop_app.ml.training.chunked_ce import chunked_cross_entropy
from desktop_app.ml.training.text_eval import bits_per_byte
from desktop_app.ml.training.text_task import TextTask, sample_tokens

#: Cache the frozen lower blocks' outputs up to this size (float32 hidden states); beyond it
#: they are recomputed (still without autograd) for every step.
CACHE_LIMIT_BYTES = 512 * 2**20
#: Logits of the held-out windows scored at once stay under this (see ``eval_batch``).
EVAL_LOGITS_BYTES = 256 * 2**20


def to_bf16_projections(model: nn.Module, layers=None) -> None:
    """Store the frozen projection weights of blocks ``layers`` (None: all) in bfloat16
    (products then run on bf16 units without a cast per step)."""
    keep = None if layers is None else set(layers)
    with torch.no_grad():
        for name, module in model.named_modules():
            if name.rpartition(".")[2] in lora.TARGETS and isinstance(module, nn.Linear) \
                    and (keep is None or lora.layer_index(name) in keep):
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
                 sample_tokens: int = 40, base_model: nn.Module | None = None,
                 lora_layers: int = 0, dropout: float = 0.0, recompute: bool = True,
                 eval_context: int | None = None, targets: tuple[str, ...] | None = None,
                 start_adapter: Path | None = None) -> None:
        self.base_path, self.base_ref, self.base_config = base_path, base_ref, base_config
        self.tokenizer = tokenizer            # TextTokenizer of the base
        self.train, self.val_docs = train, val_docs
        self.context = train.context
        # the held-out figures are scored at `reverie eval text`'s context, not the training
        # windows': a longer context lowers every model's figure, the base's most
        self.eval_context = eval_context or self.context
        self.rank, self.alpha, self.bf16, self.dropout = rank, alpha, bf16, float(dropout)
        self.recompute = recompute
        self.targets = tuple(targets or lora.TARGETS)
        # an adapter folder to continue: its weights replace the fresh ones (B = 0) at build
        self.start_adapter = Path(start_adapter) if start_adapter is not None else None
        self.data_fingerprint = data_fingerprint
        self.sample_prompt, self.sample_tokens = sample_prompt, sample_tokens
        # windows scored together: at most eval_batch, and their float32 logits (and the
        # softmax beside them) under EVAL_LOGITS_BYTES — four 2,048-token windows of a 49k
        # vocabulary would be 1.6 GB, over the whole run's memory target
        vocab = int(base_config.get("vocab_size", 0)) or 1
        self.eval_batch = max(1, min(eval_batch,
                                     EVAL_LOGITS_BYTES // (self.eval_context * vocab * 4)))
        nblocks = int(base_config.get("num_hidden_layers", 0))
        self.lora_layers = lora_layers if 0 < lora_layers < nblocks else nblocks
        self.first = nblocks - self.lora_layers      # the first block with adapters
        self.where = where = ("every block" if self.first == 0 else
                              f"the top {self.lora_layers} of {nblocks} blocks")
        self.origin = (f"fine-tuning {base_ref} with rank-{rank} adapters on {where} "
                       + (f"from the adapter {self.start_adapter.name} "
                          if self.start_adapter else "") + "(the base is frozen)")
        self._base = base_model   # already loaded (float32); used by the first build_model
        # fixed half-overlapping windows (the lower blocks' outputs are cached per window)
        stride = max(1, self.context // 2)
        last = len(train.data) - self.context - 1
        self.starts = sorted(set(range(0, max(last, 0) + 1, stride)) | {max(last, 0)})
        per_window = self.context * int(base_config.get("hidden_size", 0)) * 4
        # with adapters on every block the "lower blocks" are the embedding lookup alone:
        # cheaper to redo than to keep (160 kB of German text held 290 MB of cached rows)
        self._cache_ok = (self.first > 0
                          and per_window * len(self.starts) <= CACHE_LIMIT_BYTES)
        self._cache: dict[int, torch.Tensor] = {}
        # without the cache the windows need not be fixed: the text is read in passes, each
        # its non-overlapping windows in a shuffled order from a random phase (train_batch_at)
        self.per_pass = (len(train.data) - 1) // self.context - 1
        self.in_passes = not self._cache_ok and self.per_pass >= 2
        self._order: tuple[int, list[int], int] | None = None   # (pass, window order, phase)
        self._head: torch.Tensor | None = None
        self.best: tuple[float, int, dict[str, torch.Tensor]] | None = None  # (bpb, evals, A/B)
        self._evals = 0

    def identity(self) -> dict:
        tok_hash = hashlib.sha256(self.tokenizer.tok.to_str().encode()).hexdigest()[:16]
        return {"kind": "text-lora", "base": self.base_ref, "model": self.base_config,
                "rank": self.rank, "alpha": self.alpha, "targets": list(self.targets),
                "lora_layers": self.lora_layers,
                "windows": "passes-shuffled-phase" if self.in_passes else "fixed-half-overlap",
                **({"dropout": self.dropout} if self.dropout else {}),
                "context": self.context, "eval_context": self.eval_context, "tokenizer": tok_hash,
                "data": self.data_fingerprint}

    def build_model(self) -> nn.Module:
        model, self._base = self._base, None
        if model is None:
            model, _ = load_base(self.base_path)
        n = len(model.model.layers)
        if self.bf16:
            # only the adapted blocks: the lower ones run once per window (cached) under
            # autocast, and stay float32 for the held-out evaluations (any input length)
            to_bf16_projections(model, range(self.first, n))
        # A's init follows torch's seed
        lora.apply_lora(model, self.rank, self.alpha, self.dropout, targets=self.targets,
                        layers=range(self.first, n))
        if self.start_adapter is not None:   # (a resumed run's checkpoint then replaces them)
            lora.load_adapter_weights(model, self.start_adapter)
        w = model.output_weight.detach()
        # the frozen output head in bf16 with bf16 products (56 MB more, AMX-fast)
        self._head = w.to(torch.bfloat16) if self.bf16 else w
        self._cache.clear()
        model.train()
        return model

    def train_batch(self, gen, batch_size, part, nparts):
        """Rows ``part/nparts`` of ``batch_size`` windows drawn from the fixed windows."""
        idx = torch.randint(0, len(self.starts), (batch_size,), generator=gen)
        per = batch_size // nparts
        idx = idx[part * per:(part + 1) * per]
        data = self.train.data
        rows = [torch.as_tensor(data[self.starts[i]:self.starts[i] + self.context + 1])
                for i in idx.tolist()]
        xy = torch.stack(rows).long()
        return idx, xy[:, :-1], xy[:, 1:]

    def train_batch_at(self, step: int, seed: int, batch_size: int, part: int, nparts: int):
        """The windows of step ``step`` (0-based): draws ``step * batch_size`` onwards of a
        sequence that reads the text pass after pass, each pass its ``per_pass``
        non-overlapping windows shuffled, starting from a phase drawn for that pass. A pass
        reads every token once (but at most two windows at the ends), no window twice, and
        each pass cuts the text at other places. Stateless in the step, so a resumed run
        reads the same windows. With the cache (fixed windows) or a text of fewer than three
        windows: :meth:`train_batch` with the loop's own generator."""
        if not self.in_passes:
            from desktop_app.ml.training.loop import step_generator
            return self.train_batch(step_generator(seed, step), batch_size, part, nparts)
        per = batch_size // nparts
        first = step * batch_size + part * per
        starts = [self._start_of(seed, draw) for draw in range(first, first + per)]
        data = self.train.data
        xy = torch.stack([torch.as_tensor(data[s:s + self.context + 1])
                          for s in starts]).long()
        return torch.tensor(starts), xy[:, :-1], xy[:, 1:]

    def _start_of(self, seed: int, draw: int) -> int:
        which, j = divmod(draw, self.per_pass)
        if self._order is None or self._order[0] != which:
            gen = torch.Generator().manual_seed((seed * 1_000_003 + which * 104_729 + 17)
                                                % (2**63 - 1))
            # the last window must end inside the text: phase + per_pass windows <= len - 1
            slack = len(self.train.data) - 1 - self.per_pass * self.context
            phase = int(torch.randint(0, slack + 1, (1,), generator=gen))
            self._order = (which, torch.randperm(self.per_pass, generator=gen).tolist(), phase)
        return self._order[2] + self._order[1][j] * self.context

    def batch_units(self, batch) -> int:
        return int(batch[1].numel())

    @torch.no_grad()
    def _lower(self, model, idx: torch.Tensor, x: torch.Tensor, cos, sin) -> torch.Tensor:
        """The frozen blocks' output (B, T, hidden) for these windows, cached per window."""
        missing = [r for r, i in enumerate(idx.tolist()) if i not in self._cache]
        if missing or not self._cache_ok:
            rows = list(range(len(idx))) if not self._cache_ok else missing
            h = model.model.embed_tokens(x[rows])
            for layer in model.model.layers[:self.first]:
                h = layer(h, cos, sin, None, 0)
            h = h.float()
            if not self._cache_ok:
                return h
            for r, hr in zip(rows, h):
                self._cache[int(idx[r])] = hr.clone()
        return torch.stack([self._cache[int(i)] for i in idx.tolist()])

    def loss(self, model, batch) -> torch.Tensor:
        idx, x, y = batch
        cos, sin = model.rope(0, x.shape[1], torch.float32)
        h = self._lower(model, idx, x, cos, sin)
        for layer in model.model.layers[self.first:]:
            if self.recompute and torch.is_grad_enabled():
                # non-reentrant: autocast and the dropout RNG state are replayed in backward
                h = checkpoint(layer, h, cos, sin, None, 0, use_reentrant=False)
            else:
                h = layer(h, cos, sin, None, 0)
        h = model.model.norm(h)
        return chunked_cross_entropy(h, self._head, y)

    def eval_batches(self):
        return []

    def held_out(self, model) -> tuple[float, float]:
        # float32 activations and products even in a bf16 run: the figures are the ones
        # `reverie eval text` gives on the merged adapter (float32), not bf16 approximations
        with torch.autocast("cpu", enabled=False):
            res = bits_per_byte(model, self.tokenizer.tok, self.val_docs, self.eval_context,
                                bos_id=EOT_ID, batch=self.eval_batch, check_roundtrip=False)
        self._evals += 1
        if self.best is None or res.bits_per_byte < self.best[0]:
            # copies: adapter_state's float32 tensors share storage with the live adapters,
            # which the optimizer keeps changing in place
            self.best = (res.bits_per_byte, self._evals,
                         {k: v.clone() for k, v in lora.adapter_state(model).items()})
        return res.loss_per_token, res.bits_per_byte

    def restore_best(self, model) -> float | None:
        """Put the best evaluated adapters back into ``model``; their bits per byte or None."""
        if self.best is None:
            return None
        with torch.no_grad():
            for name, m in lora.lora_modules(model).items():
                for part in ("lora_A", "lora_B"):
                    key = f"{lora.PEFT_PREFIX}{name}.{part}.weight"
                    getattr(m, part).weight.copy_(self.best[2][key])
        return self.best[0]

    def sample(self, model, step: int) -> str | None:
        if not self.sample_prompt:
            return None
        ids = [EOT_ID] + self.tokenizer.encode(self.sample_prompt, add_special_tokens=False)
        # under the run's autocast: a short prompt's products would otherwise meet the
        # bf16-stored base weights with float32 inputs (one seed: before/after differ by the
        # model only)
        with torch.autocast("cpu", dtype=torch.bfloat16, enabled=self.bf16):
            out = sample_tokens(model, ids, self.sample_tokens, self.context, temperature=0.7,
                                seed=0, top_k=40)
        return self.sample_prompt + self.tokenizer.decode(out)

    def export(self, model, out_dir: Path, dtype: torch.dtype = torch.float32) -> None:
        """The adapter of the best held-out evaluation (the checkpoints keep the last)."""
        self.restore_best(model)
        lora.save_adapter(model, out_dir, base=self.base_ref)


def sample_prompt_from(text: str, words: int = 12) -> str:
    """The first ``words`` words of the held-out text: the samples continue the user's own
    writing (the same prompt before and after fine-tuning)."""
    parts = text.strip().split()
    return " ".join(parts[:words])
