"""Tiny seeded music models with random weights, written as real model folders.

For tests and UI demos that need a loadable model in milliseconds (diffusers'
``get_dummy_components`` idea). Their melodies are random; they only exercise the plumbing.
"""

from __future__ import annotations

from pathlib import Path

import torch

from desktop_app.ml.music import tokens as T
from desktop_app.ml.music.melody_transformer import MelodyTransformerConfig
from desktop_app.ml.music.phrase_vae import PhraseVAEConfig
from desktop_app.ml.music.train_tasks import MelodyLMTask, PhraseVAETask


def tiny_lm_dir(path: str | Path, seed: int = 0) -> Path:
    torch.manual_seed(seed)
    cfg = MelodyTransformerConfig(vocab_size=T.VOCAB_SIZE, block_size=64, n_layer=2, n_head=2,
                                  n_embd=32, dropout=0.0)
    task = MelodyLMTask(cfg, [[T.BOS, T.meter_token("4/4"), T.mode_token("major"), T.EOS]], [])
    task.export(task.build_model(), Path(path))
    return Path(path)


def tiny_vae_dir(path: str | Path, seed: int = 0) -> Path:
    torch.manual_seed(seed)
    cfg = PhraseVAEConfig(embed=16, enc_hidden=32, dec_hidden=32, latent=8)
    dummy = torch.ones(1, cfg.max_steps, dtype=torch.long)
    task = PhraseVAETask(cfg, dummy, dummy)
    task.export(task.build_model(), Path(path))
    return Path(path)
