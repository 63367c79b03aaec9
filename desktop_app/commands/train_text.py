"""``reverie train text``: train a byte-level BPE tokenizer and a Llama model on text files.

Writes a Hugging Face layout folder into ``--out`` (config.json, model.safetensors,
tokenizer.json, tokenizer_config.json, generation_config.json) plus ``checkpoints/`` for
``--resume``. Ctrl+C (or SIGTERM) stops after saving a checkpoint. ``--progress json`` prints
one JSON object per line (the Train room reads these). Works under ``torchrun`` unchanged.

JSON lines (keys absent when not applicable), in order:
  {"kind": "prepare", "message": "..."}                       data / tokenizer / encoding notes
  {"kind": "start", "step": 0, "total_steps": N, "message": "4,212,992 parameters on cpu x1; ..."}
  {"kind": "step", "step": s, "total_steps": N, "loss": l, "lr": r, "tokens_per_s": t,
   "eta_s": e, "elapsed_s": x}                                   every --log-every steps
  {"kind": "eval", "step": s, "total_steps": N, "val_loss": v}    held-out loss
  {"kind": "sample", "step": s, "total_steps": N, "sample": "Once upon a time..."}
  {"kind": "checkpoint", "step": s, "total_steps": N, "checkpoint": "/path/step-000000s"}
  {"kind": "done" | "stopped", "step": s, "total_steps": N, "elapsed_s": x, "val_loss": v,
   "message": "model written to OUT"}
Failures print one line ``reverie: error: ...`` on stderr (exit 1; 2 for usage errors; 130
after a Ctrl+C/SIGTERM stop, which saves a checkpoint first).
"""

from __future__ import annotations

import argparse
import hashlib
import sys
from pathlib import Path

from desktop_app.commands.core_sharing import CoreSharing, add_busy_threads
from desktop_app.commands.stop_signal import StopOnSignal
from desktop_app.commands.train_text_lora import (DEFAULT_BATCH, LORA_ALPHA, LORA_LR,
                                                   LORA_LR_UNDER_ONE_PASS, LORA_RANK)
