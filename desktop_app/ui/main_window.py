"""The main window: side bar of rooms, the room panels, shared Randomness controls, status bar.

Lives on the GUI thread. It owns no logic of its own beyond routing: menu actions and the
Ctrl+Enter / Esc shortcuts go to the current room panel (through the public room API of
:mod:`desktop_app.ui.room_base`); the one :class:`~desktop_app.ui.room_bus.RoomBus` carries
what rooms offer each other, routed here by what each room declares; engine state goes to the
status bar;
window geometry, last room, theme and randomness values persist through :class:`Settings`.
Closing asks about unsaved changes, then shuts the engine down (cancel, stop, join). A close
that no person is there to answer (SIGTERM/SIGINT, the session manager at logout) goes through
:meth:`MainWindow.close_without_asking`: every room autosaves, no dialog, the window closes.
"""

from __future__ import annotations

import logging

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QKeySequence, QShortcut
from PySide6.QtWidgets import (QApplication, QFileDialog, QHBoxLayout, QLineEdit, QMainWindow,
                               QMenu, QMessageBox, QStackedWidget, QWidget)

from desktop_app import APP_NAME
from desktop_app.core.model_registry import ModelScan, scan_models
from desktop_app.ui.explore.dock import ExploreDock
from desktop_app.ui.menus import build_menus
from desktop_app.ui.room_base import RoomPanel
from desktop_app.ui.room_bus import RoomBus
from desktop_app.ui.room_list import room_classes
from desktop_app.ui.settings import Settings
from desktop_app.ui.status import EngineStatusBar
from desktop_app.ui.theme import apply_theme
from desktop_app.ui.widgets.randomness import RandomnessControls
from desktop_app.ui.widgets.room_bar import RoomBar

log = logging.getLogger(__name__)


