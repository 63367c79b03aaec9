"""Held-out evaluation of a causal LM in units that compare across tokenizers: bits per byte.

bits per byte = (total negative log-likelihood of the documents, in bits) / (their UTF-8 bytes).
Each document is scored as ``<|endoftext|>`` followed by its tokens; every token is predicted
from up to ``context - 1`` preceding tokens with a sliding window (stride ``stride``: each window
scores only its last ``stride`` tokens, the first window scores all). A byte-level BPE decodes
back to exactly the document, so the bytes counted are the bytes predicted.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Callable

import torch
import torch.nn.functional as F


@dataclass(frozen=True)
class BpbResult:
    nll_nats: float
    tokens: int
    bytes: int
    documents: int

    @property
    def bits_per_byte(self) -> float:
        return self.nll_nats / math.log(2) / max(self.bytes, 1)

    @property
    def loss_per_token(self) -> float:
        return self.nll_nats / max(self.tokens, 1)

    def to_json(self) -> dict:
        return {"bits_per_byte": self.bits_per_byte, "loss_per_token": self.loss_per_token,
                "tokens": self.tokens, "bytes": self.bytes, "documents": self.documents}


def _windows(n: int, context: int, stride: int) -> list[tuple[int, int, int]]:
    """(start, end, first scored position) windows over positions 0..n-1 of a sequence.

    Targets are positions 1..n-1; a window [start, end) scores targets in [score_from, end).
    """
    out, start, scored = [], 0, 1
    while scored < n:
        end = min(n, start + context)
        out.append((start, end, scored))
        scored = end
        start = max(0, end - (context - stride))
        if end == n:
            break
    return out


#: Positions whose logits exist at once while scoring. A 2,048-token window over SmolLM2's
#: 49,152-token vocabulary has 400 MB of float32 logits and as much again for their
#: log-softmax: that was the peak of a LoRA run on a CPU without bf16 units (3.5 GiB, the
#: training steps 2.4). 256 positions: 50 MB.
SCORE_ROWS = 256


def _next_token_nll(model, x: torch.Tensor) -> torch.Tensor:
    """The negative log-likelihood (b, T-1) of each next token of ``x`` (b, T), in nats. A
    model with ``logits_from_hidden`` (Reverie's GPT-2 and Llama) gets its logits made
    :data:`SCORE_ROWS` positions at a time from its final hidden states; any other model's
    whole logits are scored in pieces of as many positions (no second copy for their
    log-softmax)."""
    targets, rows = x[:, 1:], SCORE_ROWS
    head = getattr(model, "logits_from_hidden", None)
    whole = model(x[:, :-1], hidden_only=True) if head is not None else model(x[:, :-1])
    parts = []
    for s in range(0, targets.shape[1], rows):
        logits = head(whole[:, s:s + rows]) if head is not None else whole[:, s:s + rows].float()
        parts.append(F.cross_entropy(logits.transpose(1, 2), targets[:, s:s + rows],
                                     reduction="none"))
    return torch.cat(parts, dim=1)


@torch.no_grad()
def score_documents(model, token_lists: list[list[int]], byte_counts: list[int], context: int,
                    stride: int | None = None, batch: int = 16,
                    progress: Callable[[int, int], None] | None = None) -> BpbResult:
    """Sum the NLL of every token after the first of each list (the first is the BOS token)."""
    stride = stride or max(1, context // 2)
    device = next(model.parameters()).device
    model.eval()
    jobs: list[tuple[list[int], int]] = []  # (window tokens, how many of its targets to score)
    for ids in token_lists:
        for start, end, first in _windows(len(ids), context, stride):
            jobs.append((ids[start:end], end - first))
    jobs.sort(key=lambda j: -len(j[0]))  # equal lengths batch together
    total, ntok = 0.0, 0
    for i in range(0, len(jobs), batch):
        chunk = jobs[i:i + batch]
        T = len(chunk[0][0])
        same = [j for j in chunk if len(j[0]) == T]
        rest = [j for j in chunk if len(j[0]) != T]
        for group in ([same] + [[j] for j in rest]):
            x = torch.tensor([w for w, _ in group], device=device)  # (b, T)
            nll = _next_token_nll(model, x)  # (b, T-1)
            for row, (_, k) in enumerate(group):
                total += float(nll[row, -k:].double().sum())
                ntok += k
        if progress:
            progress(min(i + batch, len(jobs)), len(jobs))
    return BpbResult(nll_nats=total, tokens=ntok, bytes=sum(byte_counts),
                     documents=len(token_lists))


def bits_per_byte(model, tokenizer, docs: list[str], context: int, *, bos_id: int = 0,
                  stride: int | None = None, batch: int = 16, check_roundtrip: bool = True,
                  progress: Callable[[int, int], None] | None = None) -> BpbResult:
    """Held-out bits per byte of ``docs`` under ``model`` with a ``tokenizers`` tokenizer.

    ``check_roundtrip``: refuse a tokenizer that does not decode back to the exact text (then
    the bytes counted would not be the bytes predicted).
    """
    encs = tokenizer.encode_batch(docs, add_special_tokens=False)
    token_lists = [[bos_id] + list(e.ids) for e in encs]
    for doc, ids in zip(docs, token_lists if check_roundtrip else []):
        if tokenizer.decode(ids[1:], skip_special_tokens=False) != doc:
            raise ValueError("the tokenizer does not round-trip this text; bits per byte would "
                             "not count the same bytes")
    return score_documents(model, token_lists, [len(d.encode("utf-8")) for d in docs],
                           context, stride, batch, progress)
