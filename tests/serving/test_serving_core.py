"""ServerSpec, URL validation, the plain-http warning, API keys and the settings mapping."""

from __future__ import annotations

import sys
import types

import pytest

from desktop_app.core import serving
from desktop_app.core.errors import UsageError
from desktop_app.core.sampling import PRESETS, SamplerSettings
from desktop_app.core.serving import (ServerSpec, is_local, map_settings, plain_http_warning,
                                      read_api_key, unsupported_settings, validate_url)


@pytest.mark.parametrize("text, url", [
    ("127.0.0.1:8080", "http://127.0.0.1:8080"),
    ("http://gpu-box:8000/v1/", "http://gpu-box:8000"),
    ("https://lab.example.org/llama/", "https://lab.example.org/llama"),
    ("http://[::1]:11434", "http://[::1]:11434"),
])
def test_urls_are_normalised(text, url):
    assert validate_url(text) == url


@pytest.mark.parametrize("text, words", [
    ("", "empty"), ("ftp://host", "http:// or https://"), ("http://", "names no host"),
    ("http://user:pw@host", "credentials"), ("http://host/?a=1", "query"),
    ("http://host:99999", "not valid"), ("http://ho st", "spaces"), ("http://h\nost", "spaces"),
])
def test_bad_urls_are_one_clear_line(text, words):
    with pytest.raises(UsageError, match=words):
        validate_url(text)


def test_local_hosts_and_the_plain_http_warning_once(monkeypatch):
    monkeypatch.setattr(serving, "_WARNED", set())
    assert is_local("http://127.0.0.5:1") and is_local("http://localhost") and is_local(
        "http://[::1]")
    assert not is_local("http://192.168.1.20:8080") and not is_local("http://gpu-box")
    assert plain_http_warning("http://127.0.0.1:8080") is None
    assert plain_http_warning("https://gpu-box") is None
    first = plain_http_warning("http://gpu-box:8000")
    assert first and "unencrypted" in first and "SSH tunnel" in first
    assert plain_http_warning("http://gpu-box:8000") is None  # once


def test_the_key_comes_from_the_named_variable_and_is_not_in_the_spec(monkeypatch):
    monkeypatch.setenv("MY_KEY", "sk-secret")
    spec = ServerSpec("http://gpu-box:8000", api_key_env="MY_KEY")
    assert read_api_key(spec) == "sk-secret"
    assert "sk-secret" not in repr(spec) and "sk-secret" not in str(spec.to_json())
    monkeypatch.delenv("MY_KEY")
    with pytest.raises(UsageError, match="MY_KEY.*not set"):
        read_api_key(spec)
    with pytest.raises(UsageError, match="environment variable"):
        ServerSpec("http://h", api_key_env="not a name")


def test_the_key_comes_from_the_keyring_when_no_variable_is_named(monkeypatch):
    asked = []
    fake = types.SimpleNamespace(get_password=lambda service, user: asked.append(
        (service, user)) or "from-keyring")
    monkeypatch.setitem(sys.modules, "keyring", fake)
    assert read_api_key(ServerSpec("http://gpu-box:8000")) == "from-keyring"
    assert asked == [("reverie", "http://gpu-box:8000")]
    fake.get_password = lambda *a: (_ for _ in ()).throw(RuntimeError("no backend"))
    assert read_api_key(ServerSpec("http://gpu-box:8000")) is None


def test_each_api_gets_its_own_names():
    s = SamplerSettings(repeat_penalty=1.2, seed=9)
    assert map_settings(s, "openai").params["repetition_penalty"] == 1.2
    assert map_settings(s, "ollama").params["repeat_penalty"] == 1.2
    llama = map_settings(s, "llama.cpp").params
    assert llama["repeat_penalty"] == 1.2 and llama["seed"] == 9
    assert llama["samplers"] == ["penalties", "dry", "top_k", "typ_p", "top_p", "min_p", "xtc",
                                 "temperature"]


def test_active_settings_a_server_lacks_are_listed_not_dropped():
    wild = PRESETS["Wild"].replace(typical_p=0.9, seed=1)
    for api in ("openai", "ollama"):
        mapped = map_settings(wild, api)
        names = {n for n, _v, _r in mapped.unsupported}
        assert {"dry_multiplier", "xtc_probability"} <= names
        assert "dry" not in str(mapped.params) and "xtc" not in str(mapped.params)
        assert mapped.report()["unsupported"][0]["reason"]
    assert "typical_p" in {n for n, _v, _r in map_settings(wild, "openai").unsupported}
    assert map_settings(wild, "llama.cpp").unsupported == ()
    # neutral values lose nothing, so nothing is reported
    assert map_settings(SamplerSettings(), "openai").unsupported == ()
    assert "dry_multiplier" in unsupported_settings("ollama")
    assert unsupported_settings("llama.cpp") == {}


def test_seeds_above_32_bits_are_refused_and_windows_of_minus_one_become_the_context():
    with pytest.raises(UsageError, match="32-bit"):
        map_settings(SamplerSettings(seed=2**40), "llama.cpp")
    mapped = map_settings(SamplerSettings(repeat_last_n=-1, dry_penalty_last_n=-1),
                          "llama.cpp", context=4096)
    assert mapped.params["repeat_last_n"] == 4096 and mapped.params["dry_penalty_last_n"] == 4096


def test_cancel_callbacks_run_once_and_can_be_removed():
    from desktop_app.core.jobs import CancelToken

    token, calls = CancelToken(), []
    token.on_cancel(lambda: calls.append("a"))
    remove = token.on_cancel(lambda: calls.append("b"))
    remove()
    remove()
    token.cancel()
    token.cancel()
    assert calls == ["a"]
    token.on_cancel(lambda: calls.append("late"))  # already cancelled: at once
    assert calls == ["a", "late"]
