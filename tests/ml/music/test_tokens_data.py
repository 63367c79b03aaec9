"""Token scheme and corpus data: round trips, bar splitting, the fixed held-out split."""

from fractions import Fraction as F

import pytest

from desktop_app.ml.music import data as D
from desktop_app.ml.music import tokens as T


def test_vocab_layout():
    assert T.VOCAB_SIZE == 120 and T.COPY_BASE == 104   # copies appended: old ids unchanged
    assert T.token_pitch(T.pitch_token(-24)) == -24 and T.token_pitch(T.pitch_token(35)) == 35
    assert all(T.token_dur(T.dur_token(d)) == d for d in T.DURATIONS)
    with pytest.raises(ValueError):
        T.pitch_token(36)


def test_encode_splits_notes_across_bar_lines_and_drops_unfinished_bar():
    ev = [(0, F(3)), (2, F(2)), (4, F(3)), (None, F(1, 2))]       # 4/4: 3 + [1|1] + 3 + rest
    toks = T.encode_events(ev, "4/4", "major")
    assert toks[:4] == [T.BOS, T.meter_token("4/4"), T.mode_token("major"), T.BAR]
    assert toks.count(T.BAR) == 2 and toks[-1] == T.EOS
    meter, mode, back = T.decode_events(toks)
    assert (meter, mode) == ("4/4", "major")
    assert back == [(0, F(3)), (2, F(1)), (2, F(1)), (4, F(3))]     # last 1/2 rest dropped
    assert T.split_duration(F(9, 4)) == [F(2), F(1, 4)]


def _bars(*bodies):
    out = [T.BOS, T.meter_token("2/4"), T.mode_token("major")]
    for b in bodies:
        out += [T.BAR, *b]
    return out


A = [T.pitch_token(0), T.dur_token(F(2))]
B = [T.pitch_token(2), T.dur_token(F(1)), T.pitch_token(4), T.dur_token(F(1))]


def test_repeated_bars_become_copies_of_the_nearest_equal_bar():
    plain = _bars(A, B, A, A, B)
    packed = T.compress_repeats(plain)
    assert packed == _bars(A, B, [T.copy_token(2)], [T.copy_token(1)], [T.copy_token(3)])
    assert T.expand_repeats(packed) == plain
    assert T.compress_repeats(packed) == packed                    # idempotent
    # 17 bars back is out of reach: written out again
    far = _bars(A, *[[T.pitch_token(i), T.dur_token(F(2))] for i in range(1, 17)], A)
    assert T.copy_token(1) not in T.compress_repeats(far)
    assert T.expand_repeats(T.compress_repeats(far)) == far


def test_encoded_tunes_use_copies_and_decode_to_the_same_notes():
    ev = [(0, F(2)), (2, F(1)), (4, F(1)), (0, F(2)), (0, F(2))]
    toks = T.encode_events(ev, "2/4", "major")
    assert toks == _bars(A, B, [T.copy_token(2)], [T.copy_token(1)]) + [T.EOS]
    assert T.decode_events(toks)[2] == ev
    with pytest.raises(ValueError):
        T.copy_token(17)
    assert T.token_name(T.copy_token(4)) == "copy-4"


def test_a_copy_reaching_before_the_first_bar_is_dropped():
    assert T.expand_repeats(_bars(A, [T.copy_token(5)])) == _bars(A, [])


def test_holdout_is_fixed_and_about_five_percent():
    tunes = [{"collection": "c", "file": f"f{i // 50}", "index": i % 50} for i in range(4000)]
    held = [t for t in tunes if D.is_holdout(t)]
    assert 0.04 < len(held) / len(tunes) < 0.06
    assert held == [t for t in tunes if D.is_holdout(dict(t))]
    assert "essenFolksong" not in D.PUBLIC_DOMAIN


def test_tune_tokens_from_a_corpus_style_row():
    tune = {"collection": "x", "file": "y", "index": 0, "meter": "6/8", "key": "B- major",
            "est_key": None, "pickup_ql": 0.5,
            "notes": [[70, 0.5, 0.0]] + [[70 + (i % 3) * 2, 0.5, 0.5 + 0.5 * i] for i in range(12)]}
    toks = D.tune_tokens(tune)
    assert toks is not None and toks.count(T.BAR) == 2
    mel = D.tune_melody(tune)
    assert mel.key.name == "Bb major" and str(mel.meter) == "6/8" and mel.n_bars == 2
    assert mel.notes[0].pitch == 70 and mel.notes[0].start == 0.0   # pickup dropped


def test_public_domain_corpus_tokenises():
    path = D.music_data_dir() / "melodies_miscFolk.jsonl.gz"
    if not path.is_file():
        pytest.skip(f"shared melody data not found at {path}")
    tunes = D.load_tunes(("miscFolk",))
    ok = [D.tune_tokens(t) for t in tunes]
    assert sum(s is not None for s in ok) / len(tunes) > 0.97
