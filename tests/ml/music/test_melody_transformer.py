"""The melody transformer's musical-time rotary attention, bar embedding and cache."""

from __future__ import annotations

from fractions import Fraction

import pytest
import torch

from desktop_app.ml.music import tokens as T
from desktop_app.ml.music.melody_transformer import MelodyTransformer, MelodyTransformerConfig


def _model(**kw) -> MelodyTransformer:
    torch.manual_seed(0)
    cfg = MelodyTransformerConfig(vocab_size=T.VOCAB_SIZE, block_size=64, n_layer=2, n_head=2,
                                  n_embd=32, dropout=0.0, **kw)
    return MelodyTransformer(cfg).eval()


def _bar(*notes) -> list[int]:
    out = [T.BAR]
    for rel, dur in notes:
        out += [T.pitch_token(rel), T.dur_token(Fraction(dur))]
    return out


PREFIX = [T.BOS, T.meter_token("2/4"), T.mode_token("major")]
TUNE = PREFIX + _bar((0, "1/2"), (2, "1/2"), (4, 1)) + _bar((7, "3/2"), (5, "1/2")) \
    + [T.BAR, T.copy_token(2)] + _bar((4, 1), (2, 1))


@pytest.mark.parametrize("kw", [{}, {"time_rope": False, "phrase_bars": 0}])
def test_incremental_decoding_matches_a_full_forward(kw):
    m = _model(**kw)
    with torch.no_grad():
        full = m(torch.tensor([TUNE]))
        logits, cache = m.forward_cached(torch.tensor([TUNE[:5]]), None)
        steps = [logits]
        for t in TUNE[5:]:
            logits, cache = m.forward_cached(torch.tensor([[t]]), cache)
            steps.append(logits)
    assert torch.allclose(full, torch.cat(steps, 1), atol=1e-5)
    assert float(cache.end_time) == 8.0                  # four bars of 2/4, a copy among them
    assert int(cache.bars) == 3                          # bars numbered from 0


def test_onsets_not_token_counts_drive_the_rotary_angles():
    """Two bars with the same onsets but split into different notes leave the rotary angles of
    the following bar the same: its tokens sit at the same musical time."""
    m = _model(phrase_bars=0)
    a = PREFIX + _bar((0, 1), (0, 1)) + _bar((4, 2))
    b = PREFIX + _bar((0, 2)) + _bar((4, 2))
    with torch.no_grad():
        ca = m.forward_cached(torch.tensor([a]), None)[1]
        cb = m.forward_cached(torch.tensor([b]), None)[1]
    assert float(ca.end_time) == float(cb.end_time) == 4.0


def test_bar_offset_changes_only_models_with_a_bar_embedding():
    x = torch.tensor([TUNE])
    with torch.no_grad():
        m = _model()
        assert not torch.allclose(m(x), m(x, torch.tensor([3])))
        plain = _model(phrase_bars=0)
        assert torch.allclose(plain(x), plain(x, torch.tensor([3])))


def test_folders_written_before_these_features_load_without_them():
    old = {"architecture": "melody-transformer", "vocab_size": T.VOCAB_SIZE, "block_size": 64,
           "n_layer": 2, "n_head": 2, "n_embd": 32, "dropout": 0.0}
    cfg = MelodyTransformerConfig.from_dict(old)
    assert cfg.time_rope is False and cfg.phrase_bars == 0
    assert "bar.weight" not in MelodyTransformer(cfg).state_for_saving()
    new = MelodyTransformerConfig.from_dict(MelodyTransformerConfig().to_dict())
    assert new.time_rope is True and new.phrase_bars == 16
