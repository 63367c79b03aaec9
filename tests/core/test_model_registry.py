"""The model registry reads names, kinds, parameter counts and licences without torch."""

from __future__ import annotations

import json
import struct

import numpy as np
import pytest
from safetensors.numpy import save_file

from desktop_app.core.model_registry import (count_parameters, human_count, human_size,
                                             read_card, read_safetensors_header, scan_models)


def _model(root, kind, name, tensors, config=None, card=None):
    folder = root / kind / name
    folder.mkdir(parents=True)
    save_file(tensors, str(folder / "model.safetensors"))
    (folder / "config.json").write_text(json.dumps(config or {}))
    if card is not None:
        (folder / "MODEL_CARD.md").write_text(card)
    return folder


def test_parameter_count_comes_from_the_header(tmp_path):
    folder = _model(tmp_path, "text", "tiny", {"a": np.zeros((3, 5), np.float32),
                                                "b": np.zeros((7,), np.float16)})
    header = read_safetensors_header(folder / "model.safetensors")
    assert header["a"]["shape"] == [3, 5]
    assert count_parameters([folder / "model.safetensors"]) == 22


def test_scan_finds_models_of_each_kind_with_licences(tmp_path):
    builtin = tmp_path / "models"
    _model(builtin, "text", "story-gpt", {"w": np.zeros((10, 10), np.float32)},
           config={"license": "MIT"})
    _model(builtin, "image", "faces-vae", {"w": np.zeros((4,), np.float32)},
           card="---\nlicense: cc-by-4.0\nattribution: Fashion-MNIST, Zalando (MIT)\n---\n# VAE\n")
    _model(builtin, "music", "folk", {"w": np.zeros((2, 2), np.float32)},
           config={"architecture": "melody-transformer"},
           card="# Folk\n\n**Licence:** CC0-1.0\n\nData: The Session tunes\n")
    scan = scan_models(builtin_dir=builtin, user_dir=tmp_path / "user")
    by_name = {m.name: m for m in scan.models}
    assert set(by_name) == {"story-gpt", "faces-vae", "folk"}
    assert by_name["story-gpt"].kind == "text" and by_name["story-gpt"].parameters == 100
    assert by_name["story-gpt"].licence == "MIT"
    assert by_name["faces-vae"].licence == "cc-by-4.0"
    assert by_name["faces-vae"].attribution.startswith("Fashion-MNIST")
    assert by_name["folk"].licence == "CC0-1.0"
    assert by_name["folk"].attribution == "The Session tunes"
    # what the Compose room's picker tells melody models from the phrase VAE by
    assert by_name["folk"].architecture == "melody-transformer"
    assert by_name["story-gpt"].architecture == ""
    assert all(m.size_bytes > 0 and not m.problem and m.source == "built-in" for m in scan.models)
    assert scan.problems == ()
    assert scan.missing_message("text") == ""


def test_user_and_extra_folders_are_searched(tmp_path):
    _model(tmp_path / "user", "text", "mine", {"w": np.zeros((1,), np.float32)})
    _model(tmp_path / "extra", "music", "borrowed", {"w": np.zeros((1,), np.float32)})
    scan = scan_models(builtin_dir=tmp_path / "models", user_dir=tmp_path / "user",
                       extra_dirs=[tmp_path / "extra"])
    assert {(m.name, m.source) for m in scan.models} == {("mine", "user"), ("borrowed", "extra")}


def test_missing_models_folder_is_a_message_not_a_crash(tmp_path):
    scan = scan_models(builtin_dir=tmp_path / "gone", user_dir=tmp_path / "user")
    assert scan.models == ()
    assert any("missing" in p and str(tmp_path / "gone") in p for p in scan.problems)
    message = scan.missing_message("image")
    assert "No image model was found" in message and "Preferences" in message


def test_models_folder_that_is_a_file_is_reported(tmp_path):
    (tmp_path / "models").write_text("not a folder")
    scan = scan_models(builtin_dir=tmp_path / "models", user_dir=tmp_path / "user")
    assert any("cannot be read" in p for p in scan.problems)


def test_corrupt_weights_become_a_problem_on_the_model(tmp_path):
    folder = tmp_path / "models" / "text" / "broken"
    folder.mkdir(parents=True)
    (folder / "config.json").write_text("{}")
    (folder / "model.safetensors").write_bytes(struct.pack("<Q", 10**12) + b"{}")
    (tmp_path / "models" / "text" / "empty").mkdir()
    scan = scan_models(builtin_dir=tmp_path / "models", user_dir=tmp_path / "user")
    by_name = {m.name: m for m in scan.models}
    assert "cannot read the weights" in by_name["broken"].problem
    assert "no .safetensors" in by_name["empty"].problem
    assert by_name["broken"].parameters is None
    assert "No text model was found" in scan.missing_message("text")


