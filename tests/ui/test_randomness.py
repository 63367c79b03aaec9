"""The shared Randomness controls: presets, seed range, and the seed/lock contract."""

from __future__ import annotations

import random
import pytest

from desktop_app.backends.fake import StreamJob
from desktop_app.core.events import TokenChunk
from desktop_app.core.sampling import PRESETS, SamplerSettings
from desktop_app.ui.room_base import RoomPanel
from desktop_app.ui.widgets.randomness import PRESET_NAMES, SEED_MAX, RandomnessControls


@pytest.fixture
def controls(qtbot):
    widget = RandomnessControls(rng=random.Random(7))
    qtbot.addWidget(widget)
    return widget


def test_seed_range_is_zero_to_int31(controls):
    assert controls.seedSpin.minimum() == 0 and controls.seedSpin.maximum() == SEED_MAX
    assert SEED_MAX == 2_147_483_647
    controls.seedSpin.setValue(SEED_MAX)
    assert controls.seed_for_next_generation() == SEED_MAX


@pytest.mark.parametrize("name", PRESET_NAMES)
def test_presets_set_every_value(controls, name):
    controls.apply_preset("Wild" if name != "Wild" else "Precise")
    controls.apply_preset(name)
    expected = PRESETS[name]
    got = controls.settings()
    assert isinstance(got, SamplerSettings)
    for field in ("temperature", "top_k", "top_p", "min_p", "repeat_penalty", "dry_multiplier",
                  "xtc_probability"):
        assert getattr(got, field) == pytest.approx(getattr(expected, field)), field
    assert controls.temperatureSpin.value() == pytest.approx(expected.temperature)
    assert controls.topKSpin.value() == expected.top_k


def test_preset_buttons_have_one_line_tooltips_and_names(controls):
    for name, button in controls.preset_buttons.items():
        tip = button.toolTip()
        assert tip and "\n" not in tip and len(tip) < 160, name
        assert button.accessibleName()


def test_settings_carry_the_seed_in_the_box(controls):
    controls.seedSpin.setValue(123)
    controls.temperatureSpin.setValue(1.5)
    s = controls.settings()
    assert s.seed == 123 and s.temperature == pytest.approx(1.5)


def test_unlocked_seed_rolls_after_each_generation(controls):
    controls.seedSpin.setValue(1000)
    seed = controls.seed_for_next_generation()
    controls.generation_finished(seed)
    assert controls.lastSeedLabel.text() == "last seed: 1000"
    assert controls.last_seed() == 1000
    assert controls.seed_for_next_generation() != 1000


def test_locked_seed_stays_after_generation(controls):
    controls.set_locked(True)
    controls.seedSpin.setValue(31337)
    for _ in range(3):
        controls.generation_finished(controls.seed_for_next_generation())
    assert controls.seed_for_next_generation() == 31337
    assert controls.lastSeedLabel.text() == "last seed: 31337"


def test_dice_puts_a_new_seed_in_the_box(controls):
    controls.seedSpin.setValue(5)
    controls.diceButton.click()
    assert controls.seed_for_next_generation() != 5
    assert 0 <= controls.seed_for_next_generation() <= SEED_MAX


def test_to_dict_round_trip_clamps_out_of_range(controls, qtbot):
    controls.load_dict({"seed": 99, "temperature": 9.0, "top_k": -4, "lock": True})
    d = controls.to_dict()
    assert d["seed"] == 99 and d["lock"] is True
    assert d["temperature"] == controls.temperatureSpin.maximum()
    assert d["top_k"] == 0


class StreamRoom(RoomPanel):
    """A finished room for tests: streams fake tokens with the seed it was given."""

    room_id = "test"
    title = "Test"
    available = True
    generates = True

    def __init__(self, engine, randomness):
        super().__init__(engine, randomness)
        self.make_generate_buttons()
        self.seeds = []
        self.text = ""
        self.stop_after_first_chunk = False

    def build_job(self, sampler, seed):
        assert sampler.seed == seed
        self.seeds.append(seed)
        return StreamJob(n_tokens=4, text_per_token="ab")

    def on_job_event(self, event):
        if isinstance(event, TokenChunk):
            self.text += event.text
            if self.stop_after_first_chunk:
                self.stop()


def test_room_generation_uses_the_box_seed_then_rolls_it(engine, controls, qtbot):
    room = StreamRoom(engine, controls)
    qtbot.addWidget(room)
    controls.seedSpin.setValue(777)
    room.generate()
    assert room.seeds == [777] and room.text == "ab" * 4
    assert controls.lastSeedLabel.text() == "last seed: 777"
    assert controls.seed_for_next_generation() != 777
    assert room.generateButton.isEnabled() and not room.stopButton.isEnabled()


def test_room_generation_with_lock_reuses_the_seed(engine, controls, qtbot):
    room = StreamRoom(engine, controls)
    qtbot.addWidget(room)
    controls.set_locked(True)
    controls.seedSpin.setValue(55)
    room.generate()
    room.generate()
    assert room.seeds == [55, 55]


def test_stop_cancels_and_keeps_the_seed(engine, controls, qtbot):
    room = StreamRoom(engine, controls)
    qtbot.addWidget(room)
    room.stop_after_first_chunk = True
    controls.seedSpin.setValue(9)
    room.generate()
    assert room.text == "ab"  # cancelled after the first token
    assert not room.is_running()
    assert controls.seed_for_next_generation() == 9  # nothing finished: same seed next time