from desktop_app.commands import options as opt
from desktop_app.commands.progress import note, progress_printer
from desktop_app.core.errors import ReverieError, UsageError
from desktop_app.core.paths import WRITING_MODEL


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--data", nargs="+", type=opt.existing_path, required=True, metavar="DIR_OR_FILE",
                   help="folders (searched recursively) and/or files: UTF-8 text, Word .docx or "
                        ".doc, OpenDocument .odt, .rtf, .epub, web pages (.html) or Final Draft "
                        ".fdx scripts (their words), Reverie sessions (your words in them, not "
                        "the model's)")
    p.add_argument("--val-list", type=opt.existing_file, metavar="FILE",
                   help="file listing held-out files, one per line (default: every 20th file, "
                        "or the last 10%% of each file when there are fewer than 10)")
    p.add_argument("--out", type=opt.output_dir, required=True, metavar="DIR", help="run and model folder")
    p.add_argument("--size", default="tiny", choices=["tiny", "small", "base", "test"],
                   help="model size: tiny 4.2M, small 13.8M, base 29.9M parameters "
                        "(default tiny)")
    p.add_argument("--steps", type=opt.int_in(1, 10_000_000), default=None,
                   help="optimizer steps (default 2000; with --lora: sized from the amount "
                        "of text, about 4 passes over it)")
    p.add_argument("--batch-size", type=opt.int_in(1, 4096), default=None,
                   help=f"global sequences per step (default 16; {DEFAULT_BATCH} with --lora)")
    p.add_argument("--grad-accum", type=opt.int_in(1, 1024), default=1)
    p.add_argument("--lr", type=opt.float_in(0, 10, above=True), default=None,
                   help=f"peak learning rate (default 2e-3; with --lora {LORA_LR:.0e}, or "
                        f"{LORA_LR_UNDER_ONE_PASS:.0e} when --max-minutes holds less than one "
                        f"pass over the text)".replace("e-0", "e-"))
    p.add_argument("--min-lr", type=opt.float_in(0, 10), default=None, help="default lr/10")
    p.add_argument("--warmup", type=opt.int_in(0, 10_000_000), default=None, help="warm-up steps (default steps/20)")
    p.add_argument("--init-from", type=opt.text, metavar="MODEL", default=None,
                   help="fine-tune: start from this Llama model folder (its tokenizer and "
                        "size; --size and --vocab-size are then ignored). With --lora: a "
                        f"model name (e.g. {WRITING_MODEL}), a model folder, a .gguf file, "
                        "or an adapter folder to continue training (on more of your text; its "
                        "rank and blocks are kept, the result is a new adapter on the same "
                        "base)")
    p.add_argument("--lora", action="store_true",
                   help="train low-rank adapters on the --init-from model (frozen); writes a "
                        "PEFT adapter folder (adapter_config.json, adapter_model.safetensors)")
    # None: the default, or the adapter's own when --init-from is an adapter to continue
    p.add_argument("--lora-rank", type=opt.int_in(1, 256), default=None,
                   help=f"adapter rank, 1-256 (default {LORA_RANK})")
    p.add_argument("--lora-alpha", type=opt.float_in(0, 4096, above=True), default=None,
                   help=f"adapter scale numerator: updates are scaled by alpha/rank (default "
                        f"{LORA_ALPHA:g})")
    p.add_argument("--lora-dropout", type=opt.float_in(0, 0.9), default=0.0, metavar="P",
                   help="dropout on the adapters' inputs while training, 0-0.9 (default 0)")
    p.add_argument("--lora-layers", type=opt.int_in(0, 1000), default=None, metavar="N",
                   help="adapters on the top N blocks only (default 0: every block; 10: "
                        "about twice the steps a minute, less gain)")
    p.add_argument("--max-minutes", type=opt.float_in(0, 7 * 24 * 60, above=True), default=None,
                   help="time budget: end with a checkpoint and the exported model after this "
                        "many minutes of training")
    p.add_argument("--patience", type=opt.int_in(0, 1000), default=None,
                   help="end early after this many evaluations without a better held-out "
                        "score (default 3 with --lora, off otherwise; 0 turns it off)")
    p.add_argument("--merge-to", type=opt.output_dir, metavar="DIR", default=None,
                   help="with --lora: also write base + adapter merged into a full model "
                        "folder DIR (for tools without PEFT)")
    p.add_argument("--vocab-size", type=opt.int_in(260, 262_144), default=None,
                   help="BPE vocabulary, 260-262144 (size default)")
    p.add_argument("--context", type=opt.int_in(8, 32_768), default=None,
                   help="tokens per window, 8-32768 (size default; 512 with --lora)")
    p.add_argument("--eval-every", type=opt.int_in(0, 10_000_000), default=200)
    p.add_argument("--eval-batches", type=opt.int_in(1, 100_000), default=20)
    p.add_argument("--sample-every", type=opt.int_in(0, 10_000_000), default=500)
    p.add_argument("--checkpoint-every", type=opt.int_in(0, 10_000_000), default=200)
    p.add_argument("--log-every", type=opt.int_in(1, 10_000_000), default=10)
    p.add_argument("--seed", type=opt.SEED, default=1337)
    p.add_argument("--bf16", action="store_true",
                   help="bf16 autocast (with --lora the default where the CPU has bf16 "
                        "matrix units; --no-bf16 turns it off)")
    p.add_argument("--no-bf16", dest="bf16_off", action="store_true", help=argparse.SUPPRESS)
    p.add_argument("--device", type=opt.device, default=None, help="cpu or cuda (default: cuda if available)")
    p.add_argument("--threads", type=opt.THREADS, default=None,
                   help=f"torch CPU threads, 1-{opt.MAX_THREADS}")
    add_busy_threads(p)
    p.add_argument("--resume", action="store_true",
                   help="continue the run in --out (starts fresh if it has no checkpoint)")
    p.add_argument("--progress", choices=["text", "json"], default="text")




