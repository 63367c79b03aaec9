"""Qt user interface: main window, room panels, shared widgets."""
