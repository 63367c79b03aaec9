"""Token-by-token generation with a KV cache, as a generator that checks a cancel token per token.

One :class:`Generation` runs one prompt with N variants: the prompt is prefilled once (batch 1),
the KV cache is expanded to N rows, and the variants decode together in one batch. Variant ``i``
draws with its own numpy generator seeded ``seed + i`` (mod 2**64), so the same model, prompt,
settings and seed give the same text every run.

Per token it yields a :class:`Step`: the token's :class:`TokenInfo` (id, text piece, probability
after the samplers, raw softmax probability, top alternatives) and the text *released* to the
reader now. Text is held back while a multi-byte character is incomplete, and while the end of
the text could still be the start of a stop string (a matched stop string is trimmed).

Context overflow is never silent: when prompt + max_tokens exceed the context, the oldest
prompt tokens are dropped up front; if generation still reaches the end of the context, the
most recent half is kept and re-prefilled. Both count in ``dropped_context_tokens``.
"""

from __future__ import annotations

import dataclasses
import os
import time
from dataclasses import dataclass
from typing import Iterator, Sequence

import numpy as np
import torch

from desktop_app.core.errors import ReverieError
from desktop_app.core.jobs import CancelToken
from desktop_app.core.sampling import Sampler, SamplerSettings, dry_breaker_ids, fresh_seed
from desktop_app.core.textgen import GenerationResult, TokenAlternative, TokenInfo
from desktop_app.ml.text.chat import render_chat
from desktop_app.ml.text.loader import LoadedTextModel
from desktop_app.ml.text.tokenizer import IncrementalDecoder

PREFILL_CHUNK = 512  # prompt tokens per forward pass (bounds activation memory; cancel between)
SEED_MOD = 2**64


def default_threads() -> int:
    """Threads for generation: the cores this process may use, less one (at least one).

    One core stays free for the GUI and the OS. On a loaded 2-core machine, two torch threads
    were measured several times slower than one (each waits for the other to get a core).
    """
    try:
        cores = len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        cores = os.cpu_count() or 1
    return max(1, cores - 1)


def configure_threads(n: int | None = None) -> int:
    n = n or default_threads()
    if torch.get_num_threads() != n:
        torch.set_num_threads(n)
    return n


def prompt_ids(lm: LoadedTextModel, text: str, *, chat: bool = False,
               system: str | None = None) -> list[int]:
    """Token ids for ``text``: as-is for a base model, or wrapped by the chat template."""
    if not chat:
        return lm.tokenizer.encode(text)
    if not lm.chat_template:
        raise ReverieError(f"{lm.name} has no chat template (tokenizer_config.json has no "
                           f"chat_template); generate without chat mode to continue text")
    rendered = render_chat(lm.chat_template, text, system=system,
                           special_tokens=lm.special_tokens)
    return lm.tokenizer.encode(rendered, add_special_tokens=False)


@dataclass(frozen=True)
class Step:
    variant: int
    token: TokenInfo | None  # None for a final release of held-back text
    text: str  # text released to the reader with this step (may be "")


class _Variant:
    """Book-keeping of one continuation (lives inside a Generation)."""

    def __init__(self, index: int, sampler: Sampler, decoder: IncrementalDecoder) -> None:
        self.index, self.sampler, self.decoder = index, sampler, decoder
        self.tokens: list[TokenInfo] = []
        self.full = ""  # all decoded text so far
        self.released = 0  # characters of `full` handed to the reader
        self.finish: str | None = None
        self.end_time = 0.0


