"""Hostile inputs through the real command line (``python -m desktop_app``), in subprocesses.

Each case is generated at test time (tests/hostile/hostile_inputs.py) and represents a class from
issue 20: oversized or damaged MIDI, damaged or hostile model folders (sizes, types, nesting,
paths outside the folder, chat templates that would fill the memory), unbounded options.
Every child runs under an address-space limit (RLIMIT_AS, 3 GiB) and a timeout; it must end
with exit status 1 (a runtime error) or 2 (a usage error), print at most a few lines on
stderr, and never a Python traceback. The children run a few at a time so the suite takes
tens of seconds, not minutes.
"""

from __future__ import annotations

import json
import os
import resource
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import pytest

import hostile_inputs as make

ROOT = make.ROOT
MEMORY_LIMIT = 3 << 30
TIMEOUT_S = 120  # generous: the machine may be shared; a hang still fails
PARALLEL = 6
MAX_STDERR_LINES = 3


def _limit_memory() -> None:  # runs in the child before exec
    resource.setrlimit(resource.RLIMIT_AS, (MEMORY_LIMIT, MEMORY_LIMIT))


@dataclass
class Case:
    name: str
    args: list[str]
    codes: tuple[int, ...] = (1,)
    says: str = ""          # a word the one-line message must contain
    env: dict = field(default_factory=dict)


def _cases(tmp: Path) -> list[Case]:
    big = make.long_note_midi(tmp / "long-note.mid")
    tempo0 = make.midi(tmp / "tempo0.mid", tempo=0)
    bad_folder = tmp / "bad-midi"
    bad_folder.mkdir()
    make.long_note_midi(bad_folder / "long.mid")
    (bad_folder / "junk.mid").write_bytes(b"MThd\x00\x00")
    models = tmp / "models"

    def model(name: str, **kw) -> str:
        return str(make.text_model(models / name, **kw))

    gen = ["generate", "text", "--prompt", "Once", "--max-tokens", "2", "--threads", "1",
           "--model"]
    outside = tmp / "outside.safetensors"
    outside.symlink_to(make.STORIES / "model.safetensors")
    number_dtype = make.safetensors_bytes(
        {"model.embed_tokens.weight": {"dtype": 5, "shape": [1], "data_offsets": [0, 4]}},
        b"\0" * 4)
    writing = make.writing_folder(tmp / "hostile-writing")
    deep_user = tmp / "user-models"
    make.text_model(deep_user / "text" / "deep", config_text=make.deep_json())
    return [
        # item 1 / 8: MIDI sizes and tempo 0
        Case("morph-melody long note", ["morph-melody", str(big), str(big), "--output",
                                        str(tmp / "morph-out")], says="quarter notes"),
        Case("primer long note", ["generate", "music", "--primer", str(big), "--output",
                                  str(tmp / "p.mid")], says="quarter notes"),
        Case("primer tempo 0", ["generate", "music", "--primer", str(tempo0), "--bars", "2",
                                "--output", str(tmp / "t0.mid")], codes=(0,)),
        Case("train music bad folder", ["train", "music", "--data", str(bad_folder), "--out",
                                        str(tmp / "tm-out"), "--steps", "1", "--size", "test"],
             codes=(1, 2)),
        # a writer's documents: zip bomb, billion laughs, not a zip, RTF 200,000 deep, an
        # e-book whose package lies outside its archive, damaged Word 97 files
        Case("train text hostile documents", ["train", "text", "--data", str(writing),
                                              "--out", str(tmp / "tw-out"), "--steps", "1",
                                              "--size", "test"], says="usable"),
        # a path longer than the file system allows, as typed or pasted: one line, no OSError
        Case("eval text path too long", ["eval", "text", "--model", str(make.STORIES),
                                         "--data", str(tmp / ("x" * 5000))], says="too long"),
        Case("train text path too long", ["train", "text", "--data", str(tmp / ("x" * 5000)),
                                          "--out", str(tmp / "long-out")], codes=(2,),
             says="too long"),
        # item 3 / 7: damaged model folders
        Case("config 1e9 layers", gen + [model("layers", config={"num_hidden_layers": 1e9})],
             says="layers"),
        Case("config string size", gen + [model("str", config={"hidden_size": "256"})],
             says="hidden_size"),
        Case("config zero heads", gen + [model("heads", config={"num_attention_heads": 0})],
             says="num_attention_heads"),
        Case("config zero positions", gen + [model("pos", config={"max_position_embeddings": 0})],
             says="max_position_embeddings"),
        Case("config rope factor x", gen + [model("rope", config={"rope_scaling": {
            "rope_type": "linear", "factor": "x"}})], says="factor"),
        Case("config 100k deep", gen + [model("deep", config_text=make.deep_json())],
             says="deeper"),
        Case("dtype is a number", gen + [model("dtype", weights=number_dtype)]),
        Case("weight_map number", gen + [model("wm-num", index={"weight_map": {"a": 5}})]),
        Case("weight_map outside", gen + [model("wm-out", index={"weight_map": {
            "model.embed_tokens.weight": "../../outside.safetensors"}})], says="outside"),
        Case("models with a deep config", ["models"], codes=(0,),
             env={"REVERIE_USER_MODELS_DIR": str(deep_user)}),
        # item 4: chat templates that would fill the memory
        Case("template a*1e8", gen + [model("tpl-mul", tokenizer_config={
            "chat_template": "{{ 'a' * 100000000 }}"}), "--chat"], says="template"),
        Case("template nested range", gen + [model("tpl-range", tokenizer_config={
            "chat_template": "{% for i in range(100000) %}{% for j in range(100000) %}x"
                             "{% endfor %}{% endfor %}"}), "--chat"], says="template"),
        # item 5: options without an upper bound
        Case("train text vocab 1e9", ["train", "text", "--data", str(bad_folder), "--out",
                                      str(tmp / "tt-out"), "--vocab-size", "1000000000"],
             codes=(2,), says="vocab"),
        Case("edit scale 100000", ["edit", str(tempo0), "--direction", "smile=1", "--scale",
                                   "100000", "--output",
                                   str(tmp / "e.png")], codes=(2,), says="scale"),
    ]


