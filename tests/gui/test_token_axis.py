"""The quick token axis lays labels out where pyqtgraph's own AxisItem would."""

from __future__ import annotations

import itertools

import numpy as np
import pyqtgraph as pg
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from PySide6.QtGui import QFont, QPainter

from explorer.gui.panels.plotting.plots import fitting_token_ticks, make_heatmap_plot, plot_widget
from explorer.gui.panels.plotting.token_axis import TokenAxisItem
from tests.gui.conftest import axis_draw_specs

WORDS = ["[CLS]", "the", "counter", "##revolutionary", "historians", "wept", ".", "[SEP]"]


def _shown_heatmap(qtbot):
    widget, image, _ = make_heatmap_plot("viridis", (0.0, 1.0), "weight", square=True)
    qtbot.addWidget(widget)
    widget.resize(520, 420)
    widget.show()
    qtbot.waitExposed(widget)
    image.setImage(np.random.default_rng(0).random((8, 8), dtype=np.float32), levels=(0, 1))
    font = QFont()
    font.setPointSizeF(11.0)
    plot = widget.getPlotItem()
    for side in ("left", "bottom"):
        plot.getAxis(side).setStyle(tickFont=font)
    plot.getViewBox().prepareForPaint()
    return widget, plot


@pytest.mark.parametrize("side", ["left", "bottom"])
def test_token_labels_land_where_pyqtgraph_puts_them(qtbot, side):
    _widget, plot = _shown_heatmap(qtbot)
    axis = plot.getAxis(side)
    assert isinstance(axis, TokenAxisItem)
    axis.setTicks([[(i + 0.5, word) for i, word in enumerate(WORDS)]])
    assert axis._takes_fast_path()

    (pen, start, end), ticks, texts = axis_draw_specs(axis)
    (ref_pen, ref_start, ref_end), ref_ticks, ref_texts = axis_draw_specs(
        axis, lambda p: pg.AxisItem.generateDrawSpecs(axis, p)
    )

    assert (start.x(), start.y(), end.x(), end.y()) == pytest.approx(
        (ref_start.x(), ref_start.y(), ref_end.x(), ref_end.y())
    )
    assert pen.color() == ref_pen.color()
    assert [p.color().rgba() for p, *_ in ticks] == [p.color().rgba() for p, *_ in ref_ticks]
    np.testing.assert_allclose(
        [(a.x(), a.y(), b.x(), b.y()) for _, a, b in ticks],
        [(a.x(), a.y(), b.x(), b.y()) for _, a, b in ref_ticks],
    )
    assert [text for *_, text in texts] == [text for *_, text in ref_texts]
    assert len(texts) > 0
    for (rect, flags, _), (ref_rect, ref_flags, _) in zip(texts, ref_texts, strict=True):
        assert flags == ref_flags
        assert rect.center().x() == pytest.approx(ref_rect.center().x(), abs=0.75)
        assert rect.center().y() == pytest.approx(ref_rect.center().y(), abs=0.75)
        assert rect.height() == pytest.approx(ref_rect.height(), abs=0.5)
        # Qt's painter rounds some widths up by a pixel; the advance is the exact width.
        assert rect.width() == pytest.approx(ref_rect.width(), abs=1.01)


def test_labels_outside_the_view_are_left_off(qtbot):
    _widget, plot = _shown_heatmap(qtbot)
    axis = plot.getAxis("bottom")
    axis.setTicks([[(-40.5, "far left"), (3.5, "inside"), (99.5, "far right")]])
    _, ticks, texts = axis_draw_specs(axis)
    assert [text for *_, text in texts] == ["inside"]
    assert len(ticks) == 1


def test_automatic_ticks_are_pyqtgraphs_own(qtbot):
    widget = plot_widget(labelled_axes=True)
    qtbot.addWidget(widget)
    widget.resize(400, 300)
    widget.show()
    qtbot.waitExposed(widget)
    widget.getPlotItem().setXRange(0.0, 17.0, padding=0)
    axis = widget.getPlotItem().getAxis("bottom")
    assert not axis._takes_fast_path()
    _, _, texts = axis_draw_specs(axis)
    _, _, ref_texts = axis_draw_specs(axis, lambda p: pg.AxisItem.generateDrawSpecs(axis, p))
    assert [text for *_, text in texts] == [text for *_, text in ref_texts]
    assert [rect for rect, *_ in texts] == [rect for rect, *_ in ref_texts]


