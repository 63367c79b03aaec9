"""One error colour for every room and dialog (ui/widgets/error_label.py)."""

from __future__ import annotations

from PySide6.QtWidgets import QWidget

from desktop_app.ui.widgets.error_label import ERROR_COLOUR, error_html, error_label, mark_error


def test_error_label_is_hidden_wrapped_named_and_red(qtbot):
    parent = QWidget()
    qtbot.addWidget(parent)
    label = error_label(parent, "someError")
    assert label.parent() is parent and label.objectName() == "someError"
    assert label.wordWrap() and label.isHidden() and label.text() == ""
    assert label.styleSheet() == f"color: {ERROR_COLOUR};"
    mark_error(label, False)          # the same label showing ordinary text
    assert label.styleSheet() == ""


def test_error_html_keeps_markup_in_a_message_as_text():
    html = error_html("a <b> & c.png does not exist")
    assert html == (f"<span style='color:{ERROR_COLOUR}'>a &lt;b&gt; &amp; c.png does not "
                    "exist</span>")
