"""Damaged start-up files through the real entry point: the window still opens.

Each case starts ``python -m desktop_app`` (offscreen) with its own user data folder
(``REVERIE_DATA_DIR``) and config folder (``XDG_CONFIG_HOME``) holding one damaged file: an
autosave whose fields have the wrong types or absurd values, or nest 100 000 levels deep, or a
``reverie.ini`` that parses but holds values no control can take. The app reports its first
paint through ``REVERIE_SMOKE_READY_FILE``; the test waits for it (bounded), checks the damaged
file was set aside as ``*.corrupt`` and that stderr holds no traceback, then ends the process.
The apps start together, so the suite costs one start-up, not four.
"""

from __future__ import annotations

import json
import os
import resource
import subprocess
import sys
import time
from pathlib import Path

import hostile_inputs as make
import pytest

ROOT = make.ROOT
STARTUP_TIMEOUT_S = 120  # generous for a shared machine; a window that never opens fails


def _limit_memory() -> None:
    resource.setrlimit(resource.RLIMIT_AS, (3 << 30, 3 << 30))


def _write_state(**overrides) -> dict:
    state = {"session": {"format": "reverie-session", "version": 1, "text": "Unsaved words.",
                         "history": []},
             "path": None, "modified": True, "cursor": 3}
    state.update(overrides)
    return {"pid": 1, "saved_at": 1.0, "state": state}


def _imagine_state(**overrides) -> dict:
    state = {"model_dir": None, "temperature": 1.0, "seeds": [1, 2], "source": "",
             "history": {"steps": [], "index": 0, "state": {}}, "ends": {}, "frames": 24,
             "method": "slerp", "smooth": False}
    state.update(overrides)
    return {"pid": 1, "saved_at": 1.0, "state": state}


def _compose_state(**melody) -> dict:
    tune = {"notes": [[60, 0.0, 1.0, 90]], "key": "C major", "meter": "4/4", "tempo": 120}
    tune.update(melody)
    return {"pid": 1, "saved_at": 1.0, "state": {"melody": tune, "variations": [],
                                                  "captions": [], "settings": {}}}


#: The Imagine room reads its autosave when it is first shown: these starts open in Imagine (the
#: room shown last), as after a crash there. Compose reads its own while the window is built.
IN_IMAGINE = ("config/reverie/reverie.ini", "[window]\nroom=imagine\n", False)

#: name -> the file(s) of one start, each (path, text[, damaged=True]); every damaged one must
#: be set aside, so one start checks the Imagine and the Compose autosave.
CASES = {
    "autosave path 5": ("autosave/write.json", json.dumps(_write_state(path=5))),
    "autosave cursor abc": ("autosave/write.json", json.dumps(_write_state(cursor="abc"))),
    "autosave cursor Infinity": ("autosave/write.json",
                                 json.dumps(_write_state()).replace('"cursor": 3',
                                                                    '"cursor": Infinity')),
    "autosave 100k deep": ("autosave/write.json", make.deep_json()),
    "autosave version -7": ("autosave/write.json", json.dumps(_write_state(session={
        "format": "reverie-session", "version": -7, "text": "x", "history": []}))),
    "ini out of range": ("config/reverie/reverie.ini",
                         "[randomness]\nseed=4294967296\ntop_k=3000000000\n"),
    "imagine model_dir 5, compose tempo 0": (
        IN_IMAGINE,
        ("autosave/imagine.json", json.dumps(_imagine_state(model_dir=5))),
        ("autosave/compose.json", json.dumps(_compose_state(tempo=0)))),
    "imagine amounts 1e308, compose note 1e300": (
        IN_IMAGINE,
        ("autosave/imagine.json", json.dumps(_imagine_state(history={
            "steps": [], "index": 0, "state": {"amounts": {"smile": 1e308}}}))),
        ("autosave/compose.json", json.dumps(_compose_state(notes=[[60, 0.0, 1e300, 90]])))),
    "imagine and compose 100k deep": (IN_IMAGINE, ("autosave/imagine.json", make.deep_json()),
                                      ("autosave/compose.json", make.deep_json())),
    "imagine seed 2**40 and end latent 5, compose melody 5": (
        IN_IMAGINE,
        ("autosave/imagine.json", json.dumps(_imagine_state(
            seeds=[2**40], ends={"A": {"latent": 5, "source": ""}}))),
        ("autosave/compose.json", json.dumps({"pid": 1, "state": {"melody": 5}}))),
}


@pytest.fixture(scope="module")
def started(tmp_path_factory):
    procs = {}
    for name, files in CASES.items():
        home = tmp_path_factory.mktemp("startup")
        targets = []
        for rel, text, *damaged in files if isinstance(files[0], tuple) else (files,):
            target = home / rel if rel.startswith("config/") else home / "data" / rel
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(text)
            if damaged != [False]:
                targets.append(target)
        env = {**os.environ, "QT_QPA_PLATFORM": "offscreen", "PYTHONPATH": str(ROOT),
               "REVERIE_DATA_DIR": str(home / "data"), "XDG_CONFIG_HOME": str(home / "config"),
               "REVERIE_SMOKE_READY_FILE": str(home / "ready.json"), "OMP_NUM_THREADS": "1"}
        err = open(home / "stderr.txt", "w+")
        proc = subprocess.Popen([sys.executable, "-m", "desktop_app"], cwd=home, env=env,
                                stdout=subprocess.DEVNULL, stderr=err,
                                preexec_fn=_limit_memory)
        procs[name] = (proc, err, home, targets)
    deadline = time.monotonic() + STARTUP_TIMEOUT_S
    results = {}
    try:
        pending = dict(procs)
        while pending and time.monotonic() < deadline:
            for name, (proc, err, home, target) in list(pending.items()):
                if (home / "ready.json").exists() or proc.poll() is not None:
                    results[name] = ((home / "ready.json").exists(), proc.poll())
                    del pending[name]
            time.sleep(0.1)  # polling subprocesses (no Qt here): the only way to wait on files
    finally:
        for name, (proc, err, home, target) in procs.items():
            proc.kill()
            proc.wait()
    out = {}
    for name, (proc, err, home, target) in procs.items():
        err.seek(0)
        out[name] = (*results.get(name, (False, None)), err.read(), target)
        err.close()
    return out


def home_of(target: Path) -> Path:
    return next(p for p in target.parents if p.name.startswith("startup"))


@pytest.mark.parametrize("name", list(CASES))
def test_window_opens_and_the_damaged_file_is_set_aside(started, name):
    painted, exited, stderr, targets = started[name]
    assert "Traceback" not in stderr, f"{name}: traceback:\n{stderr[-3000:]}"
    assert exited is None, f"{name}: the app exited ({exited}) before its window painted:\n{stderr}"
    assert painted, f"{name}: no first paint within {STARTUP_TIMEOUT_S} s"
    for target in targets:
        assert target.with_name(target.name + ".corrupt").exists(), f"{name}: {target.name} " \
            "not set aside"
    # ... with a message: the room (or the settings) says it in one sentence, also logged
    log = home_of(targets[0]) / "data" / "logs" / "reverie.log"
    text = log.read_text(errors="replace") if log.exists() else ""
    for target in targets:
        assert f"{target.name}.corrupt" in text, f"{name}: no message about {target.name}"
