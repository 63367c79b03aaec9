"""``reverie train music``: train the folk-melody transformer or the phrase VAE.

Data: the public-domain collections of the music21 corpus extraction (``$REVERIE_SHARED_DIR``,
default ``<repo>/../shared``), or ``--data DIR`` of your own MIDI files. A fixed 5% of tunes is
held out. Writes config.json + model.safetensors into ``--out`` (plus ``checkpoints/`` for
``--resume``), through the shared training loop. Ctrl+C stops after saving a checkpoint.
A finished run also writes the phrase VAE's atlas (what Explore's melody map shows) or
calibrates the melody model's soft mode prior (``ml/music/mode_prior.py``).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from desktop_app.commands.core_sharing import CoreSharing, add_busy_threads
from desktop_app.commands.stop_signal import StopOnSignal
from desktop_app.commands import options as opt
from desktop_app.commands.progress import progress_printer
from desktop_app.core.errors import UsageError
from desktop_app.core.paths import MELODY_MODEL, PHRASE_MODEL

#: name -> (layers, heads, embedding, context) of the transformer; (embed, enc, dec, latent) VAE.
LM_SIZES = {"test": (2, 2, 32, 64), "small": (4, 4, 128, 256)}
VAE_SIZES = {"test": (16, 32, 32, 8), "small": (64, 128, 192, 64)}


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--model", choices=[MELODY_MODEL, PHRASE_MODEL], default=MELODY_MODEL,
                   help=f"which model to train (default {MELODY_MODEL})")
    p.add_argument("--out", type=opt.output_dir, required=True, metavar="DIR", help="run and model folder")
    p.add_argument("--data", type=opt.existing_dir, metavar="DIR", help="a folder of MIDI files (default: the corpus)")
    p.add_argument("--collections", nargs="+", type=opt.text, metavar="NAME",
                   help="corpus collections (default: the public-domain ones; 'essenFolksong' "
                        "is for non-commercial experiments only)")
    p.add_argument("--size", choices=sorted(LM_SIZES), default="small")
    p.add_argument("--steps", type=opt.int_in(1, 10_000_000), default=2000)
    p.add_argument("--batch-size", type=opt.int_in(1, 4096), default=16)
    p.add_argument("--lr", type=opt.float_in(0, 10, above=True), default=2e-3)
    p.add_argument("--dropout", type=opt.float_in(0, 0.9), default=0.0,
                   help="transformer dropout, 0-0.9")
    p.add_argument("--beta", type=opt.float_in(0, 100), default=0.2, help="phrase VAE: KL weight (default 0.2)")
    p.add_argument("--free-bits", type=opt.float_in(0, 10_000), default=48.0,
                   help="phrase VAE: nats of KL per phrase left unpenalised (default 48, "
                        "MusicVAE's 2-bar melody setting)")
    p.add_argument("--warmup", type=opt.int_in(0, 10_000_000), default=None, help="default steps/20")
    p.add_argument("--eval-every", type=opt.int_in(0, 10_000_000), default=200)
    p.add_argument("--checkpoint-every", type=opt.int_in(0, 10_000_000), default=200)
    p.add_argument("--log-every", type=opt.int_in(1, 10_000_000), default=10)
    p.add_argument("--sample-every", type=opt.int_in(0, 10_000_000), default=0,
                   help="print a sampled melody every N steps (0: never; the Train room uses it)")
    p.add_argument("--seed", type=opt.SEED, default=1337)
    p.add_argument("--threads", type=opt.THREADS, default=None,
                   help=f"torch CPU threads, 1-{opt.MAX_THREADS}")
    add_busy_threads(p)
    p.add_argument("--calibrate-tunes", type=opt.int_in(0, 1000), default=24,
                   help="melody model: tunes per mode for the soft mode prior's calibration "
                        "after training (0: none; default 24)")
    p.add_argument("--resume", action="store_true")
    p.add_argument("--progress", choices=["text", "json"], default="text")




def run(args: argparse.Namespace) -> int:
    import torch

    from desktop_app.ml.music import tokens as T
    from desktop_app.ml.music import train_tasks as TT
    from desktop_app.ml.music.melody_transformer import MelodyTransformerConfig
    from desktop_app.ml.music.phrase_vae import PhraseVAEConfig
    from desktop_app.ml.training import state
    from desktop_app.ml.training.loop import TrainConfig, train

    if args.steps <= 0 or args.batch_size <= 0:
        raise UsageError("--steps and --batch-size must be positive")
    if args.beta < 0 or args.free_bits < 0:
        raise UsageError("--beta and --free-bits must be zero or more")
    if args.threads:
        torch.set_num_threads(args.threads)
    out = Path(args.out).expanduser()
    if state.latest_step(out) > 0 and not args.resume:
        raise UsageError(f"{out} already holds a training run; add --resume to continue it, "
                         f"or choose an empty --out")
    tunes, desc = TT.corpus_tunes(args.collections, Path(args.data) if args.data else None)
    train_seqs, held_seqs = TT.tune_sequences(tunes)
    if args.data and not held_seqs and len(train_seqs) >= 2:
        held_seqs = [train_seqs.pop()]  # a small folder: hold out one tune rather than none
    if not train_seqs or not held_seqs:
        raise UsageError(f"not enough usable melodies in {desc} ({len(train_seqs)} training, "
                         f"{len(held_seqs)} held out)")
    meta = {"data": desc, "n_train_tunes": len(train_seqs), "n_heldout_tunes": len(held_seqs),
            "size": args.size}
    print(f"data: {desc}: {len(train_seqs)} training tunes, {len(held_seqs)} held out",
          file=sys.stderr, flush=True)
    if args.model == MELODY_MODEL:
        layers, heads, embd, ctx = LM_SIZES[args.size]
        cfg = MelodyTransformerConfig(vocab_size=T.VOCAB_SIZE, block_size=ctx, n_layer=layers,
                                      n_head=heads, n_embd=embd, dropout=args.dropout)
        task = TT.MelodyLMTask(cfg, train_seqs, held_seqs, meta=meta)
    else:
        e, enc, dec, z = VAE_SIZES[args.size]
        cfg = PhraseVAEConfig(embed=e, enc_hidden=enc, dec_hidden=dec, latent=z,
                              beta=args.beta, free_bits=args.free_bits)
        tr = TT.phrase_tensor(train_seqs, cfg.max_steps, hop_bars=1)
        he = TT.phrase_tensor(held_seqs, cfg.max_steps, hop_bars=2)
        meta.update(n_train_phrases=len(tr), n_heldout_phrases=len(he))
        task = TT.PhraseVAETask(cfg, tr, he, kl_warmup=max(1, args.steps // 2), meta=meta)
    tcfg = TrainConfig(steps=args.steps, batch_size=args.batch_size, lr=args.lr,
                       min_lr=args.lr / 10, warmup_steps=args.warmup or max(1, args.steps // 20),
                       eval_every=args.eval_every, checkpoint_every=args.checkpoint_every,
                       log_every=args.log_every, sample_every=args.sample_every,
                       seed=args.seed, device="cpu")
    with StopOnSignal() as stop, CoreSharing(args.threads, args.busy_threads, out) as cores:
        result = train(task, tcfg, out, callbacks=[progress_printer(args.progress),
                                                   cores.on_event], stop=stop,
                       resume=args.resume)
    if result.stopped:
        print(f"reverie: stopped at step {result.step}; continue with --resume", file=sys.stderr)
        return 130
    _finish(args, out, tunes)
    return 0


def _finish(args: argparse.Namespace, out: Path, tunes: list[dict]) -> None:
    """What a model folder needs besides its weights: the phrase VAE's atlas (the Explore map)
    or the melody model's calibrated mode prior (Compose's default)."""
    say = lambda m: print(m, file=sys.stderr, flush=True)  # noqa: E731
    if args.model == PHRASE_MODEL:
        from desktop_app.ml.music.phrase_atlas import build_atlas
        n = build_atlas(out, tunes, progress=say)
        say(f"wrote the phrase atlas ({n} phrases) for the Explore room")
    elif args.calibrate_tunes > 0:
        from desktop_app.ml.music.mode_prior import calibrate_folder
        calibrate_folder(out, tunes, tunes_per_mode=args.calibrate_tunes, progress=say)
