"""Chat templates render in a sandbox, as the model's authors wrote them."""

from __future__ import annotations

import json
import shutil

import pytest

from desktop_app.core.errors import ReverieError
from desktop_app.ml.text.chat import render_chat
from desktop_app.ml.text.generate import prompt_ids
from desktop_app.ml.text.loader import load_text_model

CHATML = ("{% for message in messages %}{{ '<|im_start|>' + message['role'] + '\n' + "
          "message['content'] + '<|im_end|>' + '\n' }}{% endfor %}"
          "{% if add_generation_prompt %}{{ '<|im_start|>assistant\n' }}{% endif %}")


def test_chatml_render():
    text = render_chat(CHATML, "Tell me a story.", system="Be kind.")
    assert text == ("<|im_start|>system\nBe kind.<|im_end|>\n<|im_start|>user\nTell me a "
                    "story.<|im_end|>\n<|im_start|>assistant\n")


def test_bos_token_and_raise_exception():
    tpl = "{{ bos_token }}{% if messages[0]['role'] != 'user' %}{{ raise_exception('no') }}" \
          "{% endif %}[INST] {{ messages[0]['content'] }} [/INST]"
    assert render_chat(tpl, "hi", special_tokens={"bos_token": "<s>"}) == "<s>[INST] hi [/INST]"
    with pytest.raises(ReverieError, match="chat template failed: no"):
        render_chat(tpl, "hi", system="sys")


def test_sandbox_stops_escapes():
    with pytest.raises(ReverieError, match="unsafe"):
        render_chat("{{ ''.__class__.__mro__[1].__subclasses__() }}", "hi")


def test_chat_mode_with_and_without_template(model_folders, tmp_path):
    dest = tmp_path / "m"
    shutil.copytree(model_folders["qwen2"][0], dest)
    lm = load_text_model(dest)
    with pytest.raises(ReverieError, match="no chat template"):
        prompt_ids(lm, "hello", chat=True)
    cfg = json.loads((dest / "tokenizer_config.json").read_text())
    cfg["chat_template"] = CHATML
    (dest / "tokenizer_config.json").write_text(json.dumps(cfg))
    lm = load_text_model(dest)
    ids = prompt_ids(lm, "hello", chat=True)
    assert lm.tokenizer.decode(ids) == render_chat(CHATML, "hello")
