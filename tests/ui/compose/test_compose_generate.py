"""Generate / Continue / Interpolate through the real music backends with tiny seeded models."""

from __future__ import annotations

from compose_melodies import scale_melody


def _generate(panel, seed: int, variations: int = 3, bars: int = 4):
    panel.randomness.seedSpin.setValue(seed)
    panel.controls.variationsSpin.setValue(variations)
    panel.controls.barsSpin.setValue(bars)
    panel.generateButton.click()
    return panel.variationsList.melodies()


def test_generate_with_a_fixed_seed_gives_the_same_notes(panel):
    panel.controls.keyCombo.setCurrentText("D")
    panel.controls.meterCombo.setCurrentText("3/4")
    first = _generate(panel, 1234)
    assert len(first) == 3
    assert all(m.notes for m in first)
    assert first[0].key.name == "D major" and str(first[0].meter) == "3/4"
    assert 3 <= first[0].n_bars <= 4
    # Variations differ (seed, seed+1, ...), the first one is in the piano roll.
    assert len({m.notes for m in first}) == 3
    assert panel.pianoRoll.melody() == first[0]
    # The randomness box rolled a new seed; putting 1234 back reproduces every note.
    assert panel.randomness.last_seed() == 1234
    again = _generate(panel, 1234)
    assert [m.notes for m in again] == [m.notes for m in first]
    other = _generate(panel, 99)
    assert [m.notes for m in other] != [m.notes for m in first]
    captions = [panel.variationsList.itemWidget(panel.variationsList.item(i)).caption.text()
                for i in range(3)]
    assert captions[1].startswith("2 · seed 100")


def test_choosing_a_variation_and_undo_keep_the_edited_melody(panel):
    panel.pianoRoll.set_melody(scale_melody())
    mine = panel.pianoRoll.melody()
    found = _generate(panel, 5)
    assert panel.pianoRoll.melody() == found[0]
    panel.variationsList.chosen.emit(2)
    assert panel.pianoRoll.melody() == found[2]
    panel.pianoRoll.undo()
    panel.pianoRoll.undo()
    assert panel.pianoRoll.melody() == mine  # generating never loses what you were editing


def test_continue_extends_the_melody_in_the_roll(panel):
    primer = scale_melody("D major")
    panel.pianoRoll.set_melody(primer)
    panel.randomness.seedSpin.setValue(42)
    panel.controls.variationsSpin.setValue(2)
    panel.controls.barsSpin.setValue(2)
    panel.continueButton.click()
    results = panel.variationsList.melodies()
    assert len(results) == 2
    cont = panel.pianoRoll.melody()
    assert cont == results[0]
    assert [(n.start, n.pitch, n.duration) for n in cont.notes[: len(primer.notes)]] == \
        [(n.start, n.pitch, n.duration) for n in primer.notes]
    assert len(cont.notes) > len(primer.notes)
    assert cont.end > primer.end
    panel.pianoRoll.undo()
    assert panel.pianoRoll.melody() == primer


def test_continue_with_an_empty_roll_says_so(panel):
    panel.continueButton.click()
    assert "nothing to continue" in panel.message()
    assert panel.variationsList.count() == 0


def test_interpolate_a_to_b_lists_every_step(panel):
    a = scale_melody("C major")
    b = a.with_notes(tuple(n.__class__(start=n.start, pitch=n.pitch - 5, duration=n.duration)
                           for n in reversed(a.notes)))
    panel.interpolateButton.click()
    assert "Set melody A and melody B" in panel.message()
    panel.pianoRoll.set_melody(a)
    panel.setAButton.click()
    panel.pianoRoll.set_melody(b, "B")
    panel.setBButton.click()
    assert panel.bLabel.text() == "B: 2 bars, 8 notes"
    panel.controls.stepsSpin.setValue(4)
    panel.interpolateButton.click()
    steps = panel.variationsList.melodies()
    assert len(steps) == 4, panel.message()
    assert all(s.notes for s in steps)
    assert panel.pianoRoll.melody() == b  # the steps are offered, not forced on the roll


def test_generation_failure_is_a_message_and_the_melody_stays(make_panel, tmp_path):
    panel = make_panel(model_dir=str(tmp_path))  # an empty folder: no model there
    panel.pianoRoll.set_melody(scale_melody())
    before = panel.pianoRoll.melody()
    panel.generateButton.click()
    assert "unchanged" in panel.message()
    assert panel.pianoRoll.melody() == before
    assert panel.generateButton.isEnabled() and not panel.stopButton.isEnabled()


def test_without_a_model_generate_is_off_and_says_why(make_panel, monkeypatch):
    from desktop_app.ui.compose import panel as panel_module
    from desktop_app.core.model_registry import ModelScan
    monkeypatch.setattr(panel_module, "_find_model", lambda name: None)
    monkeypatch.setattr(panel_module.ComposePanel, "model_scan", lambda self: ModelScan())
    panel = make_panel(model_dir=None, vae_dir=None)
    assert not panel.generateButton.isEnabled()
    assert not panel.interpolateButton.isEnabled()
    assert "not installed" in panel.model_message()
    assert not panel.modelPicker.isEnabled()   # nothing to choose from


def test_only_notes_in_the_key_masks_the_model(panel):
    from desktop_app.core.melody_stats import in_key_ratio
    panel.controls.keyCombo.setCurrentText("Eb")
    panel.controls.modeCombo.setCurrentText("dorian")
    panel.controls.hardMaskCheck.setChecked(True)
    found = _generate(panel, 11, variations=2, bars=2)
    assert all(m.key.name == "Eb dorian" and in_key_ratio(m) == 1.0 for m in found)
