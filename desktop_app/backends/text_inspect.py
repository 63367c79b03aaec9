"""Handler for ``NextTokenLogitsJob``: one forward pass over a text, logits of the next token.

Runs on the engine's worker thread. The loaded model comes from the worker's model cache (the
same entry text generation uses); results are kept in a small per-(model, text) LRU so moving
the cursor back and forth costs nothing. Long texts keep their most recent tokens, as
generation does, and the result says how many were dropped. The key/value cache of the last
text is kept per model, so the next request prefills only the tokens after the shared prefix.
"""

from __future__ import annotations

from collections import OrderedDict
from pathlib import Path

import numpy as np

from desktop_app.backends.base import JobContext
from desktop_app.core.textgen_inspect import NextTokenLogits, NextTokenLogitsJob

_RESULTS: OrderedDict[tuple, NextTokenLogits] = OrderedDict()
_MAX_RESULTS = 16


def _model(job: NextTokenLogitsJob, ctx: JobContext):
    from desktop_app.backends import text as text_backend  # noqa: PLC0415 - shares its cache key

    return text_backend.get_model(ctx, job.model_dir, job.precision)


#: model key -> (token ids whose keys/values the cache holds, the cache): the last text's
#: prefix is reused, so a cursor move or a few typed characters cost a few token steps
#: instead of a forward pass over the whole text (SmolLM2, 250 tokens: one step ~15 ms
#: against a ~0.4 s prompt pass on a quiet core)
_PREFIX: OrderedDict[tuple, tuple[list[int], object]] = OrderedDict()
_MAX_PREFIXES = 2


def _forward(lm, window: list[int], model_key: tuple, ctx: JobContext):
    """Logits (1, V) after ``window``, prefilling only what the kept cache does not hold."""
    import torch  # noqa: PLC0415 - torch only in the worker

    model = lm.model
    held, cache = _PREFIX.pop(model_key, ([], None))
    if cache is None or len(window) > cache.max_len:
        held = []  # a new cache, with room for the text to grow
        dtype = getattr(model, "cache_dtype", None) or next(model.parameters()).dtype
        with torch.inference_mode():
            cache = model.new_cache(1, min(lm.max_context, max(512, 2 * len(window))), dtype)
    same = 0
    for a, b in zip(held, window):
        if a != b:
            break
        same += 1
    start = min(same, len(window) - 1)  # at least the last token runs: its logits are needed
    logits = None
    with torch.inference_mode():
        for i in range(start, len(window), 512):
            ctx.token.raise_if_cancelled()
            chunk = torch.tensor([window[i:i + 512]], dtype=torch.long)
            logits = model(chunk, cache, i, last_only=True)[:, -1]
    _PREFIX[model_key] = (list(window), cache)
    while len(_PREFIX) > _MAX_PREFIXES:
        _PREFIX.popitem(last=False)
    return logits


def run_next_token_logits(job: NextTokenLogitsJob, ctx: JobContext) -> NextTokenLogits:
    import torch  # noqa: PLC0415 - torch only in the worker

    key = (str(Path(job.model_dir).resolve()), job.precision, job.context_length, job.text,
           job.label_count, job.dry_sequence_breakers)
    if key in _RESULTS:
        _RESULTS.move_to_end(key)
        return _RESULTS[key]
    lm = _model(job, ctx)
    ctx.token.raise_if_cancelled()
    tok = lm.tokenizer
    ids = tok.encode(job.text) if job.text else []
    if not ids:  # an empty document: start from BOS (or GPT-2's <|endoftext|>), as generation
        ids = [tok.bos_id if tok.bos_id is not None else (lm.eos_ids[0] if lm.eos_ids else 0)]
    limit = min(lm.max_context, job.context_length or lm.max_context)
    dropped = max(0, len(ids) - limit)
    window = ids[dropped:]
    with lm.use.using():  # a background compile waits until the model is quiet
        logits = _forward(lm, window, (*key[:2], id(lm.model)), ctx)
    row = logits[0].float().numpy().astype(np.float32, copy=True)
    row.setflags(write=False)
    n = min(job.label_count, row.size)
    top = np.argpartition(-row, n - 1)[:n]
    labels = tuple((int(i), tok.token_text(int(i))) for i in top)
    breakers = ()
    if job.dry_sequence_breakers:
        from desktop_app.core.sampling import dry_breaker_ids  # noqa: PLC0415

        breakers = tuple(dry_breaker_ids(job.dry_sequence_breakers, lm.token_pieces(),
                                         lambda t: tok.encode(t, add_special_tokens=False)))
    result = NextTokenLogits(model_dir=job.model_dir, text_chars=len(job.text), logits=row,
                             history=tuple(window), labels=labels, breaker_ids=breakers,
                             prompt_tokens=len(ids), dropped_tokens=dropped,
                             max_context=lm.max_context, model_sha256=lm.sha256())
    _RESULTS[key] = result
    while len(_RESULTS) > _MAX_RESULTS:
        _RESULTS.popitem(last=False)
    return result
