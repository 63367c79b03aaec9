"""UI test fixtures: a main window on the synchronous engine, in isolated settings."""

from __future__ import annotations

import pytest

from desktop_app.engine.sync_engine import SyncEngine
from desktop_app.ui.main_window import MainWindow
from desktop_app.ui.settings import Settings


@pytest.fixture(scope="session", autouse=True)
def _app_theme(qapp):
    """Every UI test sees the widgets as the app shows them: Fusion and Reverie's style sheet
    (app.py applies them before the first window). Without it the sizes a layout test measured
    depended on whether an earlier test had switched the theme, and the Imagine room's fit on
    a laptop screen was checked without the sheet's padding (it overflowed in the app)."""
    from desktop_app.ui.theme import apply_theme
    apply_theme(qapp, "light")


@pytest.fixture
def engine(qtbot):
    eng = SyncEngine()
    yield eng
    eng.shutdown()


@pytest.fixture
def make_window(qtbot):
    """Build MainWindows on SyncEngines; each is closed (engine shut down) after the test."""
    made = []

    def make(engine=None):
        window = MainWindow(engine or SyncEngine(), Settings())
        qtbot.addWidget(window)
        made.append(window)
        return window

    yield make
    for window in made:
        if window.isVisible():
            window.close()
        window.engine.shutdown()


@pytest.fixture
def window(make_window):
    return make_window()
