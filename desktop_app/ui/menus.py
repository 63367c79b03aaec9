"""The menu bar: File, Edit, View, Help with the platform's standard shortcuts (GUI thread).

:func:`build_menus` creates the actions and returns them in a :class:`MenuActions`; the main
window connects them. Every action has an ``objectName`` (``action<Name>``) for automation.
"""

from __future__ import annotations

from dataclasses import dataclass

from PySide6.QtGui import QAction, QActionGroup, QKeySequence
from PySide6.QtWidgets import QMainWindow, QMenu

Std = QKeySequence.StandardKey

#: Used when the platform defines no key for a standard action (e.g. Quit, Save As on some).
_FALLBACK_KEYS = {Std.New: "Ctrl+N", Std.Open: "Ctrl+O", Std.Save: "Ctrl+S",
                  Std.SaveAs: "Ctrl+Shift+S", Std.Quit: "Ctrl+Q", Std.Undo: "Ctrl+Z",
                  Std.Redo: "Ctrl+Shift+Z", Std.Cut: "Ctrl+X", Std.Copy: "Ctrl+C",
                  Std.Paste: "Ctrl+V", Std.FullScreen: "F11"}

#: Shortcuts that are not menu actions, for the Keyboard shortcuts dialog.
EXTRA_SHORTCUTS = (
    ("Ctrl+Return", "Generate in the current room"),
    ("Esc", "Stop the current room's generation"),
    ("Ctrl+1 … Ctrl+5", "Go to Write, Imagine, Compose, Explore, Train"),
    ("Ctrl+R", "Write: regenerate the last generation"),
    ("Ctrl+F", "Write: find"),
    ("Ctrl+H", "Write: find and replace"),
    ("Ctrl+Z / Ctrl+Shift+Z", "Imagine and Compose: undo / redo the last change"),
)


@dataclass
class MenuActions:
    new: QAction
    open: QAction
    save: QAction
    save_as: QAction
    export: QAction
    recent_menu: QMenu
    preferences: QAction
    quit: QAction
    undo: QAction
    redo: QAction
    cut: QAction
    copy: QAction
    paste: QAction
    themes: dict[str, QAction]
    full_screen: QAction
    shortcuts: QAction
    about: QAction
    open_logs: QAction

    def document_actions(self) -> list[QAction]:
        return [self.new, self.open, self.save, self.save_as, self.export]

    def all_actions(self) -> list[QAction]:
        return [*self.document_actions(), self.preferences, self.quit, self.undo, self.redo,
                self.cut, self.copy, self.paste, *self.themes.values(), self.full_screen,
                self.shortcuts, self.about, self.open_logs]


def _action(window: QMainWindow, menu: QMenu, text: str, name: str, shortcut=None,
            tip: str = "") -> QAction:
    action = QAction(text, window)
    action.setObjectName(f"action{name}")
    if isinstance(shortcut, Std):
        keys = QKeySequence.keyBindings(shortcut)
        action.setShortcuts(keys or [QKeySequence(_FALLBACK_KEYS[shortcut])])
    elif shortcut is not None:
        action.setShortcut(shortcut)
    if tip:
        action.setStatusTip(tip)
        action.setToolTip(tip)
    menu.addAction(action)
    return action


def build_menus(window: QMainWindow) -> MenuActions:
    bar = window.menuBar()
    file_menu = bar.addMenu("&File")
    file_menu.setObjectName("fileMenu")
    new = _action(window, file_menu, "&New", "New", Std.New, "Start a new document in this room")
    open_ = _action(window, file_menu, "&Open…", "Open", Std.Open, "Open a document")
    recent = file_menu.addMenu("Open &Recent")
    recent.setObjectName("recentFilesMenu")
    file_menu.addSeparator()
    save = _action(window, file_menu, "&Save", "Save", Std.Save, "Save the document")
    save_as = _action(window, file_menu, "Save &As…", "SaveAs", Std.SaveAs,
                      "Save the document under a new name")
    export = _action(window, file_menu, "&Export…", "Export", QKeySequence("Ctrl+E"),
                     "Export the result (text, GIF, MIDI)")
    file_menu.addSeparator()
    preferences = _action(window, file_menu, "&Preferences…", "Preferences",
                          QKeySequence("Ctrl+,"), "Threads, memory, model folders")
    file_menu.addSeparator()
    quit_ = _action(window, file_menu, "&Quit", "Quit", Std.Quit, "Quit Reverie")

    edit = bar.addMenu("&Edit")
    edit.setObjectName("editMenu")
    undo = _action(window, edit, "&Undo", "Undo", Std.Undo)
    redo = _action(window, edit, "&Redo", "Redo", Std.Redo)
    edit.addSeparator()
    cut = _action(window, edit, "Cu&t", "Cut", Std.Cut)
    copy = _action(window, edit, "&Copy", "Copy", Std.Copy)
    paste = _action(window, edit, "&Paste", "Paste", Std.Paste)

    view = bar.addMenu("&View")
    view.setObjectName("viewMenu")
    theme_menu = view.addMenu("&Theme")
    group = QActionGroup(window)
    themes = {}
    for key, text in (("light", "&Light"), ("dark", "&Dark"), ("system", "&System")):
        action = _action(window, theme_menu, text, f"Theme{key.title()}",
                         tip=f"Use the {key} colour theme")
        action.setCheckable(True)
        group.addAction(action)
        themes[key] = action
    full_screen = _action(window, view, "&Full Screen", "FullScreen", Std.FullScreen)
    full_screen.setCheckable(True)

    help_menu = bar.addMenu("&Help")
    help_menu.setObjectName("helpMenu")
    shortcuts = _action(window, help_menu, "&Keyboard Shortcuts", "KeyboardShortcuts",
                        QKeySequence("Ctrl+/"))
    open_logs = _action(window, help_menu, "Open &Log Folder", "OpenLogFolder",
                        tip="Show the folder holding Reverie's log files")
    help_menu.addSeparator()
    about = _action(window, help_menu, "&About Reverie", "About")

    return MenuActions(new=new, open=open_, save=save, save_as=save_as, export=export,
                       recent_menu=recent, preferences=preferences, quit=quit_, undo=undo,
                       redo=redo, cut=cut, copy=copy, paste=paste, themes=themes,
                       full_screen=full_screen, shortcuts=shortcuts, about=about,
                       open_logs=open_logs)