class MainWindow(QMainWindow):
    """The Reverie window. GUI thread only."""

    #: Emitted once, after the window's first paint (the app then starts the engine).
    first_painted = Signal()
    #: How long closing waits for the engine's worker. Jobs check their cancel token at every
    #: step and stop well within this; only an uninterruptible call (importing torch) outlasts
    #: it, and then ``app.main`` leaves without waiting (see ``app._leave``).
    shutdown_timeout_s = 0.5

    def __init__(self, engine, settings: Settings, parent: QWidget | None = None, *,
                 rooms: tuple[type[RoomPanel], ...] | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("MainWindow")
        self.setWindowTitle(APP_NAME)
        self.engine = engine
        self.settings = settings
        self._painted = False
        self._asking_allowed = True  # False once a signal or logout closes the window
        self.scan = ModelScan()

        self.randomness = RandomnessControls(self)
        self.bus = RoomBus(self)
        self.panels: list[RoomPanel] = [cls(engine, self.randomness)
                                        for cls in (rooms or room_classes())]
        for panel in self.panels:
            panel.join(self.bus)
            panel.preferences_changed(settings)
        self.bus.set_room_titles({kind: self.room_for_kind(kind).title
                                  for kind in ("image", "music", "text")
                                  if self.room_for_kind(kind) is not None})
        self.bus.open_in_room.connect(self._open_in_room)
        self.bus.models_installed.connect(self.refresh_models)
        self.stack = QStackedWidget(self)
        self.stack.setObjectName("roomStack")
        for panel in self.panels:
            self.stack.addWidget(panel)
            panel.notice.connect(self._on_panel_notice)
        self.room_bar = RoomBar(self.panels, self)
        self.randomness.setFixedWidth(272)

        central = QWidget(self)
        central.setObjectName("centralArea")
        layout = QHBoxLayout(central)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(0)
        layout.addWidget(self.room_bar)
        layout.addWidget(self.stack, 1)
        layout.addWidget(self.randomness)
        self.setCentralWidget(central)

        self.status = EngineStatusBar(engine, self)
        self.setStatusBar(self.status)
        self.menu_actions = build_menus(self)
        self._connect_menus()
        self._add_shortcuts()
        self.explore_dock = self._add_explore_dock()
        self.room_bar.currentRowChanged.connect(self._on_room_changed)
        QApplication.styleHints().colorSchemeChanged.connect(self._on_color_scheme_changed)
        self.refresh_models()
        self._restore_settings()
        if settings.warning:
            self.status.showMessage(settings.warning, 20000)

    # -- rooms -------------------------------------------------------------------------------

    def current_panel(self) -> RoomPanel:
        return self.stack.currentWidget()

    def panel(self, room_id: str) -> RoomPanel:
        return next(p for p in self.panels if p.room_id == room_id)

    def room_for_kind(self, kind: str) -> RoomPanel | None:
        """The room that generates medium ``kind`` (where the map opens its items)."""
        return next((p for p in self.panels if p.generates and p.model_kind == kind), None)

    def show_room(self, room_id: str) -> None:
        self.room_bar.setCurrentRow(self.room_bar.room_ids().index(room_id))

    def generate_current(self) -> None:
        self.current_panel().generate()

    def stop_current(self) -> None:
        self.current_panel().stop()

    def refresh_models(self) -> None:
        """Rescan the model folders and tell each room whether its models are missing."""
        self.scan = scan_models(user_dir=self.settings.user_models_dir(),
                                extra_dirs=self.settings.extra_model_dirs())
        for problem in self.scan.problems:
            log.warning("%s", problem)
        for panel in self.panels:
            panel.models_changed(self.scan)
        if self.stack.count():
            self._follow_in_dock(self.current_panel())

    def _on_room_changed(self, row: int) -> None:
        if row < 0:
            return
        self.stack.setCurrentIndex(row)
        panel = self.current_panel()
        self.randomness.setVisible(panel.uses_randomness)
        self.randomness.show_fields(panel.randomness_fields)
        for action in self.menu_actions.document_actions():
            action.setEnabled(panel.supports_documents())
        self.menu_actions.recent_menu.setEnabled(panel.supports_documents())
        self._follow_in_dock(panel)

    # -- links between rooms -----------------------------------------------------------------

    def _add_explore_dock(self) -> ExploreDock:
        """The explorer as a side dock (View → Explorer), hidden until asked for."""
        dock = ExploreDock(self.engine, self.bus, self)
        dock.setAllowedAreas(Qt.DockWidgetArea.LeftDockWidgetArea
                             | Qt.DockWidgetArea.RightDockWidgetArea)
        self.addDockWidget(Qt.DockWidgetArea.RightDockWidgetArea, dock)
        dock.hide()
        action = dock.toggleViewAction()
        action.setText("&Explorer (side map)")
        action.setObjectName("exploreDockAction")
        view_menu = self.menuBar().findChild(QMenu, "viewMenu")
        if view_menu is not None:
            view_menu.addAction(action)
        return dock

    def _follow_in_dock(self, panel: RoomPanel) -> None:
        """The side map shows the model of the room now shown (none beside the room's own)."""
        if panel.has_own_map:
            self.explore_dock.hide()
        elif panel.generates and panel.model_kind:
            self.explore_dock.follow(panel.model_kind, panel.model_in_use(), self.scan)

    def _open_in_room(self, kind: str, payload: dict) -> None:
        """The map asked to open an item: show the room of that medium and hand it over."""
        room = self.room_for_kind(kind)
        if room is None:
            return
        self.show_room(room.room_id)
        room.open_from_map(kind, payload)

    def _on_panel_notice(self, message: str) -> None:
        self.status.showMessage(message, 6000)

    # -- menus and shortcuts -----------------------------------------------------------------

    def _connect_menus(self) -> None:
        a = self.menu_actions
        a.new.triggered.connect(lambda: self.current_panel().new_document())
        a.open.triggered.connect(self._on_open_triggered)
        a.save.triggered.connect(lambda: self.current_panel().save())
        a.save_as.triggered.connect(lambda: self.current_panel().save_as())
        a.export.triggered.connect(lambda: self.current_panel().export())
        a.recent_menu.aboutToShow.connect(self._fill_recent_menu)
        a.preferences.triggered.connect(self.show_preferences)
        a.quit.triggered.connect(self.close)
        for action, slot in ((a.undo, "undo"), (a.redo, "redo"), (a.cut, "cut"),
                             (a.copy, "copy"), (a.paste, "paste")):
            action.triggered.connect(lambda _=False, s=slot: self._edit_focus(s))
        for key, action in a.themes.items():
            action.triggered.connect(lambda _=False, k=key: self.set_theme(k))
        a.full_screen.toggled.connect(self._on_full_screen_toggled)
        a.shortcuts.triggered.connect(self.show_shortcuts)
        a.about.triggered.connect(self.show_about)
        a.open_logs.triggered.connect(self._on_open_logs_triggered)

    def _add_shortcuts(self) -> None:
        for keys in ("Ctrl+Return", "Ctrl+Enter"):
            QShortcut(QKeySequence(keys), self, self.generate_current)
        QShortcut(QKeySequence(Qt.Key.Key_Escape), self, self.stop_current)
        for index, panel in enumerate(self.panels):
            QShortcut(QKeySequence(f"Ctrl+{index + 1}"), self,
                      lambda r=panel.room_id: self.show_room(r))

    def _edit_focus(self, slot: str) -> None:
        """Route Undo/Redo/Cut/Copy/Paste to the focused text widget, if it has that slot;
        Undo and Redo otherwise go to the current room's own history (piano roll, latents)."""
        widget = QApplication.focusWidget()
        if widget is not None and not hasattr(widget, slot):
            widget = widget.findChild(QLineEdit)  # spin and combo boxes edit through one
        if widget is not None and hasattr(widget, slot):
            getattr(widget, slot)()
        elif slot == "undo":
            self.current_panel().undo()
        elif slot == "redo":
            self.current_panel().redo()

    def _fill_recent_menu(self) -> None:
        menu = self.menu_actions.recent_menu
        menu.clear()
        files = self.settings.recent_files()
        for path in files:
            menu.addAction(path, lambda p=path: self.open_path(p))
        if not files:
            menu.addAction("No recent files").setEnabled(False)
        else:
            menu.addSeparator()
            menu.addAction("Clear Recent Files", self.settings.clear_recent_files)

    def _on_open_triggered(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Open")
        if path:
            self.open_path(path)

    def open_path(self, path: str) -> None:
        if self.current_panel().open_file(path):
            self.settings.add_recent_file(path)

    def set_theme(self, theme: str) -> None:
        apply_theme(QApplication.instance(), theme)
        self.menu_actions.themes[theme].setChecked(True)
        self.settings.set_theme(theme)

    def _on_color_scheme_changed(self, _scheme) -> None:
        if self.settings.theme() == "system":  # follow the desktop while "System" is chosen
            apply_theme(QApplication.instance(), "system")

    def _on_full_screen_toggled(self, on: bool) -> None:
        self.showFullScreen() if on else self.showNormal()

    def _on_open_logs_triggered(self) -> None:
        from desktop_app.ui.logging_setup import open_log_folder
        if not open_log_folder():
            from desktop_app.core.paths import logs_dir
            self.status.showMessage(f"Could not open a file manager; the logs are in {logs_dir()}",
                                    10000)

    def show_preferences(self) -> None:
        from desktop_app.ui.preferences import PreferencesDialog
        dialog = PreferencesDialog(self.settings, self)
        if dialog.exec():
            self.engine.set_num_threads(self.settings.inference_threads() or None)
            for panel in self.panels:
                panel.preferences_changed(self.settings)
            budget_mb = self.settings.memory_budget_mb()
            if budget_mb:  # 0 = automatic: the engine keeps the budget it chose
                self.engine.set_memory_budget(budget_mb * 1_000_000)
            self.refresh_models()
            self.status.showMessage("Preferences saved.", 6000)

    def show_shortcuts(self) -> None:
        from desktop_app.ui.shortcuts import ShortcutsDialog
        ShortcutsDialog(self.menu_actions, self).exec()

    def show_about(self) -> None:
        from desktop_app.ui.about import AboutDialog
        AboutDialog(self.scan, self).exec()

    # -- persistence and lifetime ------------------------------------------------------------

    def _restore_settings(self) -> None:
        geometry = self.settings.geometry()
        if geometry is None or not self.restoreGeometry(geometry):
            # First start: roomy enough for the Write room's editor, inspector and footer,
            # but never larger than most of the screen.
            width, height = 1360, 860
            screen = self.screen()
            if screen is not None:
                area = screen.availableGeometry()
                width = min(width, int(area.width() * 0.92))
                height = min(height, int(area.height() * 0.92))
            self.resize(width, height)
        self.randomness.load_dict(self.settings.randomness())
        self.menu_actions.themes[self.settings.theme()].setChecked(True)
        self.show_room(self.settings.room(self.room_bar.room_ids()))
        self._on_room_changed(self.room_bar.currentRow())

    def save_settings(self) -> None:
        self.settings.set_geometry(self.saveGeometry())
        self.settings.set_room(self.current_panel().room_id)
        self.settings.set_randomness(self.randomness.to_dict())
        self.settings.sync()

    def _confirm_close(self) -> bool:
        dirty = [p for p in self.panels if p.has_unsaved_changes()]
        if not dirty:
            return True
        names = ", ".join(p.title for p in dirty)
        answer = QMessageBox.question(
            self, "Unsaved changes", f"Save your changes in {names} before quitting?",
            QMessageBox.StandardButton.Save | QMessageBox.StandardButton.Discard
            | QMessageBox.StandardButton.Cancel, QMessageBox.StandardButton.Save)
        if answer == QMessageBox.StandardButton.Cancel:
            return False
        if answer == QMessageBox.StandardButton.Save:
            return all(p.save() for p in dirty)
        return True

    def autosave_all(self) -> None:
        """Flush every room's autosave now (the rooms that keep one); failures are logged."""
        for panel in self.panels:
            try:
                panel.flush_autosave()
            except Exception:  # noqa: BLE001 - one room's failure must not block the others
                log.exception("autosave of %s failed while closing", panel.title)

    def close_without_asking(self, why: str = "signal") -> None:
        """Close for SIGTERM/SIGINT or logout: autosave, no "save changes?" dialog.

        Nobody is at the screen to answer, so a dialog would hang the process forever; the
        autosave keeps the text and the next start offers to restore it. A dialog already open
        (the person had clicked close) is dismissed first, and the close runs once its event
        loop has returned.
        """
        from PySide6.QtCore import QTimer  # noqa: PLC0415

        log.info("closing without asking (%s); autosaving every room", why)
        self._asking_allowed = False
        for panel in self.panels:
            try:
                panel.keep_autosave_for_next_start()
            except Exception:  # noqa: BLE001 - one room's failure must not block the others
                log.exception("autosave of %s failed while closing", panel.title)
        modal = QApplication.activeModalWidget()
        while modal is not None and modal is not self:
            modal.close() if not hasattr(modal, "reject") else modal.reject()
            if QApplication.activeModalWidget() is modal:
                break
            modal = QApplication.activeModalWidget()
        QTimer.singleShot(0, self.close)

    def closeEvent(self, event) -> None:  # noqa: N802 - Qt API
        if self._asking_allowed and not self._confirm_close():
            event.ignore()
            return
        self.save_settings()
        self.hide()  # the window goes at once, even if a job needs a moment to notice the stop
        self.engine.shutdown(timeout_s=self.shutdown_timeout_s)
        event.accept()

    def paintEvent(self, event) -> None:  # noqa: N802 - Qt API
        super().paintEvent(event)
        if not self._painted:
            self._painted = True
            self.first_painted.emit()
