"""The soft mode prior (issue 20, item 17): targets, the bias solver, sampling, validation."""

import json

import numpy as np
import pytest

from desktop_app.core.errors import ModelLoadError
from desktop_app.core.melody import MODES, Key
from desktop_app.ml.music import mode_prior as MP
from desktop_app.ml.music import tokens as T
from desktop_app.ml.music.generate import MelodyRequest, generate_melody, mode_bias, sample_tokens
from desktop_app.ml.music.loader import load_melody_model
from desktop_app.ml.music.tiny import tiny_lm_dir


def _tune(mode: str, pitches: list[int]) -> dict:
    return {"key": f"C {mode}", "meter": "4/4", "notes": [[p, 1.0, float(i)] for i, p in
                                                         enumerate(pitches)]}


def test_targets_shrink_rare_modes_toward_the_pooled_rate():
    rates = {"major": {"tunes": 1, "notes": 10_000, "tonic_ending": 1.0, "out_of_mode": 0.01},
             "lydian": {"tunes": 1, "notes": 10, "tonic_ending": 1.0, "out_of_mode": 0.5}}
    t = MP.target_rates(rates)
    assert set(t) == set(MODES)
    assert abs(t["major"] - 0.01) < 0.001           # plenty of notes: its own rate
    assert 0.01 < t["lydian"] < 0.05                # 10 notes: close to the pooled rate
    assert abs(t["locrian"] - t["phrygian"]) < 1e-9  # no tunes at all: the pooled rate


def test_mode_rates_count_notes_outside_the_tunes_mode():
    tune = _tune("major", [60, 62, 61, 60])          # C# is outside C major
    r = MP.mode_rates([tune])["major"]
    assert r["notes"] == 4 and r["out_of_mode"] == 0.25 and r["tonic_ending"] == 1.0


def test_solve_bias_hits_the_target_and_never_goes_negative():
    d = np.log(np.full(500, 0.2 / 0.8))               # 20 % out of mode at every step
    b = MP.solve_bias(d, 0.02)
    rate = float(np.mean(1 / (1 + np.exp(b - d))))
    assert abs(rate - 0.02) < 1e-3 and b > 0
    assert MP.solve_bias(d, 0.5) == 0.0               # already below: no push toward chromatics
    assert MP.solve_bias(np.array([-np.inf, -np.inf]), 0.01) == 0.0


def test_the_bias_lowers_out_of_mode_notes_and_the_mask_removes_them(tmp_path):
    model = load_melody_model(tiny_lm_dir(tmp_path))  # random weights: many chromatic notes
    outside = MP.out_of_mode_tokens("lydian")

    def share(bias: float) -> float:
        n = o = 0
        for seed in range(6):
            toks = sample_tokens(model, meter="4/4", mode="lydian", bars=4, seed=seed,
                                 mode_bias=bias)
            notes = [t for t in toks if T.is_pitch(t) and t != T.REST]
            n, o = n + len(notes), o + sum(bool(outside[t]) for t in notes)
        return o / n

    free, biased = share(0.0), share(4.0)
    assert free > 0.2 and biased < free / 3
    model.mode_prior = {"lydian": 4.0}
    req = MelodyRequest(key=Key(5, "lydian"), bars=4)
    assert mode_bias(model, req) == 4.0
    assert mode_bias(model, MelodyRequest(key=Key(5, "lydian"), mode_prior=False)) == 0.0
    masked = MelodyRequest(key=Key(5, "lydian"), bars=4, hard_mask=True)
    assert mode_bias(model, masked) == 0.0
    mel, _, _ = generate_melody(model, masked, seed=3)
    assert all(masked.key.contains(n.pitch) for n in mel.notes)


def test_calibration_writes_a_prior_the_loader_reads(tmp_path):
    folder = tiny_lm_dir(tmp_path)
    tunes = [_tune("major", [60, 62, 64, 65, 67, 66, 60])] * 3
    bias = MP.calibrate_folder(folder, tunes, tunes_per_mode=1)
    assert set(bias) == set(MODES) and all(0 <= b <= MP.MAX_BIAS for b in bias.values())
    assert load_melody_model(folder).mode_prior == pytest.approx(bias)


@pytest.mark.parametrize("bad", [{"lydian": "x"}, {"lydian": -1}, {"lydian": 1e9},
                                 {"nomode": 1.0}, [1, 2], {"lydian": True}])
def test_a_damaged_prior_is_one_clear_error(tmp_path, bad):
    folder = tiny_lm_dir(tmp_path)
    cfg = json.loads((folder / "config.json").read_text())
    cfg["mode_prior"] = bad
    (folder / "config.json").write_text(json.dumps(cfg))
    with pytest.raises(ModelLoadError, match="mode_prior"):
        load_melody_model(folder)
