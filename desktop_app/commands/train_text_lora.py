"""``reverie train text --lora --init-from MODEL``: fine-tune a text model on your own writing.

The base (a model name such as ``smollm2-135m-instruct``, a model folder or a ``.gguf`` file)
stays frozen; low-rank adapters on its attention and MLP projections are trained with the
shared loop (checkpoints of the adapters only, ``--resume``, Ctrl+C/SIGTERM, ``--progress
json``). The user's text is split as for any training run (every 20th file held out, or the
last 10 % of each file when there are fewer than 10, or ``--val-list``); held-out bits per byte
are measured before the first step and at every evaluation, and the run ends early when they
stop improving (``--patience``) or when ``--max-minutes`` is spent. ``--out`` receives a PEFT
adapter folder (``adapter_config.json``, ``adapter_model.safetensors``) and ``MODEL_CARD.md``;
Reverie's commands and rooms load it as base + adapter (:mod:`desktop_app.ml.text.adapter`).
``--init-from`` may also name an adapter folder: training continues from its weights (with its
rank, scale and blocks) on the text given now, and the result is a new adapter on the same
base, never an adapter on an adapter (which PEFT could not load on the base).

Small text is normal here: from about 2 KB an adapter picks up vocabulary, names, spelling and
layout habits; it cannot learn facts or a plot from so little, and it starts to repeat the
text when trained for long (early stopping guards against that).
"""

from __future__ import annotations

import argparse
import hashlib
import math
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from desktop_app.commands.eval_text import DEFAULT_CONTEXT as EVAL_CONTEXT
from desktop_app.commands.core_sharing import CoreSharing
from desktop_app.commands.stop_signal import StopOnSignal
from desktop_app.commands.progress import note, progress_printer
from desktop_app.core.cpu_features import cpu_has_bf16
from desktop_app.core.errors import UsageError

