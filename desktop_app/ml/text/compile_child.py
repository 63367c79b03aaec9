"""The child process that builds a model's compiled decode step (an AOTInductor package).

Started by :func:`desktop_app.ml.text.compiled.warm_in_child` (never by hand)::

    python -m desktop_app.ml.text.compile_child PATH PRECISION THREADS PACKAGE

It loads the model at ``PRECISION`` (the app's own loader) and writes ``PACKAGE``
(:func:`desktop_app.ml.text.aot_step.build`), which the app then loads. Failures end with one
line on stderr and exit status 1.
"""

from __future__ import annotations

import sys
from pathlib import Path


def main(argv: list[str]) -> int:
    if len(argv) != 4:
        print("usage: compile_child PATH PRECISION THREADS PACKAGE", file=sys.stderr)
        return 2
    path, precision, threads, package = argv[0], argv[1], int(argv[2]), Path(argv[3])
    import torch

    from desktop_app.ml.text import aot_step, compiled
    from desktop_app.ml.text.loader import load_text_model

    torch.set_num_threads(threads)
    try:
        lm = load_text_model(path, precision=precision, check_memory=False)
        if compiled.package_path(lm.model) != package:  # another shape key: the app would miss
            print("the child's model does not match the app's", file=sys.stderr)
            return 1
        aot_step.build(lm.model, package)
    except Exception as exc:  # noqa: BLE001 - one line for the parent's log
        print(f"{type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}",
              file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
