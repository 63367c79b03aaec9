"""The distribution inspector and the advanced sampler section (fake logits, real sampler)."""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import Qt

from desktop_app.core.sampling import SamplerSettings, sampler_trace
from desktop_app.ui.write.advanced import load_user_presets
from desktop_app.ui.write.inspector import DistributionInspector


def show_inspector(panel, qtbot):
    panel.show()
    qtbot.waitExposed(panel)
    panel.side_tabs.setCurrentWidget(panel.inspector)
    panel.editor.setPlainText("The fox sang to the moon")
    panel.request_inspection()


def test_inspector_receives_logits_and_draws_every_stage(write_panel, qtbot):
    p = write_panel
    show_inspector(p, qtbot)
    insp = p.inspector
    assert insp.logits is not None and insp.update_count >= 1
    s = p.randomness.settings()
    names = [stage.name for stage in insp.stages]
    assert names == ["raw", *s.enabled_stages()]
    assert len(insp.shown_ids) == 20
    expected = sampler_trace(insp.logits, s, insp.history)
    assert np.allclose(insp.stages[-1].probs, expected[-1][1][insp.shown_ids])
    final = insp.stages[-1]
    assert final.in_play == int(np.count_nonzero(expected[-1][1]))
    assert "entropy" in insp.summary.text()


def test_inspector_follows_sliders_without_generating(write_panel, fake_text, qtbot):
    p = write_panel
    show_inspector(p, qtbot)
    insp = p.inspector
    jobs_before = len(fake_text.jobs)
    count = insp.update_count
    p.randomness.topKSpin.setValue(5)
    assert insp.update_count == count + 1
    assert insp.stage("top_k").in_play == 5
    p.randomness.topPSpin.setValue(1.0)
    p.randomness.minPSpin.setValue(0.0)
    p.randomness.topKSpin.setValue(0)
    p.randomness.temperatureSpin.setValue(1.0)
    assert [s.name for s in insp.stages] == ["raw"]  # every stage neutral: raw only
    p.randomness.temperatureSpin.setValue(0.0)  # greedy: one token in play
    assert insp.stages[-1].in_play == 1
    assert len(fake_text.jobs) == jobs_before  # nothing was generated
    assert insp.last_update_ms < 1000


def test_removed_tokens_are_grey(qtbot):
    insp = DistributionInspector()
    qtbot.addWidget(insp)
    assert insp.plot.isHidden()          # no empty axes before the first distribution
    logits = np.linspace(5, 0, 100)
    insp.set_settings(SamplerSettings(top_k=3, top_p=1.0, min_p=0.0, temperature=1.0))
    insp.set_logits(logits, labels={i: f"t{i}" for i in range(100)})
    kept = insp.kept.opts["x0"]
    removed = insp.removed.opts["x0"]
    # raw: 20 kept; top_k column: 3 kept and 17 greyed.
    assert list(kept).count(0) == 20 and list(kept).count(1) == 3
    assert list(removed).count(1) == 17
    assert not insp.plot.isHidden()
    insp.clear("No model.")
    assert insp.plot.isHidden()


import pytest  # noqa: E402
from PySide6.QtGui import QFontMetricsF  # noqa: E402


@pytest.mark.parametrize("width", [200, 240, 280, 350, 600])
def test_the_chart_text_stays_inside_a_narrow_inspector(qtbot, width):
    """At a 1,256-pixel window the final column read "52." (cut) and the stage titles ran
    into one another: the values get their room in pixels, titles shorten when needed."""
    insp = DistributionInspector()
    qtbot.addWidget(insp)
    insp.resize(width, 460)
    insp.show()
    qtbot.waitExposed(insp)
    insp.set_settings(SamplerSettings(top_k=40, top_p=0.95, min_p=0.05, temperature=0.8))
    insp.set_logits(np.linspace(8, 0, 200), labels={i: f"t{i}" for i in range(200)})
    view = insp.plot.getPlotItem().getViewBox()
    right = view.mapRectToScene(view.boundingRect()).right()

    def left_and_width(text):   # a TextItem anchored at its left edge, in scene pixels
        width = max(insp.fontMetrics().horizontalAdvance(t)
                    for t in text.toPlainText().split("\n"))
        return view.mapViewToScene(text.pos()).x(), width

    for text in insp.values:
        if text.isVisible():
            x, w = left_and_width(text)
            assert x + w <= right + 1, (text.toPlainText(), x + w, right)
    heads = []
    for h in insp.headers:
        if h.isVisible():   # each title in its own (possibly smaller) type
            title = h.toPlainText().split("\n")
            width = max(QFontMetricsF(h.textItem.font()).horizontalAdvance(t) for t in title)
            heads.append((view.mapViewToScene(h.pos()).x(), width))
    for (x, w), (nxt, _) in zip(heads, heads[1:]):
        assert x + w < nxt, "stage titles touch or overlap"
    # the titles' first line is inside the chart, not cut off above it (at 300 x 460 the
    # entropy lines pushed the titles out)
    for h in insp.headers:   # a title only is written "\n\nraw": its blank lines may be cut
        if h.isVisible() and h.toPlainText().split("\n")[0]:
            assert h.mapRectToScene(h.boundingRect()).top() >= view.sceneBoundingRect().top() - 1
    assert insp.values[0].toPlainText().endswith("%")


def test_advanced_section_edits_every_stage_and_reorders(write_panel):
    p = write_panel
    adv = p.advanced
    adv.spins["repeat_penalty"].setValue(1.3)
    adv.spins["dry_multiplier"].setValue(0.8)
    s = p.randomness.settings()
    assert s.repeat_penalty == 1.3 and s.dry_multiplier == 0.8
    # Reorder: move temperature to the top (as a drag would), untick xtc.
    lst = adv.order
    row = [lst.item(i).data(Qt.ItemDataRole.UserRole) for i in range(lst.count())].index(
        "temperature")
    lst.model().moveRow(lst.model().index(row, 0).parent(), row,
                        lst.model().index(0, 0).parent(), 0)
    xtc = next(lst.item(i) for i in range(lst.count())
               if lst.item(i).data(Qt.ItemDataRole.UserRole) == "xtc")
    xtc.setCheckState(Qt.CheckState.Unchecked)
    order = p.randomness.settings().order
    assert order[0] == "temperature" and "xtc" not in order
    # The inspector follows the new order.
    p.inspector.set_logits(np.linspace(3, 0, 200))
    names = [st.name for st in p.inspector.stages]
    assert names[1] == "temperature"
    # A preset button on the shared controls shows up here too.
    p.randomness.apply_preset("Precise")
    assert adv.spins["repeat_penalty"].value() == 1.1


def test_user_presets_are_saved_and_applied(write_panel):
    adv = write_panel.advanced
    write_panel.randomness.temperatureSpin.setValue(1.7)
    adv.spins["typical_p"].setValue(0.9)
    assert adv.save_user_preset("My poems")
    assert load_user_presets()["My poems"].temperature == 1.7
    write_panel.randomness.apply_preset("Balanced")
    adv.apply_user_preset("My poems")
    s = write_panel.randomness.settings()
    assert s.temperature == 1.7 and s.typical_p == 0.9
    assert not adv.save_user_preset("../../evil")


def test_every_control_has_a_tooltip(write_panel):
    for spin in write_panel.advanced.spins.values():
        assert spin.toolTip()
    for i in range(write_panel.advanced.order.count()):
        assert write_panel.advanced.order.item(i).toolTip()
