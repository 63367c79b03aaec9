"""The Train room: teach a model on your own files (placeholder).

When built it will train or fine-tune the text, image or music model on a folder of the
user's files, plotting the loss as it falls. Until then it says so plainly and trains nothing.
"""

from __future__ import annotations

from desktop_app.ui.rooms.base import PlaceholderRoom


class TrainPanel(PlaceholderRoom):
    """Train room panel (GUI thread)."""

    room_id = "train"
    title = "Train"
    tagline = "Teach a model on a folder of your own files."
    model_kind = None
    generates = False
    uses_randomness = False
    coming = (
        "Pick a folder of your text, images or MIDI files and a model to start from.",
        "Watch the loss fall on a live chart; stop whenever you like.",
        "Checkpoints are saved as safetensors; the trained model appears in every room.",
    )
