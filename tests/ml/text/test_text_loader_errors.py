"""The loader's refusals name the file or tensor at fault; sharded folders and defaults load."""

from __future__ import annotations

import json
import shutil

import pytest
import torch
from safetensors.torch import load_file, save_file

from desktop_app.core.errors import ModelLoadError
from desktop_app.ml.text.loader import load_text_model


@pytest.fixture
def gpt2_copy(model_folders, tmp_path):
    dest = tmp_path / "model"
    shutil.copytree(model_folders["gpt2"][0], dest)
    return dest


def test_pickle_only_folder_is_refused_with_reason_and_fix(gpt2_copy):
    (gpt2_copy / "model.safetensors").unlink()
    (gpt2_copy / "pytorch_model.bin").write_bytes(b"not really a pickle")
    with pytest.raises(ModelLoadError) as err:
        load_text_model(gpt2_copy)
    msg = str(err.value)
    assert "pytorch_model.bin" in msg and "arbitrary code" in msg
    assert "safe_serialization=True" in msg


def test_unknown_model_type_names_the_supported_ones(gpt2_copy):
    cfg = json.loads((gpt2_copy / "config.json").read_text())
    cfg["model_type"] = "bert"
    (gpt2_copy / "config.json").write_text(json.dumps(cfg))
    with pytest.raises(ModelLoadError, match="'bert'.*gpt2, llama, mistral, qwen2"):
        load_text_model(gpt2_copy)


def test_missing_config_and_folder(gpt2_copy, tmp_path):
    (gpt2_copy / "config.json").unlink()
    with pytest.raises(ModelLoadError, match="config.json"):
        load_text_model(gpt2_copy)
    with pytest.raises(ModelLoadError, match="does not exist"):
        load_text_model(tmp_path / "nowhere")


def test_truncated_weights_name_the_file(gpt2_copy):
    path = gpt2_copy / "model.safetensors"
    data = path.read_bytes()
    path.write_bytes(data[: len(data) - 1000])
    with pytest.raises(ModelLoadError, match="model.safetensors is truncated"):
        load_text_model(gpt2_copy)


def test_shape_mismatch_names_the_tensor(gpt2_copy):
    path = gpt2_copy / "model.safetensors"
    sd = load_file(str(path))
    sd["transformer.h.1.mlp.c_fc.weight"] = torch.zeros(3, 5)
    save_file(sd, str(path))
    with pytest.raises(ModelLoadError, match=r"transformer.h.1.mlp.c_fc.weight.*\[3, 5\]"):
        load_text_model(gpt2_copy)


def test_missing_tensor_is_named(gpt2_copy):
    path = gpt2_copy / "model.safetensors"
    sd = load_file(str(path))
    del sd["transformer.ln_f.bias"]
    save_file(sd, str(path))
    with pytest.raises(ModelLoadError, match="transformer.ln_f.bias"):
        load_text_model(gpt2_copy)


def test_not_enough_memory_is_refused_with_figures(gpt2_copy):
    with pytest.raises(ModelLoadError, match=r"needs about .* GiB .* only .* GiB is free"):
        load_text_model(gpt2_copy, available_bytes=1000)


def test_sharded_folder_loads(model_folders, tmp_path):
    src, hf = model_folders["llama"]
    dest = tmp_path / "sharded"
    shutil.copytree(src, dest)
    sd = load_file(str(dest / "model.safetensors"))
    (dest / "model.safetensors").unlink()
    names = sorted(sd)
    half = len(names) // 2
    shards = {"model-00001-of-00002.safetensors": names[:half],
              "model-00002-of-00002.safetensors": names[half:]}
    weight_map = {}
    for fname, keys in shards.items():
        save_file({k: sd[k] for k in keys}, str(dest / fname))
        weight_map.update({k: fname for k in keys})
    (dest / "model.safetensors.index.json").write_text(json.dumps({"weight_map": weight_map}))
    progress = []
    lm = load_text_model(dest, progress=lambda f, m: progress.append(f))
    ids = torch.tensor([[1, 2, 3, 4, 5]])
    with torch.no_grad():
        torch.testing.assert_close(lm.model(ids), hf(ids).logits, atol=1e-4, rtol=0)
    assert progress[0] == 0.0 and progress[-1] == 1.0
    assert len(lm.weight_files) == 2 and len(lm.sha256()) == 64
    (dest / "model-00002-of-00002.safetensors").unlink()
    with pytest.raises(ModelLoadError, match="model-00002-of-00002.safetensors"):
        load_text_model(dest)


def test_generation_config_becomes_defaults(gpt2_copy):
    (gpt2_copy / "generation_config.json").write_text(json.dumps(
        {"temperature": 0.6, "top_p": 0.9, "repetition_penalty": 1.1, "max_new_tokens": 50,
         "eos_token_id": [7, 8], "do_sample": True}))
    lm = load_text_model(gpt2_copy)
    assert lm.generation_defaults == {"temperature": 0.6, "top_p": 0.9, "repeat_penalty": 1.1,
                                      "max_tokens": 50}
    assert 7 in lm.eos_ids and 8 in lm.eos_ids


def test_garbage_weights_file_is_named(gpt2_copy):
    (gpt2_copy / "model.safetensors").write_bytes(b"\x10\x00\x00\x00\x00\x00\x00\x00{not json......")
    with pytest.raises(ModelLoadError, match="model.safetensors"):
        load_text_model(gpt2_copy)


def test_unknown_tensor_is_named(gpt2_copy):
    path = gpt2_copy / "model.safetensors"
    sd = load_file(str(path))
    sd["transformer.h.0.extra.weight"] = torch.zeros(2)
    save_file(sd, str(path))
    with pytest.raises(ModelLoadError, match="transformer.h.0.extra.weight"):
        load_text_model(gpt2_copy)
