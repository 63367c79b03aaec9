"""Tiny seeded music models (random weights) written as real model folders."""

import pytest

from desktop_app.ml.music.tiny import tiny_lm_dir, tiny_vae_dir


@pytest.fixture(scope="session")
def tiny_lm(tmp_path_factory):
    return tiny_lm_dir(tmp_path_factory.mktemp("lm"))


@pytest.fixture(scope="session")
def tiny_vae(tmp_path_factory):
    return tiny_vae_dir(tmp_path_factory.mktemp("vae"))
