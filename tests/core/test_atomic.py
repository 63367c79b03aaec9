"""Atomic writes keep the previous file intact when writing fails."""

import errno
import os

import pytest

from desktop_app.core import atomic
from desktop_app.core.errors import ReverieError


def test_write_and_replace(tmp_path):
    target = tmp_path / "doc.txt"
    atomic.atomic_write_text(target, "first")
    atomic.atomic_write_text(target, "second ✨")
    assert target.read_text(encoding="utf-8") == "second ✨"
    assert [p.name for p in tmp_path.iterdir()] == ["doc.txt"]


def test_disk_full_keeps_previous_version(tmp_path, monkeypatch):
    target = tmp_path / "doc.txt"
    atomic.atomic_write_text(target, "precious")

    def full_disk(fd):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(atomic.os, "fsync", full_disk)
    with pytest.raises(ReverieError, match="disk is full"):
        atomic.atomic_write_text(target, "new text")
    assert target.read_text() == "precious"
    assert [p.name for p in tmp_path.iterdir()] == ["doc.txt"]


@pytest.mark.skipif(os.geteuid() == 0, reason="root ignores folder permissions")
def test_read_only_folder_message(tmp_path):
    folder = tmp_path / "ro"
    folder.mkdir()
    folder.chmod(0o500)
    try:
        with pytest.raises(ReverieError, match="read-only"):
            atomic.atomic_write_text(folder / "x.txt", "text")
    finally:
        folder.chmod(0o700)


def test_read_only_filesystem_message(tmp_path, monkeypatch):
    target = tmp_path / "doc.txt"
    atomic.atomic_write_text(target, "kept")

    def read_only(src, dst):
        raise OSError(errno.EROFS, "Read-only file system")

    monkeypatch.setattr(atomic.os, "replace", read_only)
    with pytest.raises(ReverieError, match="read-only"):
        atomic.atomic_write_text(target, "lost?")
    assert target.read_text() == "kept"
    assert [p.name for p in tmp_path.iterdir()] == ["doc.txt"]


def test_new_files_get_normal_permissions(tmp_path):
    old = os.umask(0o022)
    try:
        atomic.atomic_write_text(tmp_path / "shared.txt", "x")
    finally:
        os.umask(old)
    assert (tmp_path / "shared.txt").stat().st_mode & 0o777 == 0o644
