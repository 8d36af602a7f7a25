"""A new result or selection repaints every plot in one pass of the window, not one per plot."""

from __future__ import annotations

import time

from PySide6.QtCore import QEvent, QObject
from PySide6.QtWidgets import QGraphicsView

from explorer.gui.panels.analysis.common import on_screen
from explorer.gui.windows.compare_window import CompareWindow
from tests.gui.conftest import axis_draw_specs, wait_for_result
from tests.gui.test_compare_window import wait_for_comparison


class PassCounter(QObject):
    """Numbers the window's paint passes and notes in which pass each plot viewport painted."""

    def __init__(self, window, viewports) -> None:
        super().__init__()
        self.passes = 0
        self.painted_in: dict[int, list[int]] = {id(v): [] for v in viewports}
        window.installEventFilter(self)
        for viewport in viewports:
            viewport.installEventFilter(self)

    def eventFilter(self, obj, event) -> bool:
        if event.type() == QEvent.Type.UpdateRequest:
            self.passes += 1
        elif event.type() == QEvent.Type.Paint and id(obj) in self.painted_in:
            self.painted_in[id(obj)].append(self.passes)
        return False


class Quiet(QObject):
    """Tells how long the window has gone without a paint pass."""

    def __init__(self, window) -> None:
        super().__init__()
        self.last = time.monotonic()
        window.installEventFilter(self)

    def eventFilter(self, obj, event) -> bool:
        if event.type() == QEvent.Type.UpdateRequest:
            self.last = time.monotonic()
        return False


def settle(qtbot, window, quiet_s: float = 0.2) -> None:
    """Wait until the window has stopped repainting (a first result settles in a few passes)."""
    quiet = Quiet(window)
    qtbot.waitUntil(lambda: time.monotonic() - quiet.last > quiet_s, timeout=10_000)
    window.removeEventFilter(quiet)


def _final_results_only(window) -> None:
    """Layers handed over during the pass (issue 21) are changes of their own, each painted in
    its own pass (tests/gui/test_progressive.py): these tests look at the final result's."""
    window.controller.layers_ready.disconnect(window.progress_pacer.on_layers_ready)


def _plot_viewports(window):
    views = [v.viewport() for v in window.findChildren(QGraphicsView)]
    return [v for v in views if on_screen(v)]


def test_a_result_and_a_selection_each_repaint_all_plots_in_one_pass(qtbot, window):
    _final_results_only(window)
    window.input_bar.set_inputs("the cat sat on the mat")
    wait_for_result(qtbot, window, "the cat sat on the mat")
    settle(qtbot, window)
    viewports = _plot_viewports(window)
    assert len(viewports) >= 5  # attention heatmap and overview, norms heatmap and curve, pooled

    counter = PassCounter(window, viewports)
    window.input_bar.set_inputs("a dog ran to the park")
    wait_for_result(qtbot, window, "a dog ran to the park")
    qtbot.waitUntil(lambda: all(counter.painted_in.values()))
    passes = {painted[0] for painted in counter.painted_in.values()}
    assert len(passes) == 1, counter.painted_in
    assert all(len(painted) == 1 for painted in counter.painted_in.values())  # each paints once
    assert not window.paint_batch.holding

    for painted in counter.painted_in.values():
        painted.clear()
    window.state.set_layer(2)
    window.state.set_token(3)
    qtbot.waitUntil(lambda: not window.paint_batch.holding)
    qtbot.waitUntil(lambda: sum(bool(p) for p in counter.painted_in.values()) >= 3)
    passes = {p for painted in counter.painted_in.values() for p in painted}
    assert len(passes) == 1, counter.painted_in


def test_longer_token_labels_do_not_make_a_second_paint(qtbot, window):
    """The heatmap's token axis is sized when the result arrives, not while it paints.

    pyqtgraph's axis measures its labels during the paint and then widens itself, which lays
    the plot out again and paints it a second time.
    """
    _final_results_only(window)
    window.input_bar.set_inputs("a b c")
    wait_for_result(qtbot, window, "a b c")
    settle(qtbot, window)
    viewports = _plot_viewports(window)
    axis = window.attention_panel.heatmap.getPlotItem().getAxis("left")
    narrow = axis.width()

    counter = PassCounter(window, viewports)
    words = "a counterrevolutionary interdisciplinary conversation"
    window.input_bar.set_inputs(words)
    wait_for_result(qtbot, window, words)
    qtbot.waitUntil(lambda: all(counter.painted_in.values()))
    settle(qtbot, window)  # a second paint, if one were coming, has come
    assert all(len(painted) == 1 for painted in counter.painted_in.values()), counter.painted_in
    assert axis.width() > narrow  # it did widen, before the paint


def test_the_compare_window_repaints_a_selection_change_in_one_pass(qtbot, window):
    window = CompareWindow(
        window.controller.client(), "I love my pet python", "I love my pet snake"
    )
    qtbot.addWidget(window)
    window.show()
    wait_for_comparison(qtbot, window, "I love my pet snake")
    qtbot.waitUntil(lambda: not window.paint_batch.holding)
    viewports = _plot_viewports(window)
    assert len(viewports) >= 6  # both sides' views and the difference views

    counter = PassCounter(window, viewports)
    window.compare.a.set_layer(1)
    window.compare.a.set_token(2)
    qtbot.waitUntil(lambda: not window.paint_batch.holding)
    qtbot.waitUntil(lambda: sum(bool(p) for p in counter.painted_in.values()) >= 4)
    passes = {p for painted in counter.painted_in.values() for p in painted}
    assert len(passes) == 1, counter.painted_in


def test_every_plot_scene_keeps_no_spatial_index(window):
    """Plots are made through plot_widget(): their items move on every result."""
    from PySide6.QtWidgets import QGraphicsScene

    scenes = [view.scene() for view in window.findChildren(QGraphicsView)]
    assert len(scenes) >= 5
    assert all(s.itemIndexMethod() == QGraphicsScene.ItemIndexMethod.NoIndex for s in scenes)


def test_the_sized_token_axis_leaves_room_for_its_title(qtbot, window):
    """Long token labels and the rotated "query (attends from)" title must not overlap."""
    words = "a counterrevolutionary interdisciplinary conversation"
    window.input_bar.set_inputs(words)
    wait_for_result(qtbot, window, words)
    settle(qtbot, window)
    axis = window.attention_panel.heatmap.getPlotItem().getAxis("left")
    assert axis.label.isVisible()
    title = axis.label.mapRectToParent(axis.label.boundingRect())
    _, _, texts = axis_draw_specs(axis)  # what the axis paints, in its own frame
    assert len(texts) > 3
    assert all(not rect.intersects(title) for rect, _, _ in texts), (title, texts)
