"""What each room's autosave snapshot may hold: checked before any widget sees it.

A snapshot is read back at start-up, inside the window's first show, so a value a widget
cannot take (a number where a path belongs, a cursor of ``"abc"`` or ``Infinity``, a seed
past 2**31, a slider amount of 1e308) used to stop the window from opening on every launch.
Each validator raises :class:`~desktop_app.core.errors.DataError` naming the field; the store
then sets the file aside (core/autosave.py). The checks are structural — types, sizes and
ranges — and the rooms still parse the content itself (documents, melodies, latents).
"""

from __future__ import annotations

from typing import Any, Callable

from desktop_app.core.documents import WritingSession
from desktop_app.core.errors import DataError
from desktop_app.core.untrusted import (MAX_AMOUNT_SIGMA, float_in, int_in, slider_amounts,
                                        str_in)

SRC = "the autosave"
#: Qt widgets hold C ints: anything a spin box or slider receives stays inside this.
INT32 = 2**31 - 1
MAX_PATH = 4096
MAX_ITEMS = 1000


def _opt(state: dict, name: str, check: Callable[[Any], Any]) -> None:
    if state.get(name) is not None:
        check(state[name])


def _bool(name: str):
    def check(value):
        if not isinstance(value, bool):
            raise DataError(f"{SRC}: {name!r} must be true or false, not {value!r}"[:160])
    return check


def _path(name: str):
    def check(value):
        text = str_in(value, name, max_len=MAX_PATH, source=SRC)
        if "\0" in text:
            raise DataError(f"{SRC}: {name!r} is not a file path")
    return check


def _list(value: Any, name: str, max_items: int = MAX_ITEMS) -> list:
    if not isinstance(value, list) or len(value) > max_items:
        raise DataError(f"{SRC}: {name!r} must be a list of at most {max_items} items")
    return value


def _dict(value: Any, name: str) -> dict:
    if not isinstance(value, dict):
        raise DataError(f"{SRC}: {name!r} must be a mapping")
    return value


def validate_write(state: dict) -> None:
    """Write room: ``session`` (a .reverie document), ``path``, ``modified``, ``cursor``."""
    session = WritingSession.from_json(_dict(state.get("session"), "session"), source=SRC)
    _opt(state, "path", _path("path"))
    _opt(state, "modified", _bool("modified"))
    # Qt counts the cursor in UTF-16 units (an emoji is two): at most twice the characters
    _opt(state, "cursor", lambda v: int_in(v, "cursor", 0, 2 * len(session.text), source=SRC))


def _latent_state(value: Any, name: str) -> None:
    d = _dict(value or {}, name)
    _opt(d, "base", lambda v: str_in(v, f"{name} latent", max_len=1 << 22, source=SRC))
    slider_amounts(d.get("amounts"), source=SRC, limit=MAX_AMOUNT_SIGMA)


def validate_imagine(state: dict) -> None:
    """Imagine room: model folder, temperature, grid seeds, latent history, morph ends."""
    _opt(state, "model_dir", _path("model_dir"))
    _opt(state, "source", lambda v: str_in(v, "source", max_len=MAX_PATH, source=SRC))
    _opt(state, "temperature", lambda v: float_in(v, "temperature", 0.0, 10.0, source=SRC))
    for seed in _list(state.get("seeds") or [], "seeds", 256):
        int_in(seed, "seed", 0, 2**32 - 1, source=SRC)
    _opt(state, "frames", lambda v: int_in(v, "frames", 2, 1000, source=SRC))
    _opt(state, "method", lambda v: str_in(v, "method", max_len=32, source=SRC))
    _opt(state, "smooth", _bool("smooth"))
    history = _dict(state.get("history"), "history")
    steps = _list(history.get("steps") or [], "history steps", 200)
    for step in steps:
        step = _dict(step, "history step")
        _latent_state(step.get("before"), "history step")
        _latent_state(step.get("after"), "history step")
        _opt(step, "text", lambda v: str_in(v, "history text", max_len=200, source=SRC))
    _opt(history, "index", lambda v: int_in(v, "history index", 0, len(steps), source=SRC))
    _latent_state(history.get("state"), "history state")
    ends = _dict(state.get("ends") or {}, "ends")
    for end in ends.values():
        end = _dict(end, "morph end")
        str_in(end.get("latent"), "morph end latent", max_len=1 << 22, source=SRC)


def _melody(value: Any, name: str) -> None:
    d = _dict(value, name)
    for note in _list(d.get("notes"), f"{name} notes", 8192):
        if not isinstance(note, list) or len(note) != 4:
            raise DataError(f"{SRC}: a note of {name!r} is not [pitch, start, duration, velocity]")
        pitch, start, duration, velocity = note
        int_in(pitch, "pitch", 0, 127, source=SRC)
        float_in(start, "note start", 0.0, 4096.0, source=SRC)
        float_in(duration, "note duration", 1e-6, 4096.0, source=SRC)
        int_in(velocity, "velocity", 0, 127, source=SRC)
    float_in(d.get("tempo"), "tempo", 20.0, 400.0, source=SRC)
    str_in(d.get("key"), "key", max_len=40, source=SRC)
    str_in(d.get("meter"), "meter", max_len=16, source=SRC)


def validate_compose(state: dict) -> None:
    """Compose room: the melody, its variations and captions, the controls' settings."""
    _melody(state.get("melody"), "melody")
    for v in _list(state.get("variations") or [], "variations", 64):
        _melody(v, "variation")
    for c in _list(state.get("captions") or [], "captions", 64):
        str_in(c, "caption", max_len=400, source=SRC)
    settings = _dict(state.get("settings") or {}, "settings")
    for name, value in settings.items():
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            float_in(value, f"settings {name}", -INT32, INT32, source=SRC)
        elif value is not None and not isinstance(value, (bool, str)):
            raise DataError(f"{SRC}: setting {name!r} is not a plain value")
    _opt(state, "loop", _bool("loop"))
    _opt(state, "metronome", _bool("metronome"))
    _opt(state, "last_dir", _path("last_dir"))
    for name in ("model", "model_source"):   # a model name, looked up in the model scan
        if state.get(name) is not None:
            str_in(state[name], name, max_len=64, source=SRC)


VALIDATORS: dict[str, Callable[[dict], None]] = {
    "write": validate_write, "imagine": validate_imagine, "compose": validate_compose}
