"""The Write room's model picker names what an adapter folder changes: its base and rank."""

from __future__ import annotations

import json

import torch

from desktop_app.core.model_registry import describe_model
from desktop_app.ml import checkpoints as ck
from desktop_app.ml.text import lora
from desktop_app.ui.write.model_picker import ModelPicker


def _adapter(folder, rank: int, base: str) -> None:
    folder.mkdir()
    (folder / lora.CONFIG_FILE).write_text(json.dumps(lora.adapter_config(rank, 2 * rank, base)),
                                           "utf-8")
    name = f"{lora.PEFT_PREFIX}model.layers.0.self_attn.q_proj"
    ck.save_tensors(folder / lora.WEIGHTS_FILE, {f"{name}.lora_A.weight": torch.zeros(rank, 8),
                                                 f"{name}.lora_B.weight": torch.zeros(8, rank)})


def test_an_adapter_folder_is_listed_with_its_base_and_rank(qtbot, tmp_path):
    folder, by_path = tmp_path / "my-voice", tmp_path / "on-a-file"
    _adapter(folder, 8, "smollm2-135m-instruct")
    _adapter(by_path, 4, "/models/SmolLM2-135M-Instruct.Q4_1.gguf")
    infos = [describe_model(folder, "text", "user"), describe_model(by_path, "text", "user")]
    assert infos[0].adapter == "LoRA rank 8 on smollm2-135m-instruct"
    assert infos[1].adapter == "LoRA rank 4 on SmolLM2-135M-Instruct.Q4_1"
    picker = ModelPicker()
    qtbot.addWidget(picker)
    picker.set_models(infos)
    labels = [picker.combo.itemText(i) for i in range(picker.combo.count())]
    assert "my-voice (user) — LoRA rank 8 on smollm2-135m-instruct" in labels
    assert any(t.startswith("on-a-file (user) — LoRA rank 4 on SmolLM2") for t in labels)


def test_a_loaded_adapter_says_what_it_did_to_the_held_out_text(qtbot, tmp_path):
    from desktop_app.core.textgen import TextModelInfo
    folder = tmp_path / "my-voice"
    _adapter(folder, 8, "smollm2-135m-instruct")
    (folder / "MODEL_CARD.md").write_text(
        "Licence: that of the base model\n\n- before fine-tuning (the base): 1.6056\n"
        "- after: 1.5152 (-5.6 %), the adapter in this folder (the best evaluation, step 6)\n",
        "utf-8")
    picker = ModelPicker()
    qtbot.addWidget(picker)
    info = TextModelInfo(name="my-voice", path=str(folder), arch="llama", parameters=135_000_000,
                         max_context=8192, precision="fp32", has_chat_template=True)
    picker.set_loaded(info)
    assert picker.details.toolTip() == ("Fine-tuned on your writing. On the text held out from "
                                        "training: 1.606 → 1.515 bits per byte (-5.6 %) "
                                        "(MODEL_CARD.md).")
    (folder / "MODEL_CARD.md").write_text("Licence: MIT\n", "utf-8")
    picker.set_loaded(info)
    assert picker.details.toolTip() == ""
