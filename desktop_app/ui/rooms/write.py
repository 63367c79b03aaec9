"""The Write room: continue a draft with a local language model (placeholder until its issue).

When built it will stream tokens from the text model, compare variants and show the
probabilities behind each token. Until then it says so plainly and generates nothing.
"""

from __future__ import annotations

from desktop_app.ui.rooms.base import PlaceholderRoom


class WritePanel(PlaceholderRoom):
    """Write room panel (GUI thread)."""

    room_id = "write"
    title = "Write"
    tagline = "Continue a draft with a local language model."
    model_kind = "text"
    generates = True
    coming = (
        "Type an opening and let the local model continue it, word by word, as you watch.",
        "Generate several variants side by side and keep the one you like.",
        "Click any word to see the probabilities behind it, before and after each sampler stage.",
        "Save and reopen writing sessions; export the text.",
    )
