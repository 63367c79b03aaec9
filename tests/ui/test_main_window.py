"""The main window through its public surface: names, rooms, shortcuts, persistence, closing."""

from __future__ import annotations

from collections import Counter

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QApplication, QMessageBox, QWidget

from desktop_app.core import paths
from desktop_app.ui.settings import Settings, settings_path

ROOMS = ["write", "imagine", "compose", "explore", "train"]
GENERATING = ["write", "imagine", "compose"]
SHARED_NAMES = ["MainWindow", "randomnessControls", "seedSpin", "temperatureSpin", "topKSpin",
                "topPSpin", "minPSpin", *[f"{r}Panel" for r in ROOMS]]


def _names(root: QWidget) -> Counter:
    return Counter(w.objectName() for w in [root, *root.findChildren(QWidget)] if w.objectName())


def test_required_object_names_exist_once(window):
    names = _names(window)
    for name in SHARED_NAMES:
        assert names[name] == 1, f"{name} appears {names[name]} times"


def test_generating_rooms_have_their_own_buttons(window):
    for room in ROOMS:
        panel = window.findChild(QWidget, f"{room}Panel")
        names = _names(panel)
        expected = 1 if room in GENERATING else 0
        assert names["generateButton"] == expected and names["stopButton"] == expected, room


def test_named_controls_have_accessible_names(window):
    for name in SHARED_NAMES[1:]:
        widget = window.findChild(QWidget, name)
        assert widget.accessibleName(), name
    for room in GENERATING:
        panel = window.panel(room)
        assert panel.generateButton.accessibleName() and panel.stopButton.accessibleName()


def test_side_bar_switches_rooms_and_all_panels_exist_from_start(window):
    assert window.room_bar.count() == 5
    assert [window.room_bar.item(i).text() for i in range(5)] == [r.title() for r in ROOMS]
    assert all(not window.room_bar.item(i).icon().isNull() for i in range(5))
    assert window.stack.count() == 5
    for i, room in enumerate(ROOMS):
        window.room_bar.setCurrentRow(i)
        assert window.current_panel().objectName() == f"{room}Panel"
    window.show_room("explore")
    assert window.randomness.isHidden()  # Explore does not use randomness
    window.show_room("write")
    assert not window.randomness.isHidden()


def test_placeholder_rooms_say_what_is_coming_and_never_generate(window, qtbot):
    events = []
    window.engine.event.connect(events.append)
    for room in GENERATING:
        panel = window.panel(room)
        if panel.available:  # a finished room (Compose) is tested in its own tests
            continue
        assert not panel.generateButton.isEnabled()
        assert "later release" in panel.generateButton.toolTip()
        with qtbot.waitSignal(panel.notice) as blocker:
            assert panel.generate() is None
        assert "later release" in blocker.args[0]
    assert events == [] and not window.engine.is_busy()


def _activate(window, qtbot):
    window.show()
    window.activateWindow()
    qtbot.waitExposed(window)
    qtbot.waitUntil(lambda: QApplication.activeWindow() is window, timeout=5000)


@pytest.mark.parametrize("room", ROOMS)
def test_ctrl_enter_generates_and_esc_stops_in_the_current_room(window, qtbot, room, monkeypatch):
    _activate(window, qtbot)
    window.show_room(room)
    calls = []
    panel = window.current_panel()
    monkeypatch.setattr(panel, "generate", lambda: calls.append(("generate", room)))
    monkeypatch.setattr(panel, "stop", lambda: calls.append(("stop", room)))
    qtbot.keyClick(window.room_bar, Qt.Key.Key_Return, Qt.KeyboardModifier.ControlModifier)
    qtbot.keyClick(window.room_bar, Qt.Key.Key_Escape)
    assert calls == [("generate", room), ("stop", room)]


