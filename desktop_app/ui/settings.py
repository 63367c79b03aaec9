"""The user's preferences, kept in an INI file through QSettings (GUI thread only).

The file lives at ``$XDG_CONFIG_HOME/reverie/reverie.ini`` (``~/.config/reverie/``), so tests
that point ``XDG_CONFIG_HOME`` at a temporary folder are isolated. Every getter validates its
value and falls back to the default, so a hand-edited or damaged file never breaks start-up.
A file that is not a readable INI file at all, or that parses but holds a value out of the
range a control can take (:data:`RANGES`: ``seed=4294967296`` or ``top_k=3000000000`` would
overflow a spin box during start-up), is moved aside to ``reverie.ini.corrupt`` and the app
starts with defaults; :attr:`Settings.warning` then holds a one-line message for the user.
A save that fails (a full disk) is reported by :meth:`Settings.sync`, never silent.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path

from PySide6.QtCore import QByteArray, QSettings

from desktop_app.core import paths

log = logging.getLogger(__name__)

THEMES = ("system", "light", "dark")
ROOMS = ("write", "imagine", "compose", "explore", "train")
MAX_RECENT = 10
#: Numeric keys and the range their control takes (RandomnessControls, Preferences). A number
#: outside its range means the file was edited or damaged: it is set aside. (A value that is
#: not a number at all only falls back to that key's default, as every getter does.)
RANGES: dict[str, tuple[type, float, float]] = {
    "randomness/seed": (int, 0, 2_147_483_647),
    "randomness/temperature": (float, 0.0, 5.0),
    "randomness/top_k": (int, 0, 100_000),
    "randomness/top_p": (float, 0.0, 1.0),
    "randomness/min_p": (float, 0.0, 1.0),
    "engine/threads": (int, 0, 256),
    "engine/memory_budget_mb": (int, 0, 1 << 20),
}


def config_dir() -> Path:
    base = os.environ.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    return Path(base) / "reverie"


def settings_path() -> Path:
    return config_dir() / "reverie.ini"


_MAX_SETTINGS_BYTES = 4 << 20     # a settings file is a few kB


def _looks_corrupt(path: Path) -> str:
    """Return why ``path`` is not a plausible INI file, or "" when it looks fine."""
    try:
        if path.stat().st_size > _MAX_SETTINGS_BYTES:   # not read into memory whole
            return f"it is larger than {_MAX_SETTINGS_BYTES >> 20} MB"
        text = path.read_bytes().decode("utf-8")
    except UnicodeDecodeError:
        return "it is not UTF-8 text"
    except OSError as exc:
        return f"it cannot be read ({exc.strerror})"
    for number, line in enumerate(text.splitlines(), 1):
        stripped = line.strip()
        if any(ord(c) < 32 and c != "\t" for c in line):
            return f"line {number} holds control characters"
        if not stripped or stripped.startswith((";", "#")):
            continue
        if stripped.startswith("[") and stripped.endswith("]"):
            continue
        if "=" not in stripped:
            return f"line {number} is neither a [section] nor a key=value line"
    return ""


def _out_of_range(qs: QSettings) -> str:
    """Why a parsed settings file holds a value its control cannot take, or ""."""
    for key, (kind, lo, hi) in RANGES.items():
        raw = qs.value(key)
        if raw is None:
            continue
        try:
            value = kind(raw) if not isinstance(raw, str) or kind is float else int(raw.strip())
        except (TypeError, ValueError):
            continue  # not a number at all: that key alone falls back to its default
        if not (math_ok(value) and lo <= value <= hi):
            return f"{key} is {value}, outside {lo}-{hi}"
    return ""


class Settings:
    """Typed access to the settings file. Lives on the GUI thread."""

    def __init__(self, path: Path | None = None) -> None:
        self.path = Path(path) if path else settings_path()
        self.warning = ""
        if self.path.exists():
            reason = _looks_corrupt(self.path)
            if not reason:
                probe = QSettings(str(self.path), QSettings.Format.IniFormat)
                if probe.status() != QSettings.Status.NoError:
                    reason = "Qt could not parse it"
                else:
                    reason = _out_of_range(probe)
                del probe
            if reason:
                self._move_aside(reason)
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            self.warning = (f"The settings folder {self.path.parent} cannot be created "
                            f"({exc.strerror}); settings will not be saved.")
            log.warning(self.warning)
        self._qs = QSettings(str(self.path), QSettings.Format.IniFormat)

    def _move_aside(self, reason: str) -> None:
        backup = self.path.with_name(self.path.name + ".corrupt")
        try:
            os.replace(self.path, backup)
            kept = f"; the damaged file was kept as {backup.name}"
        except OSError:
            kept = ""
        self.warning = f"The settings file {self.path} was unreadable ({reason}); using defaults{kept}."
        log.warning(self.warning)

    # -- generic typed getters -------------------------------------------------------------

    def _get(self, key: str, default, kind: type):
        value = self._qs.value(key, default)
        if value is None:
            return default
        try:
            if kind is bool:
                if isinstance(value, str):
                    if value.lower() not in ("true", "false", "1", "0"):
                        return default
                    return value.lower() in ("true", "1")
                return bool(value)
            if kind in (int, float):
                result = kind(value)
                return result if math_ok(result) else default
            return kind(value)
        except (TypeError, ValueError):
            return default

    def value(self, key: str, default=None):
        return self._qs.value(key, default)

    def set_value(self, key: str, value) -> None:
        self._qs.setValue(key, value)

    def remove(self, key: str) -> None:
        self._qs.remove(key)

    def sync(self) -> bool:
        """Write the settings to disk; False (and :attr:`warning` says why) if that failed."""
        self._qs.sync()
        if self._qs.status() == QSettings.Status.NoError:
            return True
        self.warning = (f"The settings could not be saved to {self.path} (the disk may be "
                        f"full or the folder read-only); the changes last until Reverie closes.")
        log.warning(self.warning)
        return False

    # -- window ----------------------------------------------------------------------------

    def geometry(self) -> QByteArray | None:
        value = self._qs.value("window/geometry")
        return value if isinstance(value, QByteArray) and not value.isEmpty() else None

    def set_geometry(self, data: QByteArray) -> None:
        self._qs.setValue("window/geometry", data)

    def room(self, known: tuple[str, ...] | list[str] = ROOMS) -> str:
        """The room shown last, if it is one of ``known`` (the window's rooms), else Write."""
        room = self._get("window/room", "write", str)
        return room if room in known else "write"

    def set_room(self, room: str) -> None:
        self._qs.setValue("window/room", room)

    def theme(self) -> str:
        theme = self._get("view/theme", "system", str).lower()
        return theme if theme in THEMES else "system"

    def set_theme(self, theme: str) -> None:
        self._qs.setValue("view/theme", theme)

    # -- randomness ------------------------------------------------------------------------

    def randomness(self) -> dict:
        """Saved randomness values (only those that parse); the widget clamps them to range."""
        out = {}
        for key, kind in (("seed", int), ("temperature", float), ("top_k", int),
                          ("top_p", float), ("min_p", float), ("lock", bool),
                          ("noise", float), ("guidance", float)):
            value = self._get(f"randomness/{key}", None, kind)
            if value is not None:
                out[key] = value
        name = self._get("randomness/preset", "", str)
        if name:
            out["preset"] = name
        return out

    def set_randomness(self, values: dict) -> None:
        for key, value in values.items():
            self._qs.setValue(f"randomness/{key}", value)

    # -- engine and folders ----------------------------------------------------------------

    def inference_threads(self) -> int:
        """Worker threads for torch; 0 means "choose automatically"."""
        return max(0, min(256, self._get("engine/threads", 0, int)))

    def memory_budget_mb(self) -> int:
        """Memory for loaded models in MB; 0 means "automatic" (the engine's default)."""
        value = self._get("engine/memory_budget_mb", 0, int)
        return 0 if value <= 0 else max(256, min(1 << 20, value))

    def text_compile(self) -> bool:
        """Compile loaded text models' decode step in the background (ml/text/compiled).
        On by default: SmolLM2 int4 decodes about 1.8x faster compiled (1 thread, quiet:
        14.7 ms a token against 27.5 eager), and the build and the load wait until the model
        is idle, so they never slow the text that streams (README, "Quantized text decode")."""
        return bool(self._get("engine/text_compile", True, bool))

    def text_precision(self) -> str:
        """Weight precision for text models ("auto" = the file's own; see core.textgen)."""
        from desktop_app.core.textgen import PRECISIONS

        value = str(self._get("engine/text_precision", "auto", str)).lower()
        return value if value in PRECISIONS else "auto"

    def extra_model_dirs(self) -> list[Path]:
        value = self._qs.value("models/extra_folders", [])
        if isinstance(value, str):
            value = [value] if value else []
        if not isinstance(value, list):
            return []
        return [Path(v) for v in value if isinstance(v, str) and v]

    def set_extra_model_dirs(self, folders: list[Path]) -> None:
        self._qs.setValue("models/extra_folders", [str(f) for f in folders])

    def folder_overrides(self) -> dict[str, str]:
        """Environment variables that make ``core.paths`` use the folders chosen in Preferences
        (only those the user changed); the app sets them at start-up."""
        out = {}
        for key, env in (("paths/user_models", "REVERIE_USER_MODELS_DIR"),
                         ("paths/autosave", "REVERIE_AUTOSAVE_DIR")):
            value = self._get(key, "", str)
            if value:
                out[env] = value
        return out

    def user_models_dir(self) -> Path:
        value = self._get("paths/user_models", "", str)
        return Path(value) if value else paths.user_models_dir()

    def autosave_dir(self) -> Path:
        value = self._get("paths/autosave", "", str)
        return Path(value) if value else paths.autosave_dir()

    # -- recent files ----------------------------------------------------------------------

    def recent_files(self) -> list[str]:
        value = self._qs.value("recent/files", [])
        if isinstance(value, str):
            value = [value] if value else []
        return [v for v in value if isinstance(v, str) and v][:MAX_RECENT] if isinstance(value, list) else []

    def add_recent_file(self, path: str) -> None:
        files = [path] + [f for f in self.recent_files() if f != path]
        self._qs.setValue("recent/files", files[:MAX_RECENT])

    def clear_recent_files(self) -> None:
        self._qs.setValue("recent/files", [])


def math_ok(x: float) -> bool:
    return x == x and x not in (float("inf"), float("-inf"))
