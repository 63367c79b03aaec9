"""User-facing errors: each carries one readable sentence meant for the person using the app.

The CLI prints ``reverie: error: <message>`` and exits 1 for a :class:`ReverieError` (2 for a
:class:`UsageError`); the engine turns any of them into a ``Failed`` event with that message.
"""


class ReverieError(Exception):
    """An expected failure with a message a user can act on (bad file, model error, ...)."""


class UsageError(ReverieError):
    """The command line or request was malformed (CLI exit status 2)."""


class ModelLoadError(ReverieError):
    """A model folder could not be loaded; the message names the file or tensor at fault."""


class DataError(ReverieError):
    """Input data (text, images, MIDI) is unusable; the message says why."""