def test_ctrl_number_goes_to_a_room(window, qtbot):
    _activate(window, qtbot)
    qtbot.keyClick(window.room_bar, Qt.Key.Key_3, Qt.KeyboardModifier.ControlModifier)
    assert window.current_panel().room_id == "compose"


def test_settings_persist_across_two_windows(make_window, qtbot):
    first = make_window()
    first.show()
    first.resize(760, 560)  # the offscreen screen is 800x600; restoreGeometry clamps to it
    size = (first.width(), first.height())
    first.show_room("compose")
    first.set_theme("dark")
    first.randomness.apply_preset("Wild")
    first.randomness.seedSpin.setValue(4242)
    first.randomness.set_locked(True)
    first.randomness.topKSpin.setValue(17)
    first.close()

    second = make_window()
    assert second.current_panel().room_id == "compose"
    assert second.settings.theme() == "dark"
    assert second.menu_actions.themes["dark"].isChecked()
    values = second.randomness.to_dict()
    assert values["seed"] == 4242 and values["lock"] is True and values["top_k"] == 17
    assert values["temperature"] == pytest.approx(first.randomness.temperatureSpin.value())
    assert values["preset"] == "Wild"
    assert (second.width(), second.height()) == size


def test_corrupt_settings_file_falls_back_to_defaults_with_a_warning(make_window):
    path = settings_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"\x00\xff\xfe[window\nroom=compose\n\x01garbage")
    window = make_window()
    assert window.current_panel().room_id == "write"
    assert window.settings.theme() == "system"
    warning = window.settings.warning
    assert "settings file" in warning and "defaults" in warning and "\n" not in warning
    assert window.statusBar().currentMessage() == warning
    assert path.with_name("reverie.ini.corrupt").exists()


def test_bad_values_in_a_valid_settings_file_fall_back_per_key(make_window):
    path = settings_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("[window]\nroom=attic\n[view]\ntheme=purple\n[randomness]\nseed=banana\n"
                    "top_k=12\n", encoding="utf-8")
    settings = Settings()
    assert not settings.warning
    assert settings.room() == "write" and settings.theme() == "system"
    assert settings.randomness() == {"top_k": 12}


def test_missing_models_folder_shows_a_message_in_each_room(make_window, monkeypatch, tmp_path):
    missing = tmp_path / "no-models-here"
    monkeypatch.setattr(paths, "builtin_models_dir", lambda: missing)
    window = make_window()
    for room in ("write", "imagine", "compose", "explore"):
        message = window.panel(room).model_message()
        assert "No " in message and "model was found" in message, room
        assert str(missing) in message
    assert window.panel("train").model_message() == ""


def test_theme_actions_apply_and_persist(window):
    window.menu_actions.themes["dark"].trigger()
    assert QApplication.instance().property("reverieTheme") == "dark"
    assert window.settings.theme() == "dark"
    window.menu_actions.themes["light"].trigger()
    assert QApplication.instance().property("reverieTheme") == "light"


def test_menus_have_the_usual_actions_and_shortcuts(window):
    a = window.menu_actions
    for action in a.all_actions():
        assert action.objectName().startswith("action") and action.text()
    for action in (a.new, a.open, a.save, a.save_as, a.quit, a.undo, a.redo, a.cut, a.copy,
                   a.paste, a.full_screen):
        assert not action.shortcut().isEmpty(), action.objectName()
    titles = [m.title().replace("&", "") for m in window.menuBar().findChildren(type(a.recent_menu))
              if m.parent() is window.menuBar()]
    assert titles[:4] == ["File", "Edit", "View", "Help"]


def test_close_shuts_the_engine_down(window):
    window.show()
    assert window.close()
    with pytest.raises(RuntimeError):
        window.engine.warm_up()


