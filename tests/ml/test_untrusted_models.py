"""Issue 20 items 4, 7, 10 and 11 in-process: untrusted model configs, headers, index files and
chat templates are bounded and typed; a full disk while checkpointing leaves no temp folder."""

from __future__ import annotations

import json

import pytest
import torch

from desktop_app.core.errors import DataError, ModelLoadError, ReverieError
from desktop_app.ml import checkpoints as ck
from desktop_app.ml.text.chat import render_chat
from desktop_app.ml.text.llama import LlamaConfig
from desktop_app.ml.text.loader import build_model, find_weight_files

BASE = {"model_type": "llama", "vocab_size": 64, "hidden_size": 32, "intermediate_size": 64,
        "num_hidden_layers": 2, "num_attention_heads": 4}


@pytest.mark.parametrize("patch", [
    {"hidden_size": "256"}, {"hidden_size": -8}, {"num_attention_heads": 0},
    {"num_hidden_layers": 10**9}, {"max_position_embeddings": 0}, {"vocab_size": True},
    {"rope_scaling": {"rope_type": "linear", "factor": "x"}}, {"rope_scaling": 5},
    {"rms_norm_eps": "small"}])
def test_bad_llama_configs_are_one_clear_error(patch):
    with pytest.raises(ModelLoadError):
        build_model({**BASE, **patch})


def test_a_good_config_still_builds():
    arch, model = build_model(BASE)
    assert arch == "llama" and LlamaConfig.from_hf(BASE).head_dim == 8


def test_bad_gpt2_config():
    with pytest.raises(ModelLoadError):
        build_model({"model_type": "gpt2", "n_embd": 30, "n_head": 0})


@pytest.mark.parametrize("weight_map", [{"a": 5}, {"a": "../outside.safetensors"},
                                        {"a": "/etc/passwd"}])
def test_weight_map_entries_are_typed_and_stay_in_the_folder(tmp_path, weight_map):
    folder = tmp_path / "m"
    folder.mkdir()
    (tmp_path / "outside.safetensors").write_bytes(b"x")
    (folder / "model.safetensors.index.json").write_text(json.dumps({"weight_map": weight_map}))
    with pytest.raises(ModelLoadError):
        find_weight_files(folder)


def test_header_fields_are_typed(tmp_path):
    header = json.dumps({"w": {"dtype": 5, "shape": [1], "data_offsets": [0, 4]}}).encode()
    path = tmp_path / "w.safetensors"
    path.write_bytes(len(header).to_bytes(8, "little") + header + b"\0" * 4)
    with pytest.raises(ModelLoadError, match="dtype"):
        ck.read_header(path)
    (tmp_path / "config.json").write_text("[" * 50_000 + "]" * 50_000)
    with pytest.raises(ModelLoadError, match="deeper"):
        ck.load_json(tmp_path / "config.json")


def test_image_and_music_configs_are_bounded():
    from desktop_app.ml.image.vae import VAEConfig
    from desktop_app.ml.music.phrase_vae import PhraseVAEConfig
    with pytest.raises(ModelLoadError, match="latent_dim"):
        ck.config_from_dict(VAEConfig, {"latent_dim": "64"}, "config.json")
    with pytest.raises(ModelLoadError):
        ck.config_from_dict(PhraseVAEConfig, {"latent": 10**9}, "config.json")
    with pytest.raises(ModelLoadError):
        ck.config_from_dict(PhraseVAEConfig, [], "config.json")
    assert ck.config_from_dict(PhraseVAEConfig, {"latent": 16}, "c").latent == 16


@pytest.mark.parametrize("template", [
    "{{ 'a' * 100000000 }}",
    "{% for i in range(100000) %}{% for j in range(100000) %}x{% endfor %}{% endfor %}",
    "{% set ns = namespace(s='ab') %}{% for i in range(40) %}{% set ns.s = ns.s ~ ns.s %}"
    "{% endfor %}{{ ns.s }}",
    "{{ 'a'|center(1000000000) }}", "{{ '%1000000000s'|format('a') }}",
    "{{ '{:1000000000}'.format('a') }}", "{{ 9 ** 99999999 }}"])
def test_chat_templates_cannot_fill_the_memory(template):
    with pytest.raises(ReverieError, match="limit|exceed"):
        render_chat(template, "hi")


def test_an_ordinary_chat_template_still_renders():
    tpl = ("{% for m in messages %}<|{{ m.role }}|>{{ m.content | trim }}{% endfor %}"
           "{% for i in range(2) %}.{% endfor %}{% if add_generation_prompt %}<|a|>{% endif %}")
    assert render_chat(tpl, " hi ") == "<|user|>hi..<|a|>"


def test_a_full_disk_while_checkpointing_is_one_error_and_leaves_no_temp_folder(
        tmp_path, monkeypatch):
    from safetensors import SafetensorError

    from desktop_app.ml.training import state
    model = torch.nn.Linear(2, 2)
    opt = torch.optim.AdamW(model.parameters())
    first = state.save_checkpoint(tmp_path, model, opt, 1)

    def full(*args, **kwargs):
        raise SafetensorError("Error while serializing: IoError(Os { code: 28, kind: "
                              "StorageFull, message: \"No space left on device\" })")
    monkeypatch.setattr(ck, "save_file", full)
    with pytest.raises(ReverieError, match="No space left|intact"):
        state.save_checkpoint(tmp_path, model, opt, 2)
    root = first.parent
    assert not list(root.glob(".tmp-*")) and state.latest_dir(tmp_path) == first


def test_png_amounts_are_checked_before_the_room_applies_them():
    import numpy as np

    from desktop_app.ui.imagine.png_meta import LatentMeta, meta_from_text, meta_to_text
    text = meta_to_text(LatentMeta(model="m", fingerprint="f", base=np.zeros(4, np.float32),
                                   amounts={"smile": 1.0}))
    assert meta_from_text(text).amounts == {"smile": 1.0}
    with pytest.raises(ValueError, match="amount"):
        meta_from_text(text.replace('"smile": 1.0', '"smile": 1e308'))
    with pytest.raises(ValueError):
        meta_from_text("[" * 100_000 + "]" * 100_000)


def test_untrusted_errors_are_data_errors():
    assert issubclass(DataError, ReverieError)
