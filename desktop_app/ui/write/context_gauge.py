"""Context gauge: tokens used out of the model's context length. GUI thread only.

The model never reads more than its context, so the gauge never shows more than the context
used ("256 / 256", never "427 / 256"); when the text before the cursor plus the tokens to
generate need more, it says "full" and how many of the oldest tokens are left out -- as an
estimate before a generation, and the generator's own count after one (generation keeps the
newest tokens and slides forward as it writes, see ``desktop_app.ml.text.generate``). The
labels shorten (then elide) rather than clip, with the whole explanation in their tooltips.
"""

from __future__ import annotations

from PySide6.QtWidgets import QHBoxLayout, QProgressBar, QSizePolicy, QWidget

from desktop_app.ui.write.fitting_label import FittingLabel

AMBER = "#b06a00"
TIP = ("How much of the model's context window the text before the cursor plus the tokens "
       "to generate would fill.")


class ContextGauge(QWidget):
    """A bar plus a label (objectName ``contextGauge``) and a truncation warning."""

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self.setObjectName("contextGauge")
        self.setAccessibleName("Context used")
        self.bar = QProgressBar(self)
        self.bar.setTextVisible(False)
        self.bar.setFixedWidth(56)
        self.bar.setFixedHeight(10)
        self.label = FittingLabel(self)
        self.label.setObjectName("contextGaugeLabel")
        self.label.set_variants(["context: –"])
        self.warning = FittingLabel(self)
        self.warning.setObjectName("contextWarning")
        self.warning.setStyleSheet(f"color: {AMBER}; font-weight: 600;")
        self.warning.hide()
        for label in (self.label, self.warning):
            label.setMinimumWidth(20)
            label.setSizePolicy(QSizePolicy.Policy.Preferred, QSizePolicy.Policy.Preferred)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.bar)
        layout.addWidget(self.label)
        layout.addWidget(self.warning)
        self.used = 0
        self.context = 0
        self.dropped = 0
        self.setToolTip(TIP)

    def set_usage(self, used: int, context: int, *, estimated: bool = False) -> None:
        """``used``: tokens the text before the cursor and the new tokens come to."""
        self.used, self.context = int(used), int(context)
        if context <= 0:
            self.bar.setRange(0, 1)
            self.bar.setValue(0)
            self.label.set_variants(["context: no model", "no model"], TIP)
            return
        self.bar.setRange(0, context)
        self.bar.setValue(min(self.used, context))
        approx = "≈" if estimated else ""
        over = self.used - context
        if over <= 0:
            n = f"{approx}{self.used:,} / {context:,}"
            self.label.set_variants([f"context: {n} tokens", f"context: {n}", n], TIP)
            self._tint_bar(False)
            return
        n = f"{context:,} / {context:,}"
        self.label.set_variants([f"context: {n} tokens, full", f"context: {n}, full",
                                 f"{n} full"],
            f"The text before the cursor and the tokens to generate come to {approx}"
            f"{self.used:,} tokens, more than the model's {context:,}-token context. The model "
            f"reads only the newest tokens: {approx}{over:,} of the oldest are left out, and "
            f"as it writes, the window slides forward.")
        self._tint_bar(True)

    def _tint_bar(self, full: bool) -> None:
        self.bar.setStyleSheet(f"QProgressBar::chunk {{ background: {AMBER}; }}" if full else "")

    def show_warning(self, message: str) -> None:
        """A message from the generator about truncation (shown short, whole in the tooltip)."""
        self.warning.set_variants([f"⚠ {message}", "⚠ text left out"], message)
        self.warning.show()

    def set_dropped(self, dropped: int) -> None:
        """Report the tokens the last generation dropped from the front (0 clears it)."""
        self.dropped = int(dropped)
        if dropped > 0:
            self.warning.set_variants(
                [f"⚠ oldest {dropped:,} tokens left out", f"⚠ {dropped:,} left out"],
                f"{dropped:,} tokens from the start did not fit the "
                                    f"model's context and were left out of the last "
                                    f"generation: it did not read them.")
            self.warning.show()
        else:
            self.warning.hide()