def test_close_asks_about_unsaved_changes(window, monkeypatch):
    window.show()
    panel = window.panel("write")
    monkeypatch.setattr(panel, "has_unsaved_changes", lambda: True)
    answers = [QMessageBox.StandardButton.Cancel, QMessageBox.StandardButton.Discard]
    asked = []

    def question(*args, **kwargs):
        asked.append(args[2])
        return answers.pop(0)

    monkeypatch.setattr(QMessageBox, "question", question)
    assert not window.close()  # Cancel keeps the window and the engine
    assert window.isVisible() and "Write" in asked[0]
    window.engine.submit  # still usable
    assert window.close()  # Discard closes
    assert not window.isVisible()


def test_close_without_asking_autosaves_and_skips_the_dialog(window, monkeypatch, qtbot):
    """SIGTERM / logout path: no dialog (nobody is there to answer it), the autosave stays."""
    window.show()
    panel = window.panel("write")
    panel.editor.textCursor().insertText("unsaved words")
    assert panel.has_unsaved_changes()

    def question(*_args, **_kwargs):
        raise AssertionError("asked although nobody is at the screen")

    monkeypatch.setattr(QMessageBox, "question", question)
    window.close_without_asking("test")
    qtbot.waitUntil(lambda: not window.isVisible(), timeout=5000)
    assert panel.autosave.kept_for_next_start
    panel.autosave._on_quit()  # what aboutToQuit runs: the autosave must survive it
    state = panel.autosave.store.pending()
    assert state is not None and "unsaved words" in state["session"]["text"]


def test_close_without_asking_dismisses_an_open_dialog(window, qtbot):
    """SIGTERM arriving while the person's "save changes?" dialog is open still quits."""
    from PySide6.QtCore import QTimer

    window.show()
    window.panel("write").editor.textCursor().insertText("more words")
    QTimer.singleShot(50, lambda: window.close_without_asking("test"))
    window.close()  # opens the real dialog; the signal arrives while it waits
    qtbot.waitUntil(lambda: not window.isVisible(), timeout=5000)


def test_closing_mid_job_with_the_real_engine_stops_the_worker(make_window, qtbot):
    from desktop_app.backends.fake import BusyJob
    from desktop_app.core.events import Cancelled, Started
    from desktop_app.engine.engine import InferenceEngine

    window = make_window(InferenceEngine())
    window.show()
    events = []
    window.engine.event.connect(events.append)
    job_id = window.engine.submit(BusyJob(seconds=60.0))
    qtbot.waitUntil(lambda: any(isinstance(e, Started) for e in events), timeout=20_000)
    assert window.close()
    assert any(isinstance(e, Cancelled) and e.job_id == job_id for e in events)
    assert not window.engine.is_busy()
    # tests/conftest.py fails this test if the worker QThread were still running


def test_recent_files_menu_lists_saved_paths(window):
    window.settings.add_recent_file("/tmp/a.reverie")
    window.settings.add_recent_file("/tmp/b.reverie")
    window._fill_recent_menu()
    texts = [a.text() for a in window.menu_actions.recent_menu.actions() if a.text()]
    assert texts[:2] == ["/tmp/b.reverie", "/tmp/a.reverie"]
    window.settings.clear_recent_files()
    window._fill_recent_menu()
    assert window.menu_actions.recent_menu.actions()[0].text() == "No recent files"


def test_edit_actions_go_to_the_focused_text_field(window, qtbot):
    _activate(window, qtbot)
    spin_edit = window.randomness.seedSpin.findChild(QWidget, "qt_spinbox_lineedit")
    spin_edit.setFocus()
    qtbot.waitUntil(spin_edit.hasFocus, timeout=5000)
    spin_edit.selectAll()
    window.menu_actions.copy.trigger()
    assert QApplication.clipboard().text() == str(window.randomness.seedSpin.value())


def test_unwritable_settings_folder_still_starts(make_window, tmp_path, monkeypatch):
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("a file where the config folder should be")
    monkeypatch.setenv("XDG_CONFIG_HOME", str(blocker))
    window = make_window()
    assert "cannot be created" in window.settings.warning
    assert window.current_panel().room_id == "write"
