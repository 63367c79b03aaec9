"""Training-time augmentation of image batches: small affine moves and colour rotations.

A VAE trained on a few thousand drawings learns to encode *those* drawings: on emoji the
encoder + decoder reconstruct training images at about half the error of held-out ones, and
most of the held-out error is on drawings with no near copy in the training split (objects,
animals, activities). Showing it the same drawings slightly scaled, rotated, shifted and
recoloured makes it learn to encode a picture it has not seen, not only to recall the ones it
has (measured: ``reverie train image --stage joint``, models/image/emoji/MODEL_CARD.md).

Both transforms keep the background: the affine warp pads with the border pixels (white for
emoji, black for fashion), and the colour rotation turns RGB about the grey axis, so white,
black and greys stay as they are while every hue turns by the same angle. Every random draw
comes from the caller's generator, so a resumed run sees the same batches.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F

#: Ranges of the random moves: scale, rotation (radians), shift (fraction of the half-side).
SCALE, ROTATE, SHIFT = (0.85, 1.15), 0.25, 0.12


def _uniform(n: int, lo: float, hi: float, gen: torch.Generator) -> torch.Tensor:
    return lo + (hi - lo) * torch.rand(n, generator=gen)


def affine(x: torch.Tensor, gen: torch.Generator) -> torch.Tensor:
    """Each image of ``x`` (B, C, H, W) scaled, rotated and shifted by its own random amount."""
    b = len(x)
    scale = _uniform(b, *SCALE, gen)
    angle = _uniform(b, -ROTATE, ROTATE, gen)
    shift = _uniform(2 * b, -SHIFT, SHIFT, gen).view(b, 2)
    theta = torch.zeros(b, 2, 3)
    theta[:, 0, 0] = torch.cos(angle) / scale
    theta[:, 0, 1] = -torch.sin(angle) / scale
    theta[:, 1, 0] = torch.sin(angle) / scale
    theta[:, 1, 1] = torch.cos(angle) / scale
    theta[:, :, 2] = shift
    grid = F.affine_grid(theta, list(x.shape), align_corners=False)
    return F.grid_sample(x, grid, align_corners=False, padding_mode="border").clamp(0.0, 1.0)


def rotate_hue(x: torch.Tensor, angle: torch.Tensor) -> torch.Tensor:
    """RGB images ``x`` (B, 3, H, W) with their colours turned by ``angle`` (B,) radians about
    the grey axis (Rodrigues' rotation; greys, black and white do not move)."""
    k = torch.full((3,), 1.0 / math.sqrt(3.0))
    cross = torch.tensor([[0.0, -k[2], k[1]], [k[2], 0.0, -k[0]], [-k[1], k[0], 0.0]])
    c, s = torch.cos(angle)[:, None, None], torch.sin(angle)[:, None, None]
    rot = c * torch.eye(3) + s * cross + (1.0 - c) * torch.outer(k, k)     # (B, 3, 3)
    return torch.einsum("bij,bjhw->bihw", rot, x).clamp(0.0, 1.0)


def augment(x: torch.Tensor, gen: torch.Generator) -> torch.Tensor:
    """A random affine move of every image, and for RGB a random colour rotation."""
    x = affine(x, gen)
    if x.shape[1] == 3:
        x = rotate_hue(x, _uniform(len(x), -math.pi, math.pi, gen))
    return x
