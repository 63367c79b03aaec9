"""The one progress printer every ``reverie train <kind>`` command uses."""

from __future__ import annotations

import json

from desktop_app.commands.progress import fmt_time, note, progress_printer
from desktop_app.ml.training.loop import TrainEvent


def test_json_lines_are_the_events_whole_and_unescaped(capsys):
    say = progress_printer("json")
    say(TrainEvent("step", 3, 10, loss=1.5, lr=1e-3, tokens_per_s=1234.0, eta_s=65))
    say({"kind": "data", "message": "loaded café.png"})
    out = capsys.readouterr().out
    lines = [json.loads(x) for x in out.splitlines()]
    assert lines[0] == {"kind": "step", "step": 3, "total_steps": 10, "loss": 1.5, "lr": 1e-3,
                        "tokens_per_s": 1234.0, "eta_s": 65}
    assert lines[1] == {"kind": "data", "message": "loaded café.png"}
    assert "café" in out     # UTF-8 on the wire, not \u escapes


def test_text_lines_one_per_event_in_the_commands_unit(capsys):
    say = progress_printer("text", unit="img/s")
    say(TrainEvent("step", 3, 10, loss=1.5, tokens_per_s=1234.0, eta_s=3725))
    say(TrainEvent("eval", 4, 10, val_loss=0.25, bits_per_byte=1.125))
    say(TrainEvent("sample", 4, 10, sample="Once\nupon"))
    say(TrainEvent("checkpoint", 4, 10, checkpoint="ck/step-4"))
    say(TrainEvent("start", 0, 10, message="resuming at step 4"))
    say({"kind": "data", "message": "12 images"})
    lines = capsys.readouterr().out.splitlines()
    assert lines[:5] == ["step 3/10  loss 1.5000  1,234 img/s  ETA 1h02m",
                         "step 4  held-out loss 0.2500  (1.1250 bits/byte)",
                         "step 4  sample: 'Once\\nupon'",
                         "step 4  checkpoint ck/step-4",
                         "[start] step 0/10  resuming at step 4"]
    assert lines[5].endswith("s] 12 images") and lines[5].startswith("[")
    assert len(lines) == 6


def test_learning_rate_shown_when_the_event_has_one(capsys):
    progress_printer("text")(TrainEvent("step", 1, 2, loss=2.0, lr=3e-4, tokens_per_s=10.0,
                                        eta_s=5))
    assert capsys.readouterr().out == "step 1/2  loss 2.0000  lr 3.00e-04  10 tok/s  ETA 0m05s\n"


def test_notes_and_times(capsys):
    note("json", "tokenizing")
    note("text", "tokenizing")
    out = capsys.readouterr().out.splitlines()
    assert json.loads(out[0]) == {"kind": "prepare", "message": "tokenizing"}
    assert out[1] == "tokenizing"
    assert (fmt_time(59), fmt_time(61), fmt_time(3600 * 2 + 60 * 5)) == ("0m59s", "1m01s",
                                                                         "2h05m")
