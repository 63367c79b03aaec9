"""``reverie train image``: train the image VAE on a folder, ``builtin:emoji`` or ``builtin:fashion``.

``--stage joint --init-from MODEL`` fine-tunes the whole VAE of an existing model (encoder and
decoder, the VAE objective, usually with ``--augment``) and then writes the model folder as
after a new VAE: its latents move, so directions, atlas and mixture prior are recomputed, and
a learned prior must be trained again. ``--stage decoder|prior --init-from MODEL`` trains the
later stages of an existing model instead (:mod:`desktop_app.ml.image.train_stages`): a
sharper decoder (L1 + a patch discriminator, encoder frozen), or the category-conditioned
flow prior over its latents.

Runs the shared training loop (checkpoints + resume in ``--out``), then writes the finished
model folder there: ``config.json``, ``model.safetensors``, ``directions.safetensors/.json``
and ``atlas.safetensors/.json``. Progress goes to stdout as text, or one JSON object per line
with ``--progress json`` (what the Train room reads).
"""

from __future__ import annotations

import argparse
from pathlib import Path

from desktop_app.commands.core_sharing import CoreSharing, add_busy_threads
from desktop_app.commands.stop_signal import StopOnSignal
from desktop_app.commands import options as opt
from desktop_app.commands.progress import progress_printer
from desktop_app.core.errors import UsageError

PRESETS = {
    # data: (image_size, channels, latent_dim, widths, flip, extra_conv_max_side)
    "builtin:emoji": (64, 3, 128, (32, 64, 128, 256), True, 16),
    "builtin:fashion": (28, 1, 32, (32, 64), True, 32),
}


#: Default peak learning rates: a new VAE, and the joint fine-tune of a trained one (2e-3 there
#: undoes the trained model: the emoji model's held-out MSE 0.0085 -> 0.026 in five steps).
LR = {"vae": 2e-3, "joint": 3e-4}


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--data", type=opt.text, required=True,
                   help="a folder of images, builtin:emoji or builtin:fashion")
    p.add_argument("--out", type=opt.output_dir, required=True, help="run folder (checkpoints + finished model)")
    p.add_argument("--steps", type=opt.int_in(1, 10_000_000), default=2000, help="optimizer steps (default 2000)")
    p.add_argument("--batch-size", type=opt.int_in(1, 4096), default=64)
    p.add_argument("--lr", type=opt.float_in(0, 10, above=True), default=None,
                   help=f"peak learning rate (default {LR['vae']:g}; --stage joint "
                        f"{LR['joint']:g}, as the built-in emoji model was fine-tuned; the decoder "
                        f"and prior stages: their recipe's)")
    p.add_argument("--latent", type=opt.int_in(2, 512), default=None, help="latent size 32..128")
    p.add_argument("--size", type=int, choices=(28, 64), default=None,
                   help="image side for a folder (64 RGB or 28 grey)")
    p.add_argument("--beta", type=opt.float_in(0, 100), default=None,
                   help="KL weight once warm (default 1; --stage joint: the model's own)")
    p.add_argument("--kl-warmup", type=opt.int_in(0, 10_000_000), default=None, help="KL warm-up steps")
    p.add_argument("--warmup-steps", type=opt.int_in(0, 10_000_000), default=None,
                   help="learning-rate warm-up steps (default min(200, steps/10))")
    p.add_argument("--held-out", type=opt.float_in(0, 0.9, above=True), default=0.1, help="held-out fraction (default 0.1)")
    p.add_argument("--no-flip", action="store_true", help="no horizontal-flip augmentation")
    p.add_argument("--augment", type=opt.float_in(0, 1), default=0.0, metavar="FRACTION",
                   help="with --stage vae/joint: this fraction of each batch slightly scaled, "
                        "rotated, shifted and (colour images) recoloured (default 0)")
    p.add_argument("--seed", type=opt.SEED, default=1337)
    p.add_argument("--eval-every", type=opt.int_in(0, 10_000_000), default=500)
    p.add_argument("--checkpoint-every", type=opt.int_in(0, 10_000_000), default=500)
    p.add_argument("--fp16", action="store_true", help="store the final weights as fp16")
    p.add_argument("--resume", action="store_true", help="continue from the newest checkpoint")
    p.add_argument("--threads", type=opt.THREADS, default=None,
                   help=f"torch CPU threads, 1-{opt.MAX_THREADS}")
    add_busy_threads(p)
    p.add_argument("--progress", choices=["text", "json"], default="text",
                   help="progress as text, or one JSON object per line (as the other train "
                        "commands; what the Train room reads)")
    # The spelling before --progress, kept so that scripts written for it still run.
    p.add_argument("--json", dest="progress", action="store_const", const="json",
                   help=argparse.SUPPRESS)
    p.add_argument("--stage", default="vae", choices=("vae", "joint", "decoder", "prior"),
                   help="vae (default); joint: fine-tune MODEL's whole VAE (its directions and "
                        "atlas are recomputed; its learned prior must be trained again); "
                        "decoder: sharpen MODEL's decoder; prior: train a category-conditioned "
                        "prior over MODEL's latents (the last three need --init-from)")
    p.add_argument("--init-from", type=opt.text, default=None, metavar="MODEL",
                   help="with --stage joint/decoder/prior: the model (name or folder) to start "
                        "from")
    p.add_argument("--decoder-recipe", default="gan",
                   choices=("gan", "mse", "wide", "wide-settle", "prior-gan"),
                   help="with --stage decoder: gan (L1 + discriminator; default), mse (adds a "
                        "refinement head and a squared-error term: lower MSE, softer) or wide "
                        "(residual blocks + a full-size head, squared-error and "
                        "high-frequency terms; keeps the evaluation best on MSE and sharpness); wide-settle "
                        "continues a wide decoder with more weight on the squared error; prior-gan "
                        "continues one with the discriminator also judging decoded samples of "
                        "MODEL's learned prior (sharper samples)")
    p.add_argument("--max-minutes", type=opt.float_in(0, 100_000, above=True), default=None,
                   help="a time budget (every stage); the learning rate decays over whichever "
                        "ends first, the steps or the time, and the model is written as after "
                        "the last step")