#: Below this a held-out split would be a sentence or two: refuse (the data check agrees).
MIN_LORA_BYTES = 1_000
#: Windows of 256 tokens (twice the updates again) were tried in session 20, four minutes on
#: 200 kB: German -11.1 % against -10.6 to -11.0 % at 512, Alcott -3.8 % against -4.3 %.
DEFAULT_CONTEXT = 512
#: One window a step (session 18, the 2-core AVX2 machine, held-out bits per byte against the
#: tokens trained on, lr 5e-4): German 40 kB -6.6 % after 5,120 tokens in windows of one,
#: -5.7 % in pairs, and -8.2 % against -7.6 % after 20,480; Alcott -3.3 % after 5,120 tokens
#: against 10,240 in pairs. Twice the updates for the same products (docs/train-room.md).
DEFAULT_BATCH = 1
#: The adapted blocks recompute their forward pass in backward (activation checkpointing, about
#: a fifth of a step) only when a step holds more tokens than this: one window of 512 keeps its
#: activations in 2.5 GiB at the most (float32, every block, rank 32) and steps faster (138
#: against 108 tokens/s recomputed, two AVX2 cores); two windows without it took 4.2 GiB.
#: bench_finetune, one window kept against two recomputed: 80.9 against 60.0 tokens/s on one
#: thread, 128.4 against 119.0 on two.
RECOMPUTE_ABOVE_TOKENS = 512
EPOCHS = 4          # default steps: about this many passes over the training text
#: Adapters on every block by default (``--lora-layers N``: the top N only; the lower blocks
#: then run once per window, cached, and backward stops at the first adapted block: about twice
#: the steps a minute). Quiet machine, 2 threads, 4-minute budget, rank 32, lr 5e-4
#: (bench_finetune, 2026-12-06): As You Like It top 10 -3.9 % (2.80 GiB), every block -4.5 %;
#: Alcott top 10 -2.6 %, every block -3.9 % (a full fine-tune of every weight: -5.9 / -4.1 %).
#: Every block used to cost 3.56 GiB (over the issue's 3 GB); the adapted blocks now recompute
#: their forward in backward (lora_task), 2.65 GiB, so every block it is. (Those figures use
#: 512-token windows; scored with `reverie eval text`'s default 2,048, as runs are since
#: 2026-12-07: Alcott -3.2 %, As You Like It -4.1 %. Training windows of 1,024 or 2,048 tokens
#: were no better and cost 0.3-0.7 GB more: docs/train-room.md.)
LORA_LAYERS = 0
#: Default peak learning rate with rank 32 / alpha 64 (the command's defaults). Measured with
#: bench_finetune (quiet machine, 2 threads, top 10 blocks, 4-minute budget, 2026-12-06, before
#: every block was the default):
#: rank 8 at 2e-3 and at 5e-4 both -3.3 % on As You Like It; rank 32 at 5e-4 -3.9 % there and
#: -2.6 % on Alcott (rank 8 at 2e-3: -2.0 %), peak 2.8 GiB. A full fine-tune of every weight
#: reaches -5.9 % / -4.1 % on the same splits (bench_finetune_ceiling.py), the bound for any
#: adapter.
LORA_LR = 5e-4
#: ... unless the time budget holds less than one pass over the training text: then nothing is
#: seen twice, the adapter cannot start to memorise, and a higher rate learns more from what
#: the budget holds. Four minutes, 2 threads, the 2-core AVX2 EPYC (session 19, bench_finetune,
#: held out by `reverie eval text`): German 200 kB (0.4 passes) -8.6 % at 5e-4, **-10.0 %** at
#: 1e-3; Hamlet 160 kB (0.75 passes) -3.9 % both (1.5151 / 1.5146); Alcott 200 kB (0.5 passes)
#: -4.4 / -4.2 %, within a run's noise. With two passes or more it hurts prose: Alcott 40 kB
#: -3.4 % at 5e-4, -2.4 % at 1e-3 (German 40 kB: -7.6 / -7.9 %), so 5e-4 stays there.
LORA_LR_UNDER_ONE_PASS = 1e-3
#: What a budget is expected to hold: the default adapters' training rate on one thread
#: (bench_finetune, SmolLM2-135M, context 512), tokens/s by "the CPU multiplies bf16": a Xeon
#: with AMX 253 (session 16), the AVX2 EPYC 80.9 (session 18). One thread whatever --threads
#: says, so that a run resumed with other threads chooses the same rate (a resumed run must
#: keep its rate). Two threads read about 1.6 times this much: German 200 kB in four minutes
#: is estimated at 0.23 passes and read 0.4 times (0.5 since session 20's left-out
#: evaluation).
ONE_THREAD_TOKENS_PER_S = {True: 253.0, False: 80.9}
REFERENCE_PARAMETERS = 134_515_008  # SmolLM2-135M's (other bases scale by their size)
LORA_RANK, LORA_ALPHA = 32, 64.0   # the --lora-rank / --lora-alpha defaults (above)
MIN_STEPS, MAX_STEPS = 20, 2000
EVALS = 6           # held-out evaluations a run by default (besides the one before step 1)
#: The held-out text each evaluation scores, at most. A float32 evaluation with `reverie eval
#: text`'s 2,048-token window costs about 8 ms a token on one core (the 40 kB held out of a
#: novel: 82 s), and a run makes seven: with a novel's worth of text the evaluations took
#: longer than the training. 12 kB (~3,000 tokens, ~25 s) ranks the evaluations as well; a
#: held-out part up to this size (the 8 kB of bench_finetune's 40 kB) is scored whole,
#: exactly as `reverie eval text` scores it. ui/train/presets.py estimates with the same cap.
EVAL_MAX_BYTES = 12_000
#: Within a time budget the evaluations take at most this share of it. On a laptop's kind of
#: CPU (AVX2, float32) one evaluation of 8 kB of German held out took 20 s against 9 s a step,
#: and with one every 40 s of training plus one every few steps the evaluations took 100 s of a
#: four-minute run. Each now waits for three times its cost in training; with a small
#: held-out text (or a fast CPU) they come as often as before. (A fifth, tried first: German
#: 2 evaluations instead of 5, and with one window a step 54 steps instead of 17, -8.2 %
#: instead of -7.4 %; but on English prose, which starts to be memorised after two passes,
#: the best adapter fell between two evaluations: -3.0 % instead of -3.4 %.) The closing
#: evaluation counts as the next one, so none falls within that spacing of the budget's end.
EVAL_SHARE = 0.25


