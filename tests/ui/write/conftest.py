"""Write room fixtures: the panel on a SyncEngine with fake text backends, and a tiny real
Llama model folder (random seeded weights, byte-level BPE tokenizer, chat template)."""

from __future__ import annotations

from pathlib import Path

import pytest

from desktop_app.engine.sync_engine import SyncEngine
from desktop_app.ui.widgets.randomness import RandomnessControls
from desktop_app.ui.write.panel import WritePanel
from write_fakes import FakeText

SENTENCES = [
    "Once upon a time there was a little fox who lived in a wood.",
    "The fox liked to sing songs to the moon, and the moon sang back.",
    "One day the fox met a rabbit. \"Hello,\" said the rabbit. \"Who are you?\"",
    "They walked together to the river and told each other stories until night.",
    "Café, naïve, jalapeño: déjà vu in the snow. 🦊 ✨ 東京 مرحبا",
]
EOS = "<|endoftext|>"
CHAT_TEMPLATE = ("{% for m in messages %}<|{{ m['role'] }}|>{{ m['content'] }}{% endfor %}"
                 "{% if add_generation_prompt %}<|assistant|>{% endif %}")


@pytest.fixture
def fake_text():
    return FakeText()


@pytest.fixture
def write_panel(qtbot, fake_text):
    """A WritePanel on a SyncEngine with the fake text backends and a 'loaded' model."""
    engine = SyncEngine(handler_for=fake_text.handler_for)
    randomness = RandomnessControls()
    panel = WritePanel(engine, randomness, model_dir="/models/fake-model", autoload=False)
    qtbot.addWidget(panel)
    qtbot.addWidget(randomness)
    panel.resize(1200, 720)
    yield panel
    engine.shutdown()


@pytest.fixture(scope="session")
def tiny_model_dir(tmp_path_factory) -> Path:
    """A tiny random Llama in Hugging Face layout (saved by transformers, safetensors)."""
    import transformers
    from tokenizers import Tokenizer

    from desktop_app.ml.text.tiny import train_bpe_tokenizer
    from tiny_hf_text import random_hf_model, save_hf_folder

    folder = train_bpe_tokenizer(tmp_path_factory.mktemp("tiny-llama"), SENTENCES, 300)
    tok = Tokenizer.from_file(str(folder / "tokenizer.json"))
    eos = tok.token_to_id(EOS)
    cfg = transformers.LlamaConfig(vocab_size=tok.get_vocab_size(), hidden_size=32,
                                   intermediate_size=64, num_hidden_layers=2,
                                   num_attention_heads=4, num_key_value_heads=2,
                                   max_position_embeddings=256, bos_token_id=eos,
                                   eos_token_id=eos, tie_word_embeddings=True)
    save_hf_folder(folder, random_hf_model(cfg), folder, chat_template=CHAT_TEMPLATE)
    (folder / "MODEL_CARD.md").write_text("# tiny test model\n\nLicence: MIT\n")
    return folder
