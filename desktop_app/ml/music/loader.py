"""Load the music models from their folders (config.json + model.safetensors, never pickle)."""

from __future__ import annotations

from pathlib import Path

import torch

from desktop_app.core.errors import ModelLoadError
from desktop_app.ml import checkpoints as ck
from desktop_app.ml.music.melody_transformer import MelodyTransformer, MelodyTransformerConfig
from desktop_app.ml.music.mode_prior import read_prior
from desktop_app.ml.music.phrase_vae import PhraseVAE, PhraseVAEConfig


def _config(model_dir: Path, architecture: str) -> dict:
    cfg = ck.load_json(Path(model_dir) / "config.json")
    if not isinstance(cfg, dict) or cfg.get("architecture") != architecture:
        found = cfg.get("architecture") if isinstance(cfg, dict) else None
        raise ModelLoadError(f"{model_dir} is not a {architecture} model (config.json says "
                             f"architecture={found!r})")
    return cfg


def load_melody_model(model_dir: str | Path) -> MelodyTransformer:
    model_dir = Path(model_dir)
    raw = _config(model_dir, "melody-transformer")
    cfg = ck.config_from_dict(MelodyTransformerConfig, raw, str(model_dir / "config.json"),
                              zero_ok=("phrase_bars",))
    prior = read_prior(raw, str(model_dir / "config.json"))
    with torch.device("cpu"):
        model = MelodyTransformer(cfg)
    tensors = ck.load_tensors(model_dir / "model.safetensors")
    ck.validate_state_dict(model.state_for_saving(), tensors, str(model_dir / "model.safetensors"))
    model.load_saved(tensors)
    model.mode_prior = prior   # per-mode out-of-mode bias, nats (ml/music/mode_prior.py)
    return model.eval()


def load_phrase_vae(model_dir: str | Path) -> PhraseVAE:
    model_dir = Path(model_dir)
    cfg = ck.config_from_dict(PhraseVAEConfig, _config(model_dir, "phrase-vae"),
                              str(model_dir / "config.json"))
    model = PhraseVAE(cfg)
    tensors = ck.load_tensors(model_dir / "model.safetensors")
    ck.validate_state_dict(model.state_dict(), tensors, str(model_dir / "model.safetensors"))
    model.load_state_dict(tensors)
    return model.eval()
