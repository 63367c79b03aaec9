"""Issue 20 items 2 and 12: a reverie.ini that parses but holds values no control can take is
set aside as reverie.ini.corrupt; a settings save that fails is reported, never silent."""

from __future__ import annotations

from desktop_app.ui.settings import Settings


def test_out_of_range_values_set_the_file_aside(tmp_path):
    ini = tmp_path / "reverie.ini"
    ini.write_text("[randomness]\nseed=4294967296\ntop_k=3000000000\n")
    s = Settings(ini)
    assert "randomness/seed" in s.warning and "corrupt" in s.warning
    assert (tmp_path / "reverie.ini.corrupt").exists()
    assert s.randomness() == {}


def test_values_in_range_are_kept(tmp_path):
    ini = tmp_path / "reverie.ini"
    ini.write_text("[randomness]\nseed=42\ntop_k=40\ntemperature=0.7\n")
    s = Settings(ini)
    assert not s.warning and s.randomness()["seed"] == 42


def test_a_failed_save_is_reported(tmp_path):
    folder = tmp_path / "cfg"
    folder.mkdir()
    s = Settings(folder / "reverie.ini")
    (folder / "reverie.ini").mkdir()  # the file cannot be written: as good as a full disk
    s.set_value("view/theme", "dark")
    assert s.sync() is False and "could not be saved" in s.warning


def test_a_settings_file_too_large_is_set_aside_unread(tmp_path, monkeypatch):
    from desktop_app.ui import settings as settings_module
    monkeypatch.setattr(settings_module, "_MAX_SETTINGS_BYTES", 1000)
    ini = tmp_path / "reverie.ini"
    ini.write_text("[randomness]\nseed=42\n" + "; padding\n" * 200)
    s = Settings(ini)
    assert "larger than" in s.warning and (tmp_path / "reverie.ini.corrupt").exists()
