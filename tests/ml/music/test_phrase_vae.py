"""Phrase VAE: grid encoding, shared training loop, loading, interpolation, variations."""

from fractions import Fraction as F

import pytest
import torch

from desktop_app.core.errors import DataError, ModelLoadError, UsageError
from desktop_app.core.melody import Key, Melody, Meter, Note
from desktop_app.ml.music import phrase_vae as V
from desktop_app.ml.music.loader import load_melody_model, load_phrase_vae
from desktop_app.ml.music.morph import interpolate, variations


def test_grid_round_trip_and_phrases():
    ev = [(0, F(1)), (None, F(1, 2)), (7, F(5, 2)), (4, F(4))]
    grid = V.events_to_grid(ev)
    assert len(grid) == 32 and V.grid_to_events(grid) == ev
    phrases = V.phrases_from_grid(grid + grid, 16, hop_bars=1)
    assert len(phrases) == 3 and all(len(p) == 48 for p in phrases)
    assert phrases[1][0] == 3 + 4 - V.PITCH_LOW
    tied = V.phrases_from_grid([10] + [V.HOLD] * 47, 16, hop_bars=1)
    assert [p[0] for p in tied] == [10, 10]                # a tied-in note is re-struck


def _mel(pitches, key="G major"):
    notes = [Note(start=i * 0.5, pitch=p, duration=0.5) for i, p in enumerate(pitches)]
    return Melody(notes=tuple(notes), key=Key.parse(key), meter=Meter(4, 4))


def test_interpolate_and_variations(tiny_vae):
    vae = load_phrase_vae(tiny_vae)
    a = _mel([67, 69, 71, 72, 74, 72, 71, 69] * 4)
    b = _mel([55, 59, 62, 67, 62, 59, 55, 54] * 4)
    out = interpolate(vae, a, b, 4)
    assert len(out) == 4 and all(m.key == a.key and m.end <= 16 for m in out)
    masked = interpolate(vae, a, b, 3, hard_mask=True)
    assert all(a.key.contains(n.pitch) for m in masked for n in m.notes)
    assert len(variations(vae, a, 3, seed=1)) == 3
    with pytest.raises(UsageError):
        interpolate(vae, a, b, 1)
    with pytest.raises(DataError, match="different bar lengths"):
        interpolate(vae, a, Melody(notes=b.notes, key=b.key, meter=Meter(3, 4)), 3)
    with pytest.raises(DataError, match="at least 2 bars"):
        interpolate(vae, a, _mel([60]), 3)


def test_training_through_the_shared_loop(tmp_path):
    from desktop_app.ml.music.train_tasks import PhraseVAETask
    from desktop_app.ml.training.loop import TrainConfig, train
    torch.manual_seed(0)
    grid = V.events_to_grid([(0, F(1)), (2, F(1)), (4, F(1)), (5, F(1))] * 2)
    data = torch.tensor(V.phrases_from_grid(grid, 16), dtype=torch.long).repeat(8, 1)
    cfg = V.PhraseVAEConfig(embed=8, enc_hidden=16, dec_hidden=16, latent=4)
    task = PhraseVAETask(cfg, data, data[:2], kl_warmup=10)
    res = train(task, TrainConfig(steps=30, batch_size=8, lr=1e-2, warmup_steps=2,
                                  eval_every=0, checkpoint_every=0, device="cpu"), tmp_path)
    assert res.losses[-1] < res.losses[0] * 0.6
    assert load_phrase_vae(tmp_path).cfg.latent == 4


def test_loader_refuses_the_wrong_folder(tiny_vae, tiny_lm, tmp_path):
    with pytest.raises(ModelLoadError, match="not a melody-transformer"):
        load_melody_model(tiny_vae)
    with pytest.raises(ModelLoadError, match="missing"):
        load_phrase_vae(tmp_path)
    (tmp_path / "config.json").write_text((tiny_lm / "config.json").read_text())
    (tmp_path / "model.safetensors").write_bytes(b"garbage")
    with pytest.raises(ModelLoadError):
        load_melody_model(tmp_path)
