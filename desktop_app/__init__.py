"""Reverie — an offline desktop studio for generative models.

The package is split by what each part may import:

* ``core``      pure Python + numpy (no Qt, no torch): jobs, events, sampling, melodies, latents.
* ``ml``        torch models, loaders, training loops (imported only inside the engine's worker).
* ``backends``  job handlers the engine runs, plus instant fakes for UI tests.
* ``engine``    the only package that knows about threads.
* ``ui``        Qt widgets: the main window and one panel per room.
"""

__version__ = "0.1.0"
APP_NAME = "Reverie"
APP_ID = "io.github.reverie.Reverie"
