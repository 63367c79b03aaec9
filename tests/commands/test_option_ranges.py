"""Every option of every ``reverie`` command is bounded by argparse (issue 20, items 5 and 9).

The options are discovered from the parsers themselves, so an option added later without a
type from :mod:`desktop_app.commands.options` fails ``test_every_option_has_a_checked_type``,
and every bounded one is fed values just outside its range.
"""

from __future__ import annotations

import argparse
import math
import subprocess
import sys

import pytest

from desktop_app import cli
from desktop_app.commands import options as opt


def _commands() -> list[tuple[list[str], argparse.ArgumentParser]]:
    parser = cli.build_parser()
    out = []
    top = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    for group, name, _module, _help in cli.COMMANDS:
        sub = top.choices[group or name]
        if group is not None:
            kinds = next(a for a in sub._actions if isinstance(a, argparse._SubParsersAction))
            sub = kinds.choices[name]
        out.append(([group, name] if group else [name], sub))
    return out


COMMANDS = _commands()
_TAKES_VALUE = (argparse._StoreAction, argparse._AppendAction)


def _value_actions():
    for words, parser in COMMANDS:
        for action in parser._actions:
            if isinstance(action, _TAKES_VALUE):
                yield words, action


def _flag(action) -> str | None:
    return action.option_strings[-1] if action.option_strings else None


def _outside(lo, hi) -> list[str]:
    if isinstance(lo, int) and isinstance(hi, int):
        return [str(lo - 1), str(hi + 1), "1.5", "many"]
    return [repr(lo - 1.0), repr(hi * 2 + 1.0), "nan", "inf", "-inf", "many"]


BOUNDED = [(words, action, bad) for words, action in _value_actions()
           if hasattr(action.type, "bounds")
           for bad in _outside(*action.type.bounds)]


def test_every_option_has_a_checked_type():
    """No bare int/float/str/Path: a value-taking option needs an options.* type or choices."""
    unchecked = [f"{' '.join(w)} {_flag(a) or a.dest}" for w, a in _value_actions()
                 if a.choices is None and getattr(a.type, "__module__", None) != opt.__name__]
    assert unchecked == []


def test_the_sweep_covers_the_reported_options():
    flags = {(" ".join(w), _flag(a)) for w, a, _ in BOUNDED}
    for want in [("generate text", "--threads"), ("generate text", "--top-p"),
                 ("generate text", "--temperature"), ("generate text", "--context-length"),
                 ("train text", "--lr"), ("train text", "--vocab-size"), ("edit", "--scale"),
                 ("train music", "--threads"), ("train image", "--threads"),
                 ("bench text", "--threads"), ("generate music", "--top-p")]:
        assert want in flags
    assert len(BOUNDED) > 200


@pytest.mark.parametrize("words,action,bad", BOUNDED,
                         ids=[f"{'-'.join(w)}{_flag(a) or a.dest}={b}" for w, a, b in BOUNDED])
def test_out_of_range_values_exit_2_with_a_usage_line(words, action, bad, capsys):
    flag = _flag(action)
    argv = [*words, f"{flag}={bad}"] if flag else [*words, bad]
    assert cli.main(argv) == 2
    err = capsys.readouterr().err
    lines = err.splitlines()
    assert len(lines) == 2 and lines[0].startswith("usage: ") and "error:" in lines[1], err
    assert "Traceback" not in err


@pytest.mark.parametrize("words,action", [
    (w, a) for w, a in _value_actions() if getattr(a.type, "__name__", "") == "text"],
    ids=lambda x: x if isinstance(x, str) else "")
def test_text_options_refuse_bytes_that_are_not_utf8(words, action, capsys):
    flag = _flag(action)
    bad = b"caf\xe9".decode("utf-8", "surrogateescape")   # what argv holds for Latin-1 bytes
    assert cli.main([*words, flag, bad] if flag else [*words, bad]) == 2
    assert "not valid UTF-8" in capsys.readouterr().err


def test_invalid_utf8_prompt_through_the_real_entry_point():
    proc = subprocess.run([sys.executable, "-m", "desktop_app", "generate", "text",
                           "--prompt", b"\xff\xfe bad".decode("utf-8", "surrogateescape")],
                          capture_output=True, timeout=120)
    err = proc.stderr.decode("utf-8", "replace")
    assert proc.returncode == 2 and "not valid UTF-8" in err and "Traceback" not in err


def test_threads_100000_is_refused_before_anything_runs(capsys):
    for words, _parser in COMMANDS:
        if any("--threads" in a.option_strings for a in _parser._actions):
            assert cli.main([*words, "--threads", "100000"]) == 2
            assert f"from 1 to {opt.MAX_THREADS}" in capsys.readouterr().err


# --- the types themselves -----------------------------------------------------------------

def test_int_and_float_ranges():
    count = opt.int_in(1, 10)
    assert count("1") == 1 and count(" 10 ") == 10
    for bad in ("0", "11", "1e3", "2.0", "", "x"):
        with pytest.raises(argparse.ArgumentTypeError, match="from 1 to 10"):
            count(bad)
    lr = opt.float_in(0, 10, above=True)
    assert lr("2e-3") == 0.002 and lr("10") == 10
    for bad in ("0", "-1", "nan", "inf", "10.5", "x"):
        with pytest.raises(argparse.ArgumentTypeError, match="above 0"):
            lr(bad)
    assert opt.PROBABILITY("0") == 0 and opt.PROBABILITY("1") == 1
    assert not math.isnan(opt.TEMPERATURE("0"))


def test_paths(tmp_path):
    f = tmp_path / "f.txt"
    f.write_text("x")
    assert opt.output_dir(str(tmp_path / "new")) == tmp_path / "new"
    assert opt.output_dir(str(tmp_path)) == tmp_path
    with pytest.raises(argparse.ArgumentTypeError, match="existing file; a folder"):
        opt.output_dir(str(f))
    assert opt.output_file(str(f)) == f
    with pytest.raises(argparse.ArgumentTypeError, match="is a folder"):
        opt.output_file(str(tmp_path))
    with pytest.raises(argparse.ArgumentTypeError, match="is a file, not a folder"):
        opt.output_file(str(f / "inside.png"))
    assert opt.existing_file(str(f)) == f and opt.existing_dir(str(tmp_path)) == tmp_path
    with pytest.raises(argparse.ArgumentTypeError, match="a folder is needed"):
        opt.existing_dir(str(f))
    with pytest.raises(argparse.ArgumentTypeError, match="a file is needed"):
        opt.existing_file(str(tmp_path))
    with pytest.raises(argparse.ArgumentTypeError, match="no such"):
        opt.existing_file(str(tmp_path / "missing"))


def test_device():
    assert opt.device("cpu") == "cpu" and opt.device("CPU") == "cpu"
    for bad in ("gpu", "cuda:x", "cpu:1", "cuda:99999"):
        with pytest.raises(argparse.ArgumentTypeError):
            opt.device(bad)
    import torch

    if torch.cuda.device_count() < 100:
        with pytest.raises(argparse.ArgumentTypeError, match="CUDA"):
            opt.device("cuda:99")
