"""The layering rules of docs/ARCHITECTURE.md hold: core imports neither Qt nor torch, etc."""

import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_import_linter_contracts_hold():
    lint = shutil.which("lint-imports") or str(Path(sys.executable).parent / "lint-imports")
    result = subprocess.run([lint, "--config", str(ROOT / "pyproject.toml")], cwd=ROOT,
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "BROKEN" not in result.stdout
    for contract in ("rooms do not import each other", "no back arrows inside ui/"):
        assert contract in result.stdout, f"the contract {contract!r} is gone from pyproject.toml"


def test_core_imports_without_qt_or_torch():
    code = ("import sys, pkgutil, importlib, desktop_app.core as c\n"
            "for m in pkgutil.walk_packages(c.__path__, 'desktop_app.core.'):\n"
            "    importlib.import_module(m.name)\n"
            "bad = [m for m in ('torch', 'PySide6') if m in sys.modules]\n"
            "assert not bad, bad\n")
    subprocess.run([sys.executable, "-c", code], cwd=ROOT, check=True, timeout=60)
