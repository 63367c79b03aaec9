"""The melody status line under the piano roll elides instead of cutting mid-word."""

from compose_melodies import scale_melody
from PySide6.QtCore import Qt

from desktop_app.ui.widgets.elided_label import ElidedLabel


def test_elided_label_keeps_the_full_text_and_shows_it_as_a_tooltip(qtbot):
    label = ElidedLabel()
    qtbot.addWidget(label)
    text = "8 bars · 40 notes · D dorian · 6/8 · 110 q/min"
    label.setText(text)
    label.setMinimumWidth(40)
    assert label.text() == text and label.toolTip() == text
    assert label.minimumSizeHint().width() == 40          # the layout may shrink it
    label.resize(90, 20)
    narrow = label.grab().toImage()
    label.resize(label.fontMetrics().horizontalAdvance(text) + 20, 20)
    wide = label.grab().toImage()
    assert narrow.width() < wide.width() and not narrow.isNull()
    shown = label.fontMetrics().elidedText(text, Qt.TextElideMode.ElideRight, 90)
    assert shown.endswith("…")


def test_the_compose_status_line_is_elided(panel):
    panel.pianoRoll.set_melody(scale_melody("D dorian", "6/8"))
    assert isinstance(panel.melodyLabel, ElidedLabel)
    assert "D dorian" in panel.melodyLabel.toolTip()
