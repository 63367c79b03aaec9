"""Context gauge: tokens used out of the model's context length. GUI thread only.

It never stays silent about truncation: when a generation had to drop tokens from the front of
the prompt, the gauge turns amber and says how many, every time it happens.
"""

from __future__ import annotations

from PySide6.QtWidgets import QHBoxLayout, QLabel, QProgressBar, QWidget


class ContextGauge(QWidget):
    """A bar plus a label (objectName ``contextGauge``)."""

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self.setObjectName("contextGauge")
        self.setAccessibleName("Context used")
        self.bar = QProgressBar(self)
        self.bar.setTextVisible(False)
        self.bar.setFixedWidth(70)
        self.bar.setFixedHeight(10)
        self.label = QLabel("context: –", self)
        self.label.setObjectName("contextGaugeLabel")
        self.warning = QLabel("", self)
        self.warning.setObjectName("contextWarning")
        self.warning.setStyleSheet("color: #b06a00; font-weight: 600;")
        self.warning.hide()
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.bar)
        layout.addWidget(self.label)
        layout.addWidget(self.warning, 1)
        self.label.setMinimumWidth(20)
        self.warning.setMinimumWidth(20)
        self.used = 0
        self.context = 0
        self.dropped = 0
        self.setToolTip("How much of the model's context window the text before the cursor "
                        "plus the tokens to generate would fill.")

    def set_usage(self, used: int, context: int, *, estimated: bool = False) -> None:
        self.used, self.context = int(used), int(context)
        if context <= 0:
            self.bar.setRange(0, 1)
            self.bar.setValue(0)
            self.label.setText("context: no model")
            return
        self.bar.setRange(0, context)
        self.bar.setValue(min(used, context))
        approx = "≈" if estimated else ""
        over = used > context
        self.label.setText(f"context: {approx}{used:,} / {context:,} tokens"
                           + (" (over: the start will be dropped)" if over else ""))

    def show_warning(self, message: str) -> None:
        self.warning.setText(f"⚠ {message}")
        self.warning.show()

    def set_dropped(self, dropped: int) -> None:
        """Report the tokens the last generation dropped from the front (0 clears it)."""
        self.dropped = int(dropped)
        if dropped > 0:
            self.warning.setText(f"⚠ {dropped:,} tokens from the start did not fit the context "
                                 "and were left out")
            self.warning.show()
        else:
            self.warning.hide()
