"""A loaded image model ready for inference: sample, encode a file, decode, move, morph.

Used by the engine's image handlers (on its worker thread) and by the CLI. Decoding runs under
``torch.inference_mode``; outputs are uint8 numpy arrays ``(H, W, 3)`` or ``(H, W)``.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from desktop_app.core import latent as lat
from desktop_app.core.errors import ModelLoadError, UsageError
from desktop_app.core.paths import resolve_model_dir
from desktop_app.ml import checkpoints as ck
from desktop_app.ml.image.datasets import open_image
from desktop_app.ml.image.directions import load_directions
from desktop_app.ml.image.model_dir import load_vae


class ImageModel:
    """Model + its directions. Not thread-safe: use it from one thread (the engine worker)."""

    def __init__(self, model_dir: str | Path) -> None:
        self.model_dir = Path(model_dir)
        self.vae, self.config = load_vae(self.model_dir)
        self.cfg = self.vae.cfg
        self.directions = load_directions(self.model_dir)
        self.prior = self._load_prior()

    def _load_prior(self) -> tuple[np.ndarray, np.ndarray, np.ndarray] | None:
        path = self.model_dir / "prior.safetensors"
        if not path.is_file():
            return None
        t = ck.load_tensors(path)
        try:
            means, chols, w = (t[k].double().numpy() for k in ("means", "chols", "weights"))
        except KeyError as exc:
            raise ModelLoadError(f"{path} has no tensor {exc}") from None
        d = self.latent_dim
        if means.ndim != 2 or means.shape[1] != d or chols.shape != (len(means), d, d) \
                or w.shape != (len(means),):
            raise ModelLoadError(f"{path}: the prior's shapes do not fit latent size {d}")
        return means, chols, w / w.sum()

    @classmethod
    def from_name(cls, name: str) -> "ImageModel":
        return cls(resolve_model_dir(name, "image"))

    @property
    def latent_dim(self) -> int:
        return self.cfg.latent_dim

    def size_bytes(self) -> int:
        return sum(p.numel() * p.element_size() for p in self.vae.parameters())

    def sample_latents(self, seed: int, count: int, temperature: float = 1.0) -> np.ndarray:
        """Seeded eps ~ N(0, tau^2 I), mapped through the model's fitted mixture prior if it
        has one (``prior.safetensors``: component k drawn by weight, z = mean_k + L_k eps),
        else used as z directly. The same seed gives the same latents."""
        eps = lat.sample_latents(seed, count, self.latent_dim, temperature).astype(np.float64)
        if self.prior is None:
            return eps.astype(np.float32)
        means, chols, w = self.prior
        comp = np.random.default_rng([int(seed) & 0xFFFFFFFF, 7]).choice(len(w), count, p=w)
        z = means[comp] + np.einsum("nij,nj->ni", chols[comp], eps)
        return z.astype(np.float32)

    @torch.inference_mode()
    def decode(self, z: np.ndarray) -> np.ndarray:
        """``(D,)`` -> one image, ``(N, D)`` -> ``(N, H, W[, 3])`` uint8."""
        z = np.asarray(z, np.float32)
        single = z.ndim == 1
        zt = torch.from_numpy(np.ascontiguousarray(z.reshape(-1, self.latent_dim)))
        x = self.vae.decode(zt)                                   # (N, C, H, W) in [0, 1]
        img = (x * 255.0 + 0.5).clamp(0, 255).to(torch.uint8).permute(0, 2, 3, 1).numpy()
        if self.cfg.channels == 1:
            img = img[..., 0]
        return img[0] if single else img

    @torch.inference_mode()
    def encode_pixels(self, pixels: np.ndarray) -> np.ndarray:
        """uint8 ``(H, W, C)`` or ``(N, H, W, C)`` at the model's size -> mu ``(D,)``/``(N, D)``."""
        single = pixels.ndim == 3
        p = pixels[None] if single else pixels
        x = torch.from_numpy(np.array(p, np.uint8)).permute(0, 3, 1, 2).float() / 255.0
        mu, _ = self.vae.encode(x)
        out = mu.numpy().astype(np.float32)
        return out[0] if single else out

    def load_image(self, path: str | Path) -> np.ndarray:
        """Any picture file, centre-cropped/resized to the model's input. DataError if unusable."""
        return open_image(Path(path), self.cfg.image_size, self.cfg.channels)

    def encode_file(self, path: str | Path) -> np.ndarray:
        return self.encode_pixels(self.load_image(path))

    def move(self, z: np.ndarray, amounts: dict[str, float]) -> np.ndarray:
        return lat.apply_directions(z, self.directions, amounts)

    def latent_for(self, source) -> np.ndarray:
        """A :class:`desktop_app.core.imaging.LatentSource` -> (D,) latent."""
        if source.latent is not None:
            return np.asarray(source.latent, np.float32).reshape(self.latent_dim)
        if source.image_path is not None:
            return self.encode_file(source.image_path)
        return self.sample_latents(int(source.seed), 1, source.temperature)[0]

    def check_directions(self, names) -> None:
        unknown = [n for n in names if n not in self.directions]
        if unknown:
            have = ", ".join(sorted(self.directions)) or "none"
            raise UsageError(f"model {self.model_dir.name!r} has no direction "
                             f"{unknown[0]!r}; it has: {have}")