def _init_source(folder: str):
    """(LlamaConfig, tokenizer) of a model folder to fine-tune; UsageError when unusable."""
    from desktop_app.ml import checkpoints as ck
    from desktop_app.ml.text import bpe
    from desktop_app.ml.text.llama import LLAMA_MODEL_TYPES, LlamaConfig

    src = Path(folder).expanduser()
    if (src / "adapter_config.json").is_file():
        raise UsageError(f"--init-from {src} is a LoRA adapter: add --lora to train it further "
                         f"on more text (a full fine-tune needs a model folder)")
    if not (src / "config.json").is_file() or not (src / "model.safetensors").is_file():
        raise UsageError(f"--init-from {src}: not a model folder (config.json and "
                         f"model.safetensors are needed)")
    cfg = ck.load_json(src / "config.json")
    if not isinstance(cfg, dict):
        raise ReverieError(f"--init-from {src}: config.json is not a JSON object")
    if cfg.get("model_type", "llama") not in LLAMA_MODEL_TYPES:
        raise UsageError(f"--init-from {src}: fine-tuning needs a Llama-family text model, "
                         f"this one is {cfg.get('model_type')!r}")
    if not (src / "tokenizer.json").is_file():
        raise UsageError(f"--init-from {src}: tokenizer.json is missing")
    try:
        config = LlamaConfig.from_hf(cfg)
    except ReverieError:
        raise
    except (ValueError, TypeError, KeyError, OverflowError) as exc:
        # A damaged or hand-edited config.json is the folder's fault, not the command line's.
        detail = f"missing key {exc}" if isinstance(exc, KeyError) else str(exc)
        raise ReverieError(f"--init-from {src}: config.json is not usable: {detail}") from None
    tok = bpe.load_tokenizer(src / "tokenizer.json")
    if tok.get_vocab_size() > config.vocab_size:
        raise UsageError(f"--init-from {src}: its tokenizer has {tok.get_vocab_size()} tokens "
                         f"but the model only {config.vocab_size}; they do not belong together")
    return config, tok


def _fine_tune_builder(build, src: Path):
    """Wrap ``task.build_model`` so the fresh model starts from the weights in ``src``."""
    from desktop_app.ml import checkpoints as ck

    def build_from_weights():
        model = build()
        tensors = ck.load_tensors(src / "model.safetensors")
        try:
            missing, unexpected = model.load_state_dict(
                {k: v.float() for k, v in tensors.items()}, strict=False)
        except RuntimeError as exc:
            raise UsageError(f"--init-from {src}: the weights do not match its config.json "
                             f"({str(exc).splitlines()[-1].strip()})") from None
        missing = [k for k in missing if not k.endswith("rotary_emb.inv_freq")
                   and not (k == "lm_head.weight" and model.config.tie_word_embeddings)]
        if missing or unexpected:
            raise UsageError(f"--init-from {src}: the weights do not match the model "
                             f"(missing {missing[:3]}, unexpected {unexpected[:3]})")
        return model
    return build_from_weights


