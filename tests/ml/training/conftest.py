"""Fixtures for the training tests: a small synthetic English-like corpus and a tiny text task."""

from __future__ import annotations

from pathlib import Path

import pytest

from training_helpers import make_task, write_corpus


@pytest.fixture
def corpus_dir(tmp_path) -> Path:
    return write_corpus(tmp_path / "corpus")


@pytest.fixture
def tiny_task(corpus_dir):
    import torch
    torch.set_num_threads(1)
    return make_task(corpus_dir)
