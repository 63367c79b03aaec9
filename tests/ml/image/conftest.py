"""Fixtures for the image tests (helpers live in image_helpers.py, shared with tests/commands)."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))
from image_helpers import make_tiny_model_dir  # noqa: E402


@pytest.fixture
def tiny_model_dir(tmp_path):
    return make_tiny_model_dir(tmp_path / "tiny")


@pytest.fixture(autouse=True)
def _one_torch_thread(one_torch_thread):
    """Every image test runs torch on one thread (tests/conftest.py)."""