def run(args: argparse.Namespace) -> int:
    import numpy as np
    import torch

    from desktop_app.ml import checkpoints as ck
    from desktop_app.ml.text import bpe
    from desktop_app.ml.text.train_data import TokenWindows, encode_docs, load_corpus
    from desktop_app.ml.training import ddp, state
    from desktop_app.ml.training.loop import TrainConfig, train
    from desktop_app.ml.training.text_task import SIZES, TextTask, llama_config

    if args.lora:
        from desktop_app.commands.train_text_lora import run_lora
        return run_lora(args)
    if args.merge_to:
        raise UsageError("--merge-to needs --lora")
    args.steps = 2000 if args.steps is None else args.steps
    args.batch_size = 16 if args.batch_size is None else args.batch_size
    args.lr = 2e-3 if args.lr is None else args.lr
    if args.steps <= 0 or args.batch_size <= 0:
        raise UsageError("--steps and --batch-size must be positive")
    if args.threads:
        torch.set_num_threads(args.threads)
    out = Path(args.out).expanduser()
    info = ddp.setup(args.device)
    if args.batch_size % (info.world * args.grad_accum):
        raise UsageError(f"--batch-size {args.batch_size} must be a multiple of processes x "
                         f"--grad-accum ({info.world * args.grad_accum})")
    step = state.latest_step(out)
    if step > 0 and not args.resume:
        raise UsageError(f"{out} already holds a training run (checkpoint at step {step}); add "
                         f"--resume to continue it, or choose an empty --out")
    mode = args.progress if info.is_main else "none"
    say = (lambda m: note(mode, m)) if info.is_main else (lambda m: None)

    corpus = load_corpus(args.data, args.val_list)
    ntrain, nval = corpus.byte_counts()
    say(f"data: {corpus.describe()}")
    _, _, _, _, _, vocab_default, ctx_default = SIZES[args.size]
    vocab = args.vocab_size or vocab_default
    context = args.context or ctx_default
    tok_file = out / "tokenizer.json"
    init = _init_source(args.init_from) if args.init_from else None
    if init is not None:
        context = min(args.context or ctx_default, init[0].max_position_embeddings)
        say(f"fine-tuning {args.init_from} ({init[0].num_hidden_layers} layers, "
            f"{init[0].hidden_size} wide, its own {init[1].get_vocab_size()}-token tokenizer)")
        if info.is_main and not (step > 0 and tok_file.is_file()):
            bpe.save_tokenizer(init[1], out, context)
    elif info.is_main and not (step > 0 and tok_file.is_file()):
        say(f"training a byte-level BPE tokenizer ({vocab} tokens)...")
        tok = bpe.train_bpe((t for _, t in corpus.train), vocab)
        bpe.save_tokenizer(tok, out, context)
    if info.enabled:
        torch.distributed.barrier()
    tok = bpe.load_tokenizer(tok_file)
    tok_hash = hashlib.sha256(tok.to_str().encode()).hexdigest()[:16]
    key = {"data": corpus.fingerprint(), "tokenizer": tok_hash}
    cache = out / "data"
    if info.is_main:
        meta = cache / "meta.json"
        if not (meta.is_file() and ck.load_json(meta) == key):
            say("encoding the text...")
            cache.mkdir(parents=True, exist_ok=True)
            for split, docs in (("train", corpus.train), ("val", corpus.val)):
                np.save(cache / f".{split}.npy", encode_docs(tok, docs), allow_pickle=False)
                (cache / f".{split}.npy").replace(cache / f"{split}.npy")
            ck.save_json(meta, key)
    if info.enabled:
        torch.distributed.barrier()
    train_ids = np.load(cache / "train.npy", allow_pickle=False)
    val_ids = np.load(cache / "val.npy", allow_pickle=False)
    say(f"tokens: {len(train_ids):,} training, {len(val_ids):,} held-out "
        f"({ntrain / max(len(train_ids), 1):.2f} bytes/token)")
    model_cfg = init[0] if init is not None else llama_config(args.size, tok.get_vocab_size())
    task = TextTask(model_cfg, tok,
                    TokenWindows(train_ids, context), TokenWindows(val_ids, context),
                    eval_batches=args.eval_batches, eval_batch_size=args.batch_size,
                    data_fingerprint=key["data"])
    task.config.max_position_embeddings = context
    if init is not None:
        task.build_model = _fine_tune_builder(task.build_model, Path(args.init_from))
        task.origin = f"fine-tuning all weights of {args.init_from}"
    cfg = TrainConfig(
        steps=args.steps, batch_size=args.batch_size, grad_accum=args.grad_accum, lr=args.lr,
        min_lr=args.min_lr if args.min_lr is not None else args.lr / 10,
        warmup_steps=args.warmup if args.warmup is not None else max(1, args.steps // 20),
        eval_every=args.eval_every, sample_every=args.sample_every,
        checkpoint_every=args.checkpoint_every, log_every=args.log_every, seed=args.seed,
        bf16=args.bf16 and not args.bf16_off, device=args.device,
        patience=args.patience or 0,
        max_seconds=(args.max_minutes or 0) * 60)
    with StopOnSignal() as stop, CoreSharing(args.threads, args.busy_threads, out) as cores:
        result = train(task, cfg, out, callbacks=[progress_printer(args.progress), cores.on_event]
                       if info.is_main else [], stop=stop, resume=args.resume)
    if result.stopped:
        if info.is_main:
            print(f"reverie: stopped at step {result.step}; continue with the same command "
                  f"plus --resume", file=sys.stderr)
        return 130
    return 0
