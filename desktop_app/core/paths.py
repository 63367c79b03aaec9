"""Where Reverie finds its shipped files and keeps the user's (no Qt, no torch).

Shipped:  ``<install>/models/<kind>/<name>/`` and ``<install>/resources/``.
User:     ``$REVERIE_DATA_DIR`` or ``$XDG_DATA_HOME/reverie`` (default ``~/.local/share/reverie``)
          holding ``models/<kind>/``, ``autosave/`` and ``logs/``.

Names coming from settings or files are untrusted: :func:`safe_child` refuses any name that
would escape its parent folder.
"""

from __future__ import annotations

import os
from pathlib import Path

from desktop_app.core.errors import UsageError

MODEL_KINDS = ("text", "image", "music")
#: The built-in models the program names (folders under ``models/<kind>/``), spelled once.
WRITING_MODEL = "smollm2-135m-instruct"   # text: the Write room's default
STORY_MODEL = "reverie-stories"           # text: the small story model trained here
IMAGE_MODEL = "emoji"                     # image: Imagine's and Explore's first choice
MELODY_MODEL = "folk-melodies"            # music: Compose's melody model
PHRASE_MODEL = "phrase-vae"               # music: encodes phrases (Explore, A → B morphs)
FASHION_MODEL = "fashion"                 # image: the Fashion-MNIST model (Explore's map)


def install_root() -> Path:
    """The folder holding ``desktop_app/``, ``models/`` and ``resources/``.

    ``REVERIE_INSTALL_ROOT`` overrides it (tests, and the PyInstaller bundle's ``_MEIPASS``).
    """
    override = os.environ.get("REVERIE_INSTALL_ROOT")
    if override:
        return Path(override)
    return Path(__file__).resolve().parents[2]


def builtin_models_dir() -> Path:
    """``<install>/models``; ``REVERIE_BUILTIN_MODELS_DIR`` overrides it (tests)."""
    override = os.environ.get("REVERIE_BUILTIN_MODELS_DIR")
    return Path(override) if override else install_root() / "models"


def resources_dir() -> Path:
    return install_root() / "resources"


def user_data_dir() -> Path:
    override = os.environ.get("REVERIE_DATA_DIR")
    if override:
        return Path(override)
    base = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(base) / "reverie"


def user_models_dir() -> Path:
    """``$REVERIE_USER_MODELS_DIR`` (set by the app from Preferences) or ``<data>/models``."""
    override = os.environ.get("REVERIE_USER_MODELS_DIR")
    return Path(override) if override else user_data_dir() / "models"


def autosave_dir() -> Path:
    """``$REVERIE_AUTOSAVE_DIR`` (set by the app from Preferences) or ``<data>/autosave``."""
    override = os.environ.get("REVERIE_AUTOSAVE_DIR")
    return Path(override) if override else user_data_dir() / "autosave"


def logs_dir() -> Path:
    return user_data_dir() / "logs"


def safe_child(parent: Path, name: str) -> Path:
    """Return ``parent / name`` if it stays inside ``parent``; raise :class:`UsageError` otherwise."""
    if not name or name in (".", "..") or "/" in name or "\\" in name or "\x00" in name:
        raise UsageError(f"not a valid name: {name!r}")
    child = (parent / name).resolve()
    if child.parent != parent.resolve():
        raise UsageError(f"not a valid name: {name!r}")
    return child


def resolve_model_dir(name_or_dir: str, kind: str, extra_dirs: list[Path] | None = None) -> Path:
    """Resolve a model NAME (a folder under ``models/<kind>/`` or the user's models) or a path.

    A name is looked up first among the user's models, then the shipped ones, then
    ``extra_dirs``; anything containing a path separator, or an existing folder, is a path.
    """
    if kind not in MODEL_KINDS:
        raise UsageError(f"unknown model kind {kind!r}; expected one of {', '.join(MODEL_KINDS)}")
    looks_like_path = os.sep in name_or_dir or name_or_dir.startswith(".") or "/" in name_or_dir
    if not looks_like_path:
        for root in [user_models_dir() / kind, builtin_models_dir() / kind, *(extra_dirs or [])]:
            try:
                candidate = safe_child(root, name_or_dir)
            except UsageError:
                break
            if candidate.is_dir():
                return candidate
    path = Path(name_or_dir).expanduser()
    if path.is_dir():
        return path.resolve()
    raise UsageError(
        f"no {kind} model named {name_or_dir!r}: not a folder under models/{kind}/ or the "
        f"user's models, and not an existing folder"
    )