def test_read_card_licence_line_variants(tmp_path):
    for line, expected in (("License: Apache-2.0", "Apache-2.0"), ("- **Licence**: MIT", "MIT"),
                           ("licence: CC-BY-SA-4.0", "CC-BY-SA-4.0")):
        (tmp_path / "MODEL_CARD.md").write_text(f"# M\n\n{line}\n")
        assert read_card(tmp_path)[0] == expected


def test_human_formats():
    assert human_count(None) == "-" and human_count(950) == "950"
    assert human_count(124_439_808) == "124.4M" and human_count(12_300) == "12.3K"
    assert human_size(512) == "512 B" and human_size(3_400_000) == "3.4 MB"


def test_a_hostile_adapter_folder_is_a_problem_line_not_a_crash_of_the_scan(tmp_path):
    """adapter_config.json nested 100,000 deep used to raise RecursionError out of the scan
    (the app's start-up); a 3 MB model card is read only as far as its first megabyte."""
    from desktop_app.core import model_registry
    from desktop_app.core.model_registry import describe_adapter, read_card
    deep = tmp_path / "deep"
    deep.mkdir()
    (deep / "adapter_config.json").write_text("[" * 100_000 + "]" * 100_000)
    (deep / "adapter_model.safetensors").write_bytes(b"")
    info = describe_adapter(deep, "text", "user")
    assert info.problem.startswith("cannot read the adapter") and "\n" not in info.problem
    listed = tmp_path / "list"
    listed.mkdir()
    (listed / "adapter_config.json").write_text("[1, 2]")
    assert "not a JSON object" in describe_adapter(listed, "text", "user").problem
    card = tmp_path / "card"
    card.mkdir()
    (card / "MODEL_CARD.md").write_text("Licence: MIT\n" + "x" * (3 << 20) + "\nAttribution: late\n")
    assert read_card(card) == ("MIT", "")              # the line past the first MB is not read
    assert model_registry._MAX_CARD_BYTES == 1 << 20


def test_map_backends_read_a_model_config_with_the_bounds(tmp_path):
    """The Explore room's map jobs read config.json again: a deep one is a DataError (one
    line in the room), not a RecursionError in the worker."""
    from desktop_app.backends.explore_music import _config
    from desktop_app.core.errors import DataError
    folder = tmp_path / "vae"
    folder.mkdir()
    (folder / "config.json").write_text("[" * 100_000 + "]" * 100_000)
    with pytest.raises(DataError, match="nests deeper"):
        _config(folder)


def test_a_fine_tunes_held_out_result_is_read_from_the_card_its_run_wrote(tmp_path):
    """The Write room shows what an adapter did to the writer's held-out text; the figures
    come from the card `reverie train text --lora` writes (the real writer of it, here)."""
    from desktop_app.core.model_registry import read_fine_tune_result
    from desktop_app.ml.training.lora_card import card_text
    from desktop_app.ml.training.loop import TrainEvent
    events = [TrainEvent("eval", 0, 30, val_loss=3.5, bits_per_byte=1.6056),
              TrainEvent("eval", 12, 30, val_loss=3.3, bits_per_byte=1.5152),
              TrainEvent("eval", 30, 30, val_loss=3.4, bits_per_byte=1.5300),
              TrainEvent("done", 30, 30, elapsed_s=60.0)]
    card = card_text(events, base_ref="smollm2-135m-instruct", data=["mine.txt"],
                     command=["reverie", "train", "text"], bf16=True, rank=32, alpha=64,
                     context=512, train_bytes=4000, heldout_bytes=500)
    (tmp_path / "MODEL_CARD.md").write_text(card, encoding="utf-8")
    assert read_fine_tune_result(tmp_path) == "1.606 → 1.515 bits per byte (-5.6 %)"
    from desktop_app.core.model_registry import read_card, read_card_text
    once = read_card_text(tmp_path)   # the Write room reads the card once for both
    assert read_fine_tune_result(tmp_path, once) == "1.606 → 1.515 bits per byte (-5.6 %)"
    assert read_card(tmp_path, once) == read_card(tmp_path)
    (tmp_path / "MODEL_CARD.md").write_text("# A model\n\nLicence: MIT\n", encoding="utf-8")
    assert read_fine_tune_result(tmp_path) == ""
    assert read_fine_tune_result(tmp_path / "missing") == ""