@pytest.fixture(scope="module")
def results(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("hostile")
    cases = _cases(tmp)
    base = {**os.environ, "REVERIE_DATA_DIR": str(tmp / "data"),
            "XDG_CONFIG_HOME": str(tmp / "config"), "OMP_NUM_THREADS": "1",
            "PYTHONPATH": str(ROOT)}
    out: dict[str, tuple[Case, int | None, str, float]] = {}
    for start in range(0, len(cases), PARALLEL):
        running = []
        for i, case in enumerate(cases[start:start + PARALLEL]):
            err = open(tmp / f"stderr-{start + i}.txt", "w+")
            proc = subprocess.Popen([sys.executable, "-m", "desktop_app", *case.args], cwd=tmp,
                                    env={**base, **case.env}, stdout=subprocess.DEVNULL,
                                    stderr=err, preexec_fn=_limit_memory)
            running.append((case, proc, err, time.monotonic()))
        for case, proc, err, began in running:
            try:
                code = proc.wait(timeout=TIMEOUT_S)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
                code = None
            err.seek(0)
            out[case.name] = (case, code, err.read(), time.monotonic() - began)
            err.close()
    return out


CASE_NAMES = [
    "morph-melody long note", "primer long note", "primer tempo 0", "train music bad folder",
    "config 1e9 layers", "config string size", "config zero heads", "config zero positions",
    "config rope factor x", "config 100k deep", "dtype is a number", "weight_map number",
    "weight_map outside", "models with a deep config", "template a*1e8",
    "template nested range", "train text vocab 1e9", "edit scale 100000",
    "train text hostile documents", "eval text path too long", "train text path too long"]


@pytest.mark.parametrize("name", CASE_NAMES)
def test_hostile_input_gives_one_clear_line(results, name):
    case, code, stderr, _seconds = results[name]
    assert code is not None, f"{name}: still running after {TIMEOUT_S} s (a hang)"
    assert "Traceback" not in stderr, f"{name}: traceback on stderr:\n{stderr[-3000:]}"
    assert code in case.codes, f"{name}: exit status {code}, expected {case.codes}:\n{stderr}"
    if code:
        lines = [ln for ln in stderr.splitlines() if ln.strip()]
        assert 1 <= len(lines) <= MAX_STDERR_LINES, f"{name}: stderr is not one clear line:\n{stderr}"
        assert case.says.lower() in stderr.lower(), f"{name}: message lacks {case.says!r}:\n{stderr}"


def test_every_case_is_checked(tmp_path):
    assert sorted(c.name for c in _cases(tmp_path)) == sorted(CASE_NAMES)
