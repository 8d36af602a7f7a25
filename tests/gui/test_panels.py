"""Panels as views: build state, build the panel, change the state, assert on the panel."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from explorer.core.inference import run_inference
from explorer.core.views import build_views
from explorer.gui.panels.main.attention import AttentionPanel
from explorer.gui.panels.main.norms import NormsPanel
from explorer.gui.panels.main.pooled import NO_POOLER_TEXT, PooledPanel
from explorer.gui.panels.main.tokens import TokensPanel
from explorer.gui.state.explorer_state import MEAN_OF_HEADS, ExplorerState
from tests.gui.conftest import axis_draw_specs, show_panels


@pytest.fixture(scope="module")
def pair_result(tiny_model):
    return run_inference(tiny_model, "I love my pet python", "Is it a snake?")


@pytest.fixture
def state(qtbot, pair_result):
    shared = ExplorerState()
    shared.set_model_info(pair_result.model)
    shared.set_result(pair_result, build_views(pair_result))
    return shared


def test_tokens_panel_lists_ids_types_and_spans(qtbot, state, pair_result):
    panel = TokensPanel(state)
    qtbot.addWidget(panel)
    model = panel.table.model()
    assert model.rowCount() == pair_result.num_tokens
    cell = lambda row, col: model.data(model.index(row, col))  # noqa: E731
    assert [cell(0, c) for c in range(7)] == ["0", "[CLS]", "101", "0", "—", "", "special"]
    assert [cell(5, c) for c in range(1, 6)] == ["python", "18750", "0", "A 14–20", "python"]
    assert cell(7, 3) == "1" and cell(7, 4) == "B 0–2" and cell(7, 5) == "Is"
    state.set_token(5)
    assert panel.table.selectionModel().selectedRows()[0].row() == 5


def test_tokens_panel_flags_unknown_tokens(qtbot, tiny_model):
    result = run_inference(tiny_model, "ꙮ ok")
    shared = ExplorerState()
    shared.set_result(result, build_views(result))
    panel = TokensPanel(shared)
    qtbot.addWidget(panel)
    model = panel.table.model()
    assert "UNK" in model.data(model.index(1, 6))
    assert "1 [UNK]" in panel.summary.text()


def test_attention_panel_follows_layer_head_and_mean(qtbot, state, pair_result):
    panel = AttentionPanel(state)
    qtbot.addWidget(panel)
    assert panel.layer_combo.count() == 4
    assert panel.head_combo.count() == 5  # mean + 4 heads
    state.set_layer(3)
    state.set_head(1)
    np.testing.assert_array_equal(panel.image.image, pair_result.attentions[3, 1])
    assert panel.image.levels.tolist() == [0.0, 1.0]
    state.set_head(MEAN_OF_HEADS)
    np.testing.assert_allclose(panel.image.image, pair_result.attentions[3].mean(0), atol=1e-6)
    assert panel.head_combo.currentIndex() == 0


def test_attention_panel_keeps_its_image_item(qtbot, state, pair_result):
    panel = AttentionPanel(state)
    qtbot.addWidget(panel)
    image_before = panel.image
    items_before = len(panel.heatmap.getPlotItem().items)
    state.set_result(pair_result, build_views(pair_result))
    state.set_layer(1)
    assert panel.image is image_before
    assert len(panel.heatmap.getPlotItem().items) == items_before


def test_norms_panel_marks_token_and_layer(qtbot, state, pair_result):
    panel = NormsPanel(state)
    qtbot.addWidget(panel)
    state.set_token(4)
    state.set_layer(2)
    _, ys = panel.curve.getData()
    np.testing.assert_allclose(ys, pair_result.hidden_norms[:, 4])
    assert panel._layer_outline.rect().top() == 3
    assert panel.layer_line.value() == 3


def test_norms_curve_keeps_one_scale_across_tokens(qtbot, state, pair_result):
    panel = NormsPanel(state)
    qtbot.addWidget(panel)
    view_box = panel.curve_plot.getPlotItem().getViewBox()
    scales = []
    for token in (0, 2, pair_result.num_tokens - 1):
        state.set_token(token)
        xs, ys = panel.markers.getData()
        np.testing.assert_allclose(ys, pair_result.hidden_norms[:, token])
        np.testing.assert_array_equal(xs, np.arange(pair_result.hidden_norms.shape[0]))
        scales.append(view_box.viewRange()[1])
    low, high = scales[0]
    assert all(scale == scales[0] for scale in scales)
    assert low < 0.0 and high >= float(pair_result.hidden_norms.max())
    assert high == pytest.approx(panel.colorbar.levels()[1], rel=0.1)
    layers = pair_result.hidden_norms.shape[0]
    bottom = panel.curve_plot.getPlotItem().getAxis("bottom")
    assert bottom._tickLevels == [[(float(r), str(r)) for r in range(layers)]]  # whole layers


def test_pooled_panel_says_when_there_is_no_pooler(qtbot, state, pair_result):
    panel = PooledPanel(state)
    qtbot.addWidget(panel)
    assert not panel.shows_message
    no_pooler = dataclasses.replace(pair_result, pooler_output=None)
    state.set_result(no_pooler, build_views(no_pooler))
    assert panel.shows_message
    assert panel.message.text() == NO_POOLER_TEXT


def test_state_clamps_and_ignores_repeats(qtbot, state, pair_result):
    seen: list[int] = []
    state.token_changed.connect(seen.append)
    state.set_token(999)
    state.set_token(999)
    assert seen == [pair_result.num_tokens - 1]
    state.set_layer(99)
    assert state.layer == 3
    state.step_head(+1)
    state.step_head(-5)
    assert state.head == MEAN_OF_HEADS


def _views_settled(plot_widget) -> bool:
    """Nothing is left for the next paint to move: it would otherwise paint twice."""
    view_box = plot_widget.getPlotItem().getViewBox()
    before = view_box.childGroup.transform()
    view_box.prepareForPaint()
    return view_box.childGroup.transform() == before


def test_panels_settle_their_views_before_the_paint(qtbot, state, pair_result, tiny_model):
    attention, norms, pooled = AttentionPanel(state), NormsPanel(state), PooledPanel(state)
    for panel in (attention, norms, pooled):
        qtbot.addWidget(panel)
        panel.resize(500, 400)
        panel.show()
    qtbot.waitExposed(norms)
    longer = run_inference(tiny_model, "a longer sentence moves every range and every axis")
    state.set_result(longer, build_views(longer))
    state.set_token(5)
    views = (attention.heatmap, attention.overview, norms.heatmap, norms.curve_plot, pooled.plot)
    assert all(_views_settled(view) for view in views)


@pytest.mark.parametrize("value", [0.3, 1.0, 1.01, 7.3, 12.9, 13.7, 260.0, 0.0012])
def test_colour_levels_round_up_to_a_nearby_round_number(value):
    from explorer.gui.panels.plotting.plots import nice_ceiling

    top = nice_ceiling(value)
    assert value <= top <= value * 4 / 3 + 1e-12
    assert nice_ceiling(top) == top  # round numbers stay put


def test_norms_colour_scale_is_the_rounded_up_maximum(qtbot, state, tiny_model):
    from explorer.gui.panels.plotting.plots import nice_ceiling

    panel = NormsPanel(state)
    qtbot.addWidget(panel)
    other = run_inference(tiny_model, "a different sentence with other norms")
    state.set_result(other, build_views(other))
    expected = (0.0, nice_ceiling(float(other.hidden_norms.max())))
    assert tuple(panel.colorbar.levels()) == expected
    np.testing.assert_array_equal(panel.image.getLevels(), expected)


def test_remembered_label_widths_follow_the_font(qtbot):
    from PySide6.QtGui import QFont, QFontMetricsF

    from explorer.gui.panels.plotting.token_axis import label_extent, line_height

    small, large = QFont(), QFont()
    small.setPointSizeF(9)
    large.setPointSizeF(18)
    for font in (small, large, small):
        measure = label_extent(font)
        assert measure("▸python") == QFontMetricsF(font).horizontalAdvance("▸python")
    assert label_extent(large)("python") > label_extent(small)("python")
    assert line_height(large) == QFontMetricsF(large).height()


def test_a_small_overview_thins_its_numbers_and_keeps_the_selected_ones(qtbot, tmp_path):
    from explorer.core.loading import load_model
    from explorer.core.sources import ModelSource
    from tests.conftest import save_random_bert

    deep = load_model(ModelSource.parse(str(save_random_bert(tmp_path, num_hidden_layers=12))))
    result = run_inference(deep, "a deep model in a small overview")
    shared = ExplorerState()
    shared.set_result(result, build_views(result))
    panel = AttentionPanel(shared)
    qtbot.addWidget(panel)
    panel.resize(520, 700)
    panel.show()
    qtbot.waitExposed(panel)
    panel.overview.setFixedHeight(150)  # about 5 px a layer: no room for 12 numbers
    shared.set_layer(6)
    shared.set_head(2)
    qtbot.waitUntil(lambda: "▸7" in _axis_texts(panel.overview, "left"))

    for side, selected in (("left", "▸7"), ("bottom", "▸3")):
        axis = panel.overview.getPlotItem().getAxis(side)
        _, _, texts = axis_draw_specs(axis)
        shown = [text for *_, text in texts]
        assert selected in shown
        rects = [rect for rect, *_ in texts]
        assert not any(a.intersects(b) for i, a in enumerate(rects) for b in rects[i + 1 :])
    assert len(_axis_texts(panel.overview, "left")) < 12


def _axis_texts(plot_widget, side: str) -> list[str]:
    levels = plot_widget.getPlotItem().getAxis(side)._tickLevels or [[]]
    return [text for _, text in levels[0]]


def test_heatmaps_fill_their_views(qtbot, state, pair_result):
    attention, norms = AttentionPanel(state), NormsPanel(state)
    show_panels(qtbot, attention, norms, width=600, height=500)
    state.set_token(3)  # the outlines are on show, and must not widen the view
    count, rows = pair_result.num_tokens, pair_result.hidden_norms.shape[0]
    for plot_widget, width, height in (
        (attention.heatmap, count, count),
        (norms.heatmap, count, rows),
    ):
        view_box = plot_widget.getPlotItem().getViewBox()
        view_box.prepareForPaint()
        (x0, x1), (y0, y1) = view_box.viewRange()
        # The map touches the view's edges along at least one axis (the other may have room
        # left over when the cells are kept square).
        assert min((x1 - x0) / width, (y1 - y0) / height) == pytest.approx(1.0, abs=1e-6)


@pytest.mark.parametrize("token", [0, -1])
def test_the_selected_tokens_label_is_drawn_at_either_end(qtbot, state, pair_result, token):
    attention, norms = AttentionPanel(state), NormsPanel(state)
    show_panels(qtbot, attention, norms)
    index = token % pair_result.num_tokens
    state.set_token(index)
    wanted = f"▸{pair_result.tokens[index]}"
    for plot_widget, sides in (
        (attention.heatmap, ("left", "bottom")),
        (norms.heatmap, ("bottom",)),
    ):
        plot_widget.getPlotItem().getViewBox().prepareForPaint()
        for side in sides:
            axis = plot_widget.getPlotItem().getAxis(side)
            _, _, texts = axis_draw_specs(axis)  # what the axis draws, not only what it was set
            assert wanted in [text for *_, text in texts], (plot_widget, side)
