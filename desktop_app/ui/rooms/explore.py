"""The Explore room: see a model's latent space as a map (placeholder).

When built it will project latents to 2-D, decode the point you click, and morph along a
path you draw. Until then it says so plainly and shows no map.
"""

from __future__ import annotations

from desktop_app.ui.rooms.base import PlaceholderRoom


class ExplorePanel(PlaceholderRoom):
    """Explore room panel (GUI thread)."""

    room_id = "explore"
    title = "Explore"
    tagline = "Look inside a model: its latent space as a map."
    model_kind = "image"
    generates = False
    uses_randomness = False
    coming = (
        "See the image model's latent space as a 2-D map (PCA and friends).",
        "Click any point on the map to decode it into an image.",
        "Draw a path across the map and play the morph along it.",
        "Find the nearest neighbours of any point.",
    )
