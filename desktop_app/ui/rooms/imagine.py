"""The Imagine room: sample images from a seed and move through a latent space (placeholder).

When built it will decode images with the image VAE, offer latent sliders, morph A→B and
export GIFs. Until then it says so plainly and generates nothing.
"""

from __future__ import annotations

from desktop_app.ui.rooms.base import PlaceholderRoom


class ImaginePanel(PlaceholderRoom):
    """Imagine room panel (GUI thread)."""

    room_id = "imagine"
    title = "Imagine"
    tagline = "Sample images from a seed and wander through a latent space."
    model_kind = "image"
    generates = True
    coming = (
        "Draw a grid of images from the seed in the Randomness box.",
        "Move latent sliders and watch one image change as you drag.",
        "Morph smoothly from image A to image B and export the morph as a GIF.",
    )