def _check(args: argparse.Namespace) -> None:
    if args.steps < 1:
        raise UsageError("--steps must be at least 1")
    if args.batch_size < 1:
        raise UsageError("--batch-size must be at least 1")
    if args.latent is not None and not 2 <= args.latent <= 512:
        raise UsageError("--latent must be between 2 and 512 (32..128 recommended)")
    if not 0.0 < args.held_out < 0.9:
        raise UsageError("--held-out must be between 0 and 0.9")
    if args.beta is not None and args.beta < 0:
        raise UsageError("--beta must not be negative")
    if args.stage not in ("vae", "joint", "decoder", "prior"):
        raise UsageError(f"unknown --stage {args.stage!r}; choose vae, joint, decoder or prior")
    if args.augment and args.stage in ("decoder", "prior"):
        raise UsageError(f"--augment applies to --stage vae and joint, not {args.stage}")
    if args.stage != "vae" and not args.init_from:
        raise UsageError(f"--stage {args.stage} needs --init-from MODEL")


def run(args: argparse.Namespace) -> int:
    _check(args)
    import numpy as np
    import torch

    from desktop_app.ml.image.datasets import split
    from desktop_app.ml.image.sources import load_dataset
    from desktop_app.ml.image.train_task import ImageVAETask
    from desktop_app.ml.image.vae import VAEConfig
    from desktop_app.ml.training.loop import TrainConfig, train

    torch.set_num_threads(args.threads or 1)
    size, channels, latent, widths, flip, extra = PRESETS.get(
        args.data, (args.size or 64, 1 if args.size == 28 else 3, 64,
                    (32, 64) if args.size == 28 else (32, 64, 128, 256), True, 16))
    say = progress_printer(args.progress, unit="img/s")
    say({"kind": "data", "message": f"loading {args.data}"})
    data = load_dataset(args.data, size=size, channels=channels)
    if args.data == "builtin:fashion":
        from desktop_app.ml.image.fashion_data import fashion_split
        train_idx, held_idx = fashion_split(len(data))
    else:
        train_idx, held_idx = split(len(data), args.held_out, args.seed)
    if len(train_idx) < 2:
        raise UsageError(f"{args.data} has only {len(data)} usable image(s); at least 3 are "
                         f"needed to train")
    skipped = sum(data.skipped.values())
    say({"kind": "data", "message": f"{len(data)} images ({len(train_idx)} train, "
         f"{len(held_idx)} held out)" + (f"; skipped {skipped} unreadable" if skipped else "")})
    if args.stage not in ("vae", "joint"):
        return _run_stage(args, data, train_idx, held_idx, say)
    init = None
    if args.stage == "joint":
        init, cfg = _joint_start(args, data)
    else:
        cfg = VAEConfig(image_size=size, channels=channels, latent_dim=args.latent or latent,
                        widths=widths, beta=1.0 if args.beta is None else args.beta,
                        extra_conv_max_side=extra,
                        kl_warmup_steps=args.kl_warmup if args.kl_warmup is not None
                        else max(1, args.steps // 4))
    task = ImageVAETask(data, train_idx, held_idx, cfg, data_id=args.data,
                        flip=flip and not args.no_flip, fp16_export=args.fp16,
                        augment=args.augment, init=init)
    if init is not None:
        task.origin = f"fine-tuning the whole VAE of {args.init_from}"
        moved = f"; augmented {args.augment:.0%} of each batch" if args.augment else ""
        say({"kind": "data", "message": f"fine-tuning the whole VAE of {args.init_from} "
                                        f"(encoder and decoder{moved})"})
    task.sample = _grid_sampler(task, Path(args.out) / "samples")
    lr = args.lr or LR[args.stage]
    tcfg = TrainConfig(steps=args.steps, batch_size=args.batch_size, lr=lr,
                       min_lr=lr / 20, warmup_steps=(args.warmup_steps if args.warmup_steps
                                                        is not None else min(200, args.steps // 10)),
                       weight_decay=0.01, eval_every=args.eval_every,
                       sample_every=args.eval_every, checkpoint_every=args.checkpoint_every,
                       log_every=max(1, min(50, args.steps // 20)), seed=args.seed,
                       beta2=0.99, device="cpu",
                       max_seconds=args.max_minutes * 60.0 if args.max_minutes else 0.0)
    out = Path(args.out)
    # Ctrl+C / SIGTERM (the Train room's Pause): checkpoint, stop; SIGUSR1/2: the app's cores
    with StopOnSignal() as stop, CoreSharing(args.threads or 1, args.busy_threads, args.out) as cores:
        result = train(task, tcfg, out, callbacks=[say, cores.on_event],
                       resume=args.resume, stop=stop)
    if result.stopped:
        return 1
    from desktop_app.ml.image.finalize import finalize
    finalize(out, data, train_idx, held_idx, progress=lambda m: say({"kind": "data",
                                                                      "message": m}))
    say({"kind": "data", "message": f"model folder ready: {out}"})
    return 0


def _joint_start(args, data):
    """``(model, config)`` of ``--init-from`` for the joint stage: its own architecture (the
    wide decoder included), its beta unless ``--beta`` says another, the KL already at full
    weight."""
    from dataclasses import replace

    from desktop_app.core.paths import resolve_model_dir
    from desktop_app.ml.image.model_dir import load_vae
    from desktop_app.ml.image.train_stages import check_fits

    vae, _ = load_vae(resolve_model_dir(args.init_from, "image"))
    check_fits(vae, data, args.init_from)
    if args.latent is not None and args.latent != vae.cfg.latent_dim:
        raise UsageError(f"--latent {args.latent} differs from {args.init_from}'s "
                         f"{vae.cfg.latent_dim}; a joint fine-tune keeps the model's size")
    vae.cfg = replace(vae.cfg, kl_warmup_steps=0,
                      beta=vae.cfg.beta if args.beta is None else args.beta)
    return vae, vae.cfg


def _run_stage(args, data, train_idx, held_idx, say) -> int:
    from desktop_app.core.paths import resolve_model_dir
    from desktop_app.ml.image import train_stages
    from desktop_app.ml.training.loop import train

    init = resolve_model_dir(args.init_from, "image")
    task, tcfg = train_stages.build(args.stage, init, data, train_idx, held_idx,
                                    steps=args.steps, seed=args.seed, data_id=args.data,
                                    decoder_recipe=args.decoder_recipe)
    if args.max_minutes:
        tcfg.max_seconds = args.max_minutes * 60.0
    if args.lr:              # the stage's own rate otherwise; the floor keeps its ratio
        tcfg.min_lr, tcfg.lr = tcfg.min_lr * args.lr / tcfg.lr, args.lr
    if hasattr(task, "best_dir"):
        task.best_dir = Path(args.out) / "best"
    with StopOnSignal() as stop, CoreSharing(args.threads or 1, args.busy_threads, args.out) as cores:
        result = train(task, tcfg, Path(args.out), callbacks=[say, cores.on_event],
                       resume=args.resume, stop=stop)
    if result.stopped:
        return 1
    what = "flow_prior.safetensors" if args.stage == "prior" else "config.json + model.safetensors"
    say({"kind": "data", "message": f"{what} written to {args.out}; copy it into {init} "
                                    f"(then re-run finalize for a new decoder's atlas)"})
    return 0


def _grid_sampler(task, folder: Path):
    """Wrap ``task.sample``: also save a PNG grid (held-out images, their reconstructions, and
    decodes of random latents) so the Train room can show the model's pictures as it learns."""
    import numpy as np
    import torch
    from PIL import Image

    base = task.sample

    def sample(model, step: int) -> str | None:
        text = base(model, step)
        raw = getattr(model, "module", model)
        with torch.no_grad():
            x = task.held_x[:8]
            recon = raw.decode(raw.encode(x)[0])
            z = torch.randn(8, task.cfg.latent_dim,
                            generator=torch.Generator().manual_seed(0))
            rand = raw.decode(z)
        rows = [t[:8] for t in (x, recon, rand)]
        n = max(len(r) for r in rows)
        c, h, w = rand.shape[1:]
        grid = np.ones((3 * (h + 2), n * (w + 2), c), np.float32)
        for i, r in enumerate(rows):
            for j, img in enumerate(r.clamp(0, 1).permute(0, 2, 3, 1).numpy()):
                grid[i * (h + 2) + 1:i * (h + 2) + 1 + h, j * (w + 2) + 1:j * (w + 2) + 1 + w] = img
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / f"step-{step:07d}.png"
        arr = (grid * 255 + 0.5).astype(np.uint8)
        Image.fromarray(arr[..., 0] if c == 1 else arr).save(path)
        return f"{text}; grid (held-out, reconstructed, random): {path}"
    return sample