def test_a_token_axis_grows_at_once_and_narrows_only_with_room_to_spare(qtbot):
    from explorer.gui.panels.plotting.plots import (
        AXIS_SHRINK_SLACK,
        AXIS_WIDTH_STEP,
        fit_axis_width,
    )

    _widget, plot = _shown_heatmap(qtbot)
    axis = plot.getAxis("left")
    fit_axis_width(axis, ["the", "cat"])
    short = axis.fixedWidth
    fit_axis_width(axis, ["the", "##revolutionary"])
    long = axis.fixedWidth
    assert long > short

    # A word one width step shorter, found on a second, fresh axis that sizes it from scratch.
    _other, other_plot = _shown_heatmap(qtbot)
    probe = other_plot.getAxis("left")
    word = "##revolutionary"
    while True:
        word = word[:-1]
        probe.fixedWidth = None
        fit_axis_width(probe, ["the", word])
        if probe.fixedWidth < long:
            break
    assert probe.fixedWidth == long - AXIS_WIDTH_STEP
    fit_axis_width(axis, ["the", word])  # a little shorter: the width stays
    assert axis.fixedWidth == long
    fit_axis_width(axis, ["the", "cat"])  # much shorter: it narrows to fit again
    assert axis.fixedWidth == short
    assert long - short > AXIS_SHRINK_SLACK


def test_painting_from_kept_specs_draws_what_pyqtgraphs_picture_draws(qtbot):
    from PySide6.QtGui import QColor, QImage

    _widget, plot = _shown_heatmap(qtbot)
    axis = plot.getAxis("bottom")
    axis.setTicks([[(i + 0.5, word) for i, word in enumerate(WORDS)]])
    rect = axis.boundingRect().toAlignedRect()

    def render(paint) -> QImage:
        image = QImage(rect.width() + 40, rect.height() + 40, QImage.Format.Format_ARGB32)
        image.fill(QColor("white"))
        painter = QPainter(image)
        painter.translate(20 - rect.x(), 20 - rect.y())
        paint(painter)
        painter.end()
        return image

    direct = render(lambda p: axis.paint(p, None, None))
    axis.picture = None
    recorded = render(lambda p: pg.AxisItem.paint(axis, p, None, None))
    assert direct == recorded
    assert direct != render(lambda p: None)  # something was drawn
    axis.setTicks([[(0.5, "changed")]])  # pyqtgraph's redraw signal: new specs, new pixels
    assert render(lambda p: axis.paint(p, None, None)) != direct


# --- the one tick-thinning rule ---------------------------------------------------------

_LABEL = st.text(alphabet="abcdefghij#|.", min_size=0, max_size=14)


def _spans(ticks, pixels_per_token, extent, gap):
    return [
        (
            (x * pixels_per_token) - (extent(t) + gap) / 2,
            (x * pixels_per_token) + (extent(t) + gap) / 2,
        )
        for x, t in ticks
    ]


@settings(max_examples=300, deadline=None)
@given(
    labels=st.lists(_LABEL, min_size=0, max_size=60),
    selected=st.integers(min_value=-2, max_value=62),
    pixels_per_token=st.floats(min_value=0.5, max_value=80.0),
    char=st.floats(min_value=1.0, max_value=12.0),
    fixed=st.one_of(st.none(), st.floats(min_value=1.0, max_value=40.0)),
    gap=st.floats(min_value=0.0, max_value=10.0),
)
def test_fitting_token_ticks_never_overlap_and_keep_the_selected_label(
    labels, selected, pixels_per_token, char, fixed, gap
):
    def measure(text: str) -> float:
        return fixed if fixed is not None else char * len(text)

    extent = fixed if fixed is not None else measure
    ticks = fitting_token_ticks(labels, selected, pixels_per_token, extent, gap)

    positions = [x for x, _ in ticks]
    assert positions == sorted(positions)
    assert len(set(positions)) == len(positions)
    for x, text in ticks:
        i = int(x - 0.5)
        assert x == i + 0.5 and 0 <= i < len(labels)
        assert text == (f"▸{labels[i]}" if i == selected else labels[i])
    if 0 <= selected < len(labels):
        assert (selected + 0.5, f"▸{labels[selected]}") in ticks
    spans = _spans(ticks, pixels_per_token, measure, gap)
    for (_, high), (low, _) in itertools.pairwise(spans):
        assert high <= low + 1e-9  # neighbours in order do not overlap, so none do
    # Nothing left off would have fitted: each missing label overlaps one that is shown.
    shown = {int(x - 0.5) for x, _ in ticks}
    for i in set(range(len(labels))) - shown:
        text = f"▸{labels[i]}" if i == selected else labels[i]
        ((low, high),) = _spans([(i + 0.5, text)], pixels_per_token, measure, gap)
        assert any(high > a and low < b for a, b in spans)


def test_fitting_token_ticks_without_room_or_labels_is_empty():
    assert fitting_token_ticks([], 0, 10.0, 5.0) == []
    assert fitting_token_ticks(["a", "b"], 0, 0.0, 5.0) == []
    assert fitting_token_ticks(["a", "b", "c"], 1, 100.0, 5.0) == [
        (0.5, "a"),
        (1.5, "▸b"),
        (2.5, "c"),
    ]