def scored_held_out(docs: list[str], max_bytes: int | None = None) -> list[str]:
    """The held-out documents an evaluation scores: all of them when they fit ``max_bytes``
    (default :data:`EVAL_MAX_BYTES`), else the start of each, in proportion to its size and
    cut after a line, so that every file's held-out part is represented."""
    max_bytes = EVAL_MAX_BYTES if max_bytes is None else max_bytes
    sizes = [len(d.encode("utf-8")) for d in docs]
    total = sum(sizes)
    if total <= max_bytes:
        return list(docs)
    out = []
    for doc, size in zip(docs, sizes):
        share = max(1, max_bytes * size // total)
        part = doc.encode("utf-8")[:share].decode("utf-8", "ignore")
        line = part.rfind("\n")
        part = part[:line + 1] if line > len(part) // 2 else part
        if part.strip():
            out.append(part)
    return out or [docs[0][:max_bytes]]


def recomputes(batch: int, context: int) -> bool:
    """Whether a backward pass over ``batch`` windows of ``context`` tokens recomputes the
    adapted blocks (for memory) rather than keeping their activations."""
    return batch * context > RECOMPUTE_ABOVE_TOKENS


def default_steps(train_tokens: int, tokens_per_step: int) -> int:
    return max(MIN_STEPS, min(MAX_STEPS, math.ceil(EPOCHS * train_tokens / tokens_per_step)))


def budget_passes(train_tokens: int, steps: int, tokens_per_step: int,
                  max_minutes: float | None, bf16: bool, parameters: int) -> float | None:
    """How many times the run is expected to read its training text when ``max_minutes``
    rather than its steps ends it (at :data:`ONE_THREAD_TOKENS_PER_S`, less the evaluations'
    share); None when there is no budget or the steps end the run first."""
    if not max_minutes:
        return None
    rate = ONE_THREAD_TOKENS_PER_S[bf16] * REFERENCE_PARAMETERS / max(parameters, 1)
    tokens = max_minutes * 60 * (1 - EVAL_SHARE) * rate
    return tokens / max(train_tokens, 1) if tokens < steps * tokens_per_step else None


def default_lr(passes: float | None) -> float:
    """The peak learning rate for a run whose time budget reads its text ``passes`` times
    (None: the steps end it)."""
    return LORA_LR_UNDER_ONE_PASS if passes is not None and passes < 1 else LORA_LR


@dataclass(frozen=True)
class StartAdapter:
    """An adapter folder a run continues: its layout (kept) and how it names its base."""

    folder: Path
    base_path: Path
    base_ref: str
    rank: int
    alpha: float
    targets: tuple[str, ...]
    layers: list[int] | None      # PEFT's layers_to_transform (None: every block)
    weights_sha256: str


def read_start_adapter(folder: Path) -> StartAdapter:
    """The adapter ``--init-from`` names, checked for what continuing it needs (UsageError)."""
    from desktop_app.core.errors import ModelLoadError
    from desktop_app.ml.text import lora
    from desktop_app.ml.text.adapter import base_of, base_reference

    try:
        cfg = lora.read_adapter_config(folder)
        base_path, base_ref = base_of(folder), base_reference(folder)
    except ModelLoadError as exc:
        raise UsageError(f"cannot continue {folder}: {exc}") from None
    targets, layers = cfg.get("target_modules"), cfg.get("layers_to_transform")
    if not isinstance(targets, list) or not targets or not set(targets) <= set(lora.TARGETS):
        raise UsageError(f"cannot continue {folder}: its adapters are on {targets!r}; Reverie "
                         f"trains adapters on {', '.join(lora.TARGETS)}")
    if isinstance(layers, int) and not isinstance(layers, bool):
        layers = [layers]
    if layers is not None and (not isinstance(layers, list) or not layers or not all(
            isinstance(i, int) and not isinstance(i, bool) and 0 <= i < 100_000
            for i in layers)):
        raise UsageError(f"cannot continue {folder}: unusable layers_to_transform {layers!r}")
    if cfg.get("bias", "none") not in ("none", None) or cfg.get("modules_to_save"):
        raise UsageError(f"cannot continue {folder}: it also trains biases or whole modules, "
                         f"which Reverie's fine-tune does not")
    weights = folder / lora.WEIGHTS_FILE
    if not weights.is_file():
        raise UsageError(f"cannot continue {folder}: {lora.WEIGHTS_FILE} is missing")
    digest = hashlib.sha256()
    with open(weights, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return StartAdapter(folder, base_path, base_ref, int(cfg["r"]), float(cfg["lora_alpha"]),
                        tuple(t for t in lora.TARGETS if t in targets),
                        sorted(set(layers)) if layers is not None else None,
                        digest.hexdigest()[:16])


def top_blocks(layers: list[int] | None, nblocks: int) -> int:
    """``--lora-layers``'s N for PEFT's ``layers_to_transform`` (0: every block); UsageError
    unless the blocks are the top N, the only layout Reverie's fine-tune trains."""
    if layers is None or layers == list(range(nblocks)):
        return 0
    if layers != list(range(nblocks - len(layers), nblocks)):
        raise UsageError(f"the adapter is on blocks {layers} of {nblocks}; continuing it needs "
                         f"adapters on every block or on the top N blocks")
    return len(layers)


def run_lora(args: argparse.Namespace) -> int:
    import numpy as np
    import torch

    from desktop_app.ml.text.adapter import is_adapter, merge_to_folder, resolve_model
    from desktop_app.ml.text.train_data import TokenWindows, encode_docs, load_corpus
    from desktop_app.ml.training import state
    from desktop_app.ml.training.lora_task import LoRATextTask, load_base, sample_prompt_from
    from desktop_app.ml.training.loop import TrainConfig, train

    if not args.init_from:
        raise UsageError("--lora needs --init-from MODEL (a model name, folder or .gguf file)")
    target = resolve_model(args.init_from)
    start = read_start_adapter(target) if is_adapter(target) else None
    if start is not None:   # continuing an adapter: its own rank and scale, or a clear refusal
        for option, given, own in (("--lora-rank", args.lora_rank, start.rank),
                                   ("--lora-alpha", args.lora_alpha, start.alpha)):
            if given is not None and float(given) != float(own):
                raise UsageError(f"{option} {given:g}: the adapter {target.name} you continue "
                                 f"has {own:g}, which training on keeps")
        args.lora_rank, args.lora_alpha = start.rank, start.alpha
    args.lora_rank = LORA_RANK if args.lora_rank is None else args.lora_rank
    args.lora_alpha = LORA_ALPHA if args.lora_alpha is None else args.lora_alpha
    if not 1 <= args.lora_rank <= 256:
        raise UsageError("--lora-rank must be between 1 and 256")
    if not 0 < args.lora_alpha <= 4096:
        raise UsageError("--lora-alpha must be positive (at most 4096)")
    if args.max_minutes is not None and not 0 < args.max_minutes <= 7 * 24 * 60:
        raise UsageError("--max-minutes must be positive (at most a week)")
    batch = args.batch_size or DEFAULT_BATCH
    if batch <= 0 or (args.steps is not None and args.steps <= 0) or args.grad_accum <= 0:
        raise UsageError("--steps, --batch-size and --grad-accum must be positive")
    if batch % args.grad_accum:
        raise UsageError(f"--batch-size {batch} must be a multiple of --grad-accum")
    if args.threads:
        torch.set_num_threads(args.threads)
    out = Path(args.out).expanduser()
    if start is not None and out.resolve() == start.folder.resolve():
        raise UsageError(f"--out {out} is the adapter you continue: write the new adapter to "
                         f"another folder (the one you continue stays as it is)")
    step = state.latest_step(out)
    if step > 0 and not args.resume:
        raise UsageError(f"{out} already holds a training run (checkpoint at step {step}); add "
                         f"--resume to continue it, or choose an empty --out")
    say = lambda m: note(args.progress, m)  # noqa: E731
    if start is not None:   # the new adapter goes on the same base, named as the old one names it
        base_path, base_ref = start.base_path, start.base_ref
    else:
        base_path = target
        given = Path(args.init_from).expanduser()
        is_path = "/" in args.init_from or given.exists() or args.init_from.endswith(".gguf")
        base_ref = str(base_path.resolve()) if is_path else args.init_from  # a name stays one

    # the text as written (hard line breaks kept): the adapter learns the writer's layout too,
    # and the held-out figures are those `reverie eval text` gives on the same files
    corpus = load_corpus(args.data, args.val_list, unwrap=False)
    ntrain, nval = corpus.byte_counts()
    if ntrain + nval < MIN_LORA_BYTES:
        raise UsageError(f"only {ntrain + nval} bytes of text: fine-tuning needs at least "
                         f"{MIN_LORA_BYTES:,} bytes (about half a page); 2 KB or more is better")
    say(f"data: {corpus.describe()}")
    if ntrain < 20_000:
        say(f"{ntrain / 1000:.1f} kB is little text: the adapter can pick up your vocabulary, "
            f"names, spelling and layout, not facts or a plot; early stopping keeps it from "
            f"memorising the text")
    bf16 = (args.bf16 or cpu_has_bf16()) and not args.bf16_off
    say(f"loading {base_ref if start else args.init_from} (frozen; "
        f"{'bf16' if bf16 else 'float32'} products)...")
    t_load = time.perf_counter()
    probe, tokenizer = load_base(base_path)
    base_config = probe.config.to_hf()
    max_ctx = int(probe.max_context)
    say(f"loaded in {time.perf_counter() - t_load:.1f} s")
    lora_layers = args.lora_layers if args.lora_layers is not None else LORA_LAYERS
    if start is not None:
        nblocks = int(base_config.get("num_hidden_layers", 0))
        own = top_blocks(start.layers, nblocks)
        if args.lora_layers is not None and (args.lora_layers if 0 < args.lora_layers < nblocks
                                             else 0) != own:
            raise UsageError(f"--lora-layers {args.lora_layers}: the adapter {target.name} you "
                             f"continue is on {'every block' if not own else f'the top {own}'}")
        lora_layers = own
        say(f"continuing the adapter {target.name} (rank {start.rank}, on "
            f"{'every block' if not own else f'the top {own} blocks'} of {base_ref}): its "
            f"weights are the starting point, and the result is a new adapter on the same base")
    train_ids = encode_docs(tokenizer.tok, corpus.train)
    val_docs = [t for _, t in corpus.val if t.strip()]
    scored = scored_held_out(val_docs)
    scored_bytes = sum(len(d.encode("utf-8")) for d in scored)
    capped = scored_bytes < sum(len(d.encode("utf-8")) for d in val_docs)
    if capped:
        say(f"each evaluation scores {scored_bytes:,} of the {nval:,} held-out bytes (the start "
            f"of every held-out part), to keep evaluations short")
    context = min(args.context or DEFAULT_CONTEXT, max_ctx, len(train_ids) - 2)
    if context < 16:
        raise UsageError("too little training text for even one short window (16 tokens)")
    steps = args.steps or default_steps(len(train_ids), batch * context)
    say(f"tokens: {len(train_ids):,} training, context {context}, {batch} "
        f"{'window' if batch == 1 else 'windows'} a step, "
        f"{steps} steps (about {steps * batch * context / max(len(train_ids), 1):.1f} passes)")
    lr = args.lr
    if lr is None:
        passes = budget_passes(len(train_ids), steps, batch * context, args.max_minutes, bf16,
                                sum(p.numel() for p in probe.parameters()))
        lr = default_lr(passes)
        if lr != LORA_LR:
            say(f"learning rate {lr:g}: {args.max_minutes:g} minutes hold about "
                f"{max(1, round(passes * 100))} % of one pass over this text, and what is read "
                f"once learns more at a higher rate")
    # (a capped held-out set is part of what a resumed run must match)
    data_key = hashlib.sha256((corpus.fingerprint() + str(base_path) + (
        f"|scored {scored_bytes}" if capped else "") + (
        f"|from {start.weights_sha256}" if start else "")).encode()).hexdigest()[:16]
    task = LoRATextTask(base_path, base_ref, base_config, tokenizer,
                        TokenWindows(np.asarray(train_ids), context), scored,
                        rank=args.lora_rank, alpha=args.lora_alpha, bf16=bf16,
                        dropout=args.lora_dropout,
                        # what one backward holds: a micro-batch of --grad-accum's
                        recompute=recomputes(batch // args.grad_accum, context),
                        data_fingerprint=data_key,
                        sample_prompt=sample_prompt_from(val_docs[0] if val_docs else ""),
                        base_model=probe, lora_layers=lora_layers,
                        targets=start.targets if start else None,
                        start_adapter=start.folder if start else None,
                        # scored as `reverie eval text` scores them by default, so the card's
                        # figures are the ones a user (or an outside check) gets from it
                        eval_context=min(EVAL_CONTEXT, max_ctx))
    del probe  # the task owns it now (one copy of the weights in memory)
    # EVALS held-out evaluations a run (the best one is exported: enough of them to catch the
    # turn before the adapter starts memorising the text), also spread over a time budget
    every = args.eval_every if args.eval_every != 200 else max(1, steps // EVALS)
    cfg = TrainConfig(
        steps=steps, batch_size=batch, grad_accum=args.grad_accum,
        lr=lr, min_lr=args.min_lr if args.min_lr is not None else lr / 10,
        warmup_steps=args.warmup if args.warmup is not None else max(1, steps // 20),
        weight_decay=0.0, eval_every=every,
        sample_every=args.sample_every if args.sample_every != 500 else 0,
        checkpoint_every=args.checkpoint_every if args.checkpoint_every != 200
        else max(1, min(50, steps // 4)),
        log_every=args.log_every if args.log_every != 10 else 1, seed=args.seed,
        bf16=bf16, device="cpu", eval_at_start=True,
        # with a time budget, also evaluate across it (the steps may not all fit)
        eval_every_s=(args.max_minutes or 0) * 60 / EVALS, eval_share=EVAL_SHARE,
        patience=3 if args.patience is None else args.patience,
        max_seconds=(args.max_minutes or 0) * 60)
    events: list = []
    with StopOnSignal() as stop, CoreSharing(args.threads, args.busy_threads, out) as cores:
        result = train(task, cfg, out, callbacks=[progress_printer(args.progress), events.append,
                                                  cores.on_event],
                       stop=stop, resume=args.resume)
    if result.stopped:
        print(f"reverie: stopped at step {result.step}; continue with the same command plus "
              f"--resume", file=sys.stderr)
        return 130
    from desktop_app.ml.training.lora_card import write_card
    write_card(out, events, base_ref=base_ref, data=args.data,   # argv[0]: reverie or __main__.py
               command=["reverie", *sys.argv[1:]], bf16=bf16,
               rank=args.lora_rank, alpha=args.lora_alpha, context=context,
               train_bytes=ntrain, heldout_bytes=nval,
               scored_bytes=scored_bytes if capped else None,
               blocks=task.where, eval_context=task.eval_context, lr=lr,
               targets=task.targets, continued=start.folder if start else None)
    if args.merge_to:
        say(f"merging the adapter into a full model folder {args.merge_to}...")
        merge_to_folder(out, Path(args.merge_to).expanduser())
    return 0
