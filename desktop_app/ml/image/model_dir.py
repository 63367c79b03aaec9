"""Image model folders: ``config.json`` + ``model.safetensors`` (+ directions, atlas, card).

Loading never uses pickle; a damaged or mismatched file raises :class:`ModelLoadError` naming
it. Weights may be stored as fp16 (shipped models, half the size) and are loaded as fp32.
"""

from __future__ import annotations

from pathlib import Path

import torch

from desktop_app.core.errors import ModelLoadError
from desktop_app.ml import checkpoints as ck
from desktop_app.ml.image.vae import ConvVAE, VAEConfig

SKIP = ("train_step",)


def save_vae(model: ConvVAE, out_dir: str | Path, *, fp16: bool = False,
             extra_config: dict | None = None) -> None:
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    sd = {k: v.detach().cpu() for k, v in model.state_dict().items() if k not in SKIP}
    if fp16:
        sd = {k: v.half() if v.is_floating_point() else v for k, v in sd.items()}
    ck.save_tensors(out_dir / "model.safetensors", sd, metadata={"format": "pt"})
    ck.save_json(out_dir / "config.json", {**model.cfg.to_dict(), **(extra_config or {})})


def load_vae(model_dir: str | Path, device: str = "cpu") -> tuple[ConvVAE, dict]:
    """Return ``(model in eval mode, config dict)`` for an image model folder."""
    model_dir = Path(model_dir)
    raw = ck.load_json(model_dir / "config.json")
    if not isinstance(raw, dict) or raw.get("model_type") != "reverie-conv-vae":
        raise ModelLoadError(f"{model_dir / 'config.json'} is not a Reverie image model "
                             f"(model_type {raw.get('model_type') if isinstance(raw, dict) else None!r})")
    cfg = ck.config_from_dict(VAEConfig, raw, str(model_dir / "config.json"),  # bounded
                              zero_ok=("extra_conv_max_side", "refine", "wide"))
    model = ConvVAE(cfg)
    weights = ck.load_tensors(model_dir / "model.safetensors")
    expected = model.state_dict()
    ck.validate_state_dict(expected, weights, str(model_dir / "model.safetensors"),
                           allow_missing=SKIP)
    weights = {k: v.float() if v.is_floating_point() else v for k, v in weights.items()}
    model.load_state_dict(weights, strict=False)
    return model.to(device).eval(), raw