class Generation:
    """Generate from ``lm``; iterate :meth:`steps`, then read :attr:`results` (one per variant).

    Runs on the thread that iterates it (the engine worker or the CLI's main thread).
    """

    def __init__(self, lm: LoadedTextModel, prompt_ids: Sequence[int],
                 settings: SamplerSettings | None = None, *, max_tokens: int = 200,
                 stop: Sequence[str] = (), variants: int = 1, cancel: CancelToken | None = None,
                 top_alternatives: int = 5, context_length: int | None = None) -> None:
        if max_tokens < 1 or variants < 1:
            raise ValueError("max_tokens and variants must be at least 1")
        settings = settings or SamplerSettings()
        if settings.seed is None:
            settings = settings.with_seed(fresh_seed())
        self.lm, self.settings, self.seed = lm, settings, int(settings.seed)
        self.max_tokens, self.n_variants = int(max_tokens), int(variants)
        self.stop = tuple(s for s in stop if s)
        self.cancel = cancel or CancelToken()
        self.top_n = int(top_alternatives)
        self.ctx = min(lm.max_context, context_length or lm.max_context)
        ids = [int(t) for t in prompt_ids]
        if not ids:  # nothing to condition on: start from BOS (or GPT-2's <|endoftext|>)
            start = lm.tokenizer.bos_id if lm.tokenizer.bos_id is not None else (
                lm.eos_ids[0] if lm.eos_ids else 0)
            ids = [start]
        keep = min(len(ids), max(self.ctx - self.max_tokens, self.ctx // 2, 1))
        self.dropped = len(ids) - keep
        self.prompt_ids = ids[len(ids) - keep:]
        self.results: list[GenerationResult] = []
        self.prompt_tokens_per_s = 0.0

    # -- the loop ----------------------------------------------------------------------------
    def steps(self) -> Iterator[Step]:
        with self.lm.use.using():  # a background compile waits for the end
            yield from self._steps()

    def _steps(self) -> Iterator[Step]:
        lm, model = self.lm, self.lm.model
        breakers = self._breakers()
        vs = [_Variant(i, Sampler(self.settings.with_seed((self.seed + i) % SEED_MOD),
                                  breaker_ids=breakers),
                       IncrementalDecoder(lm.tokenizer, self.prompt_ids))
              for i in range(self.n_variants)]
        histories = [list(self.prompt_ids) for _ in vs]  # tokens currently in the context
        all_history = [list(self.prompt_ids) for _ in vs]  # for the penalties (never shifted)
        eos = set(lm.eos_ids)
        cap = min(self.ctx, len(self.prompt_ids) + self.max_tokens)
        t0 = time.perf_counter()
        cache = self._new_cache(1, cap)
        logits = self._prefill(cache, self.prompt_ids, 0)  # (1, V)
        self.decode_start = time.perf_counter()
        if logits is None:
            for v in vs:
                self._finish(v, "cancelled")
            self.results = [self._result(v) for v in vs]
            return
        self.prompt_tokens_per_s = len(self.prompt_ids) / max(self.decode_start - t0, 1e-9)
        if len(vs) > 1:
            cache, logits = self._expand(cache, logits, len(vs))
        pos = len(self.prompt_ids)
        step_ids = torch.zeros((len(vs), 1), dtype=torch.long)
        for _ in range(self.max_tokens):
            rows = logits.numpy()
            for v in vs:
                if v.finish is None:
                    yield from self._sample_one(v, rows[v.index], all_history[v.index], eos)
                    if v.finish is None and len(v.tokens) >= self.max_tokens:
                        self._finish(v, "length")
            if self.cancel.cancelled:
                for v in vs:
                    self._finish(v, "cancelled")
            if all(v.finish is not None for v in vs):
                break
            for v in vs:
                tok = v.tokens[-1].id if v.tokens else histories[v.index][-1]
                step_ids[v.index, 0] = tok
                histories[v.index].append(tok)
            if pos >= cap:  # context full: keep the recent half, re-prefill it
                pos = self._shift(histories)
                logits = self._prefill_rows(cache, histories)
                continue
            logits = self._decode(step_ids, cache, pos)  # (B, V)
            pos += 1
        for v in vs:
            yield from self._release_rest(v)
        self.results = [self._result(v) for v in vs]

    def run(self) -> list[GenerationResult]:
        """Generate to the end without streaming; return the results."""
        for _ in self.steps():
            pass
        return self.results

    # -- pieces of the loop ------------------------------------------------------------------
    # Torch work runs in inference mode one call at a time, never across a ``yield``: the
    # mode is thread-local and must not leak into the code consuming the steps.
    @torch.inference_mode()
    def _new_cache(self, batch: int, cap: int):
        model = self.lm.model
        return model.new_cache(batch, cap, getattr(model, "cache_dtype", None)
                               or next(model.parameters()).dtype)

    @torch.inference_mode()
    def _expand(self, cache, logits: torch.Tensor, n: int):
        return cache.expand(n, len(self.prompt_ids)), logits.expand(n, -1).clone()

    @torch.inference_mode()
    def _decode(self, step_ids: torch.Tensor, cache, pos: int) -> torch.Tensor:
        compiler = self.lm.compiler  # the compiled step once its background build is done
        out = compiler.step(step_ids, cache, pos) if compiler is not None else None
        return out if out is not None else self.lm.model(step_ids, cache, pos)[:, -1]

    @torch.inference_mode()
    def _prefill(self, cache, ids: list[int], start: int) -> torch.Tensor | None:
        """Logits (1, V) after ``ids``; None when cancelled between chunks."""
        model, logits = self.lm.model, None
        for i in range(0, len(ids), PREFILL_CHUNK):
            if self.cancel.cancelled:
                return None
            chunk = torch.tensor([ids[i:i + PREFILL_CHUNK]], dtype=torch.long)
            logits = model(chunk, cache, start + i, last_only=True)[:, -1]
        return logits

    @torch.inference_mode()
    def _prefill_rows(self, cache, histories: list[list[int]]) -> torch.Tensor:
        ids = torch.tensor(histories, dtype=torch.long)
        return self.lm.model(ids, cache, 0, last_only=True)[:, -1]

    def _shift(self, histories: list[list[int]]) -> int:
        keep = max(1, self.ctx // 2)
        dropped = len(histories[0]) - keep
        for h in histories:
            del h[:dropped]
        self.dropped += dropped
        return keep

    def _breakers(self):
        s = self.settings
        if "dry" not in s.enabled_stages() or not s.dry_sequence_breakers:
            return ()
        tok = self.lm.tokenizer
        pieces = self.lm.token_pieces()
        return dry_breaker_ids(s.dry_sequence_breakers, pieces,
                               lambda text: tok.encode(text, add_special_tokens=False))

    def _sample_one(self, v: _Variant, logits: np.ndarray, history: list[int], eos: set[int]):
        token, probs = v.sampler.sample(logits, history)
        raw = _softmax(logits)
        piece = "" if token in eos else v.decoder.push(token)
        info = TokenInfo(id=token, text=piece, probability=float(probs[token]),
                         raw_probability=float(raw[token]),
                         alternatives=self._alternatives(probs, raw))
        v.tokens.append(info)
        history.append(token)
        if token in eos:
            self._finish(v, "eos")
            yield Step(v.index, info, self._release(v, final=True))
            return
        v.full += piece
        yield Step(v.index, info, self._release(v, final=False))

    def _release(self, v: _Variant, *, final: bool) -> str:
        """Hand over the text that can no longer become part of a stop string."""
        end = len(v.full)
        if self.stop:
            search_from = max(0, v.released - max(len(s) for s in self.stop))
            hits = [i for i in (v.full.find(s, search_from) for s in self.stop) if i >= 0]
            if hits:
                end = min(hits)
                v.full = v.full[:end]
                self._finish(v, "stop")
                final = True
            elif not final:
                end -= _held_back(v.full, self.stop)
        out = v.full[v.released:end]
        v.released = max(v.released, end)
        return out

    def _release_rest(self, v: _Variant) -> Iterator[Step]:
        tail = v.decoder.flush() if v.finish != "stop" else ""
        if tail and v.finish in ("length", "cancelled") and v.tokens:
            v.full += tail  # a dangling partial character: shown as U+FFFD, kept with its token
            v.tokens[-1] = dataclasses.replace(v.tokens[-1], text=v.tokens[-1].text + tail)
        rest = self._release(v, final=True) if v.finish != "stop" else ""
        if rest:
            yield Step(v.index, None, rest)

    def _finish(self, v: _Variant, reason: str) -> None:
        if v.finish is None:
            v.finish, v.end_time = reason, time.perf_counter()

    def _alternatives(self, probs: np.ndarray, raw: np.ndarray) -> tuple[TokenAlternative, ...]:
        if self.top_n <= 0:
            return ()
        k = min(self.top_n, raw.size)
        cand = np.unique(np.concatenate([np.argpartition(-raw, k - 1)[:k],
                                         np.argpartition(-probs, k - 1)[:k]]))
        order = np.lexsort((-raw[cand], -probs[cand]))[:k]
        tok = self.lm.tokenizer
        return tuple(TokenAlternative(id=int(i), text=tok.token_text(int(i)),
                                      probability=float(probs[i]),
                                      raw_probability=float(raw[i])) for i in cand[order])

    def _result(self, v: _Variant) -> GenerationResult:
        elapsed = max((v.end_time or time.perf_counter()) - self.decode_start, 1e-9)
        decoded = max(len(v.tokens) - 1, 0)  # the first token comes from the prefill
        return GenerationResult(
            text=v.full, token_ids=tuple(t.id for t in v.tokens), tokens=tuple(v.tokens),
            finish_reason=v.finish or "length", dropped_context_tokens=self.dropped,
            settings=v.sampler.settings, seed=v.sampler.seed, model_name=self.lm.name,
            prompt_tokens=len(self.prompt_ids), prompt_tokens_per_s=self.prompt_tokens_per_s,
            generated_tokens_per_s=decoded / elapsed if decoded else 0.0, variant=v.index)


def _softmax(logits: np.ndarray) -> np.ndarray:
    z = logits.astype(np.float64)
    z -= z.max()
    np.exp(z, out=z)
    z /= z.sum()
    return z


def _held_back(text: str, stops: Sequence[str]) -> int:
    """Length of the longest suffix of ``text`` that is a proper prefix of a stop string."""
    best = 0
    for s in stops:
        for n in range(min(len(s) - 1, len(text)), best, -1):
            if text.endswith(s[:n]):
                best = n
                break
    return best
