"""Analysis views: build state, build the view, change the state, assert on the view.

A stub answers analysis requests synchronously with the real registry, as the worker would.
"""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from PySide6.QtCore import Qt

from explorer.core.analysis.blocks import block_totals, token_segments
from explorer.core.analysis.flow import FlowResult, attention_flow
from explorer.core.analysis.head_stats import head_statistics_of
from explorer.core.analysis.norm_based import norm_attention_of
from explorer.core.analysis.registry import run_analysis
from explorer.core.analysis.rollout import attention_rollout
from explorer.core.analysis.special import hide_special
from explorer.core.analysis.words import merge_word_pieces, word_groups
from explorer.core.errors import ExplorerError
from explorer.core.inference import run_inference
from explorer.core.views import attention_mosaic, build_views
from explorer.gui.panels.analysis.common import COMPUTING
from explorer.gui.panels.analysis.flow import FlowPanel
from explorer.gui.panels.analysis.head_stats import HeadStatsPanel
from explorer.gui.panels.analysis.norm_based import NormPanel
from explorer.gui.panels.analysis.rollout import RolloutPanel
from explorer.gui.panels.analysis.topk import TopKPanel
from explorer.gui.panels.main.attention import AttentionPanel
from explorer.gui.state.explorer_state import MEAN_OF_HEADS, AnalysisFailure, ExplorerState


@pytest.fixture(scope="module")
def pet(tiny_model):
    return run_inference(tiny_model, "I love my pet python", "Is it a snake?")


def make_state(result) -> ExplorerState:
    shared = ExplorerState()
    shared.set_model_info(result.model)
    shared.set_result(result, build_views(result))
    return shared


@pytest.fixture
def state(qtbot, pet):
    return make_state(pet)


def answer_requests(state: ExplorerState, loaded) -> list[tuple[str, dict]]:
    """Connect a synchronous stand-in for the controller; returns the requests it saw."""
    asked: list[tuple[str, dict]] = []

    def answer(name: str, params: dict) -> None:
        asked.append((name, params))
        try:
            payload = run_analysis(name, loaded, state.result, params)
        except ExplorerError as err:
            payload = AnalysisFailure(str(err))
        state.set_analysis(name, params, payload)

    state.analysis_requested.connect(answer)
    return asked


@pytest.fixture
def hold(qtbot):
    """Register a panel with qtbot and keep it alive (shown if asked) until the test ends.

    qtbot keeps only a weak reference; a panel left to the garbage collector can be
    collected in the middle of a paint event, which crashes Qt.
    """
    held: list = []

    def add(widget, show: bool = False):
        qtbot.addWidget(widget)
        held.append(widget)
        if show:
            widget.show()
            qtbot.waitExposed(widget)
        return widget

    yield add
    for widget in held:
        widget.close()
    held.clear()


# --- attention panel: blocks, pooling, words, hidden special tokens -----------------------
def test_block_filter_and_block_totals(qtbot, hold, state, pet):
    asked = answer_requests(state, None)  # the overview's block mosaic, as the worker makes it
    panel = hold(AttentionPanel(state))
    state.set_layer(2)
    state.set_head(1)
    matrix = pet.attentions[2, 1]
    segments = token_segments(pet.sequence_ids)
    totals = block_totals(matrix, segments)
    texts = panel.block_table_texts()
    assert texts[0][1] == f"{totals[0, 1]:.1f} ({totals[0, 1] / totals.sum():.0%})"
    assert texts[1][0] == f"{totals[1, 0]:.1f} ({totals[1, 0] / totals.sum():.0%})"
    panel.lens_bar.block_combo.setCurrentText("A→B")
    mask = np.outer(segments == 0, segments == 1)
    np.testing.assert_array_equal(panel.image.image, np.where(mask, matrix, 0))
    masked = attention_mosaic(np.where(mask, pet.attentions, np.float32(0)))
    np.testing.assert_array_equal(panel.overview_image.image, masked)  # the overview too
    assert asked == [("block_mosaic", {"block": "A→B"})]
    assert panel.heatmap.getPlotItem().titleLabel.text.endswith("A→B only")
    assert panel.block_table.item(0, 1).font().bold()
    assert panel.block_table_texts() == texts  # the table totals every block regardless
    assert not panel.notice.isVisibleTo(panel)
    state.set_layer(0)
    np.testing.assert_array_equal(
        panel.image.image, np.where(np.outer(segments == 0, segments == 1), pet.attentions[0, 1], 0)
    )


def test_block_on_a_single_sentence_says_why_it_is_empty(qtbot, hold, tiny_model):
    single = run_inference(tiny_model, "Sinan loves a beautiful day")
    state = make_state(single)
    panel = hold(AttentionPanel(state))
    assert panel.block_table_texts()[1] == ["—", "—"]
    state.lens.set_block("B→B")
    assert panel.notice.isVisibleTo(panel)
    assert "no sentence B" in panel.notice.text()
    assert not panel.image.image.any()


def test_pooling_and_mean_over_layers(qtbot, hold, state, pet):
    panel = hold(AttentionPanel(state))
    state.set_layer(1)
    state.set_head(MEAN_OF_HEADS)
    panel.controls.pool_combo.setCurrentText("max")
    np.testing.assert_array_equal(panel.image.image, pet.attentions[1].max(axis=0))
    assert panel.head_combo.itemText(0) == "Max of heads"
    panel.controls.mean_layers_check.setChecked(True)
    np.testing.assert_allclose(panel.image.image, pet.attentions.max(axis=1).mean(0), atol=1e-6)
    assert not panel.layer_combo.isEnabled()
    panel._on_cell_hovered(4, 5)
    value = pet.attentions.max(axis=1).mean(0)[4, 5]
    assert panel.readout.text() == f'mean of layers · max of heads · "pet" → "python" = {value:.3f}'
    state.set_head(3)
    np.testing.assert_allclose(panel.image.image, pet.attentions[:, 3].mean(0), atol=1e-6)
    assert not panel.controls.pool_combo.isEnabled()


def test_words_and_hidden_special_tokens(qtbot, hold, tiny_model):
    result = run_inference(tiny_model, "Sinan loves Python", "Is it?")
    state = make_state(result)
    panel = hold(AttentionPanel(state))
    state.set_layer(3)
    state.set_head(0)
    panel.lens_bar.words_check.setChecked(True)
    groups = word_groups(result)
    image = panel.image.image
    assert image.shape == (groups.num_groups, groups.num_groups)
    np.testing.assert_allclose(image.sum(axis=1), 1.0, atol=1e-5)
    np.testing.assert_allclose(
        image, merge_word_pieces(result.attentions[3, 0], groups.group_of_token), atol=1e-6
    )
    state.set_token(2)  # "##an" belongs to the word "Sinan", row 1
    assert panel._row_outline.rect().top() == 1
    ticks = panel.heatmap.getPlotItem().getAxis("left")._tickLevels[0]
    assert (1.5, "▸Sinan") in ticks
    panel._on_cell_clicked(3, 0, Qt.KeyboardModifier.NoModifier)  # row 3 is "Python"
    assert state.token == groups.first_token[3]

    panel.lens_bar.words_check.setChecked(False)
    panel.lens_bar.hide_check.setChecked(True)
    special = result.special_tokens_mask
    image = panel.image.image
    assert not image[special].any() and not image[:, special].any()
    np.testing.assert_allclose(image[~special].sum(axis=1), 1.0, atol=1e-5)
    np.testing.assert_allclose(image, hide_special(result.attentions[3, 0], special), atol=1e-6)
    assert "special tokens hidden" in panel.heatmap.getPlotItem().titleLabel.text


def test_lens_is_shared_by_every_view_of_a_window(qtbot, hold, state):
    first, second = hold(AttentionPanel(state)), hold(RolloutPanel(state))
    first.lens_bar.hide_check.setChecked(True)
    assert second.lens_bar.hide_check.isChecked()
    second.lens_bar.block_combo.setCurrentText("B→A")
    assert first.lens_bar.block_combo.currentText() == "B→A"


# --- top-k --------------------------------------------------------------------------------
def test_top_k_lists_follow_the_selection(qtbot, hold, state, pet):
    panel = hold(TopKPanel(state))
    state.set_layer(2)
    state.set_head(3)
    state.set_token(4)
    assert panel.entries("attends") == []  # a hidden view ranks nothing
    panel.show()
    qtbot.waitExposed(panel)
    matrix = pet.attentions[2, 3]
    k = panel.k_spin.value()
    order = np.argsort(-matrix[4], kind="stable")[:k]
    assert [label for label, _ in panel.entries("attends")] == [pet.tokens[i] for i in order]
    np.testing.assert_allclose(
        [w for _, w in panel.entries("attends")], matrix[4, order], atol=5e-4
    )
    column = np.argsort(-matrix[:, 4], kind="stable")[:k]
    assert [label for label, _ in panel.entries("attended")] == [pet.tokens[i] for i in column]
    assert '"pet" · layer 3 · head 4' in panel.title.text()

    state.set_token(5)
    assert panel.entries("attends")[0][0] == pet.tokens[np.argmax(pet.attentions[2, 3, 5])]
    panel.k_spin.setValue(2)
    assert len(panel.entries("attended")) == 2
    panel.attends_table.cellClicked.emit(1, 1)
    assert state.token == int(np.argsort(-pet.attentions[2, 3, 5], kind="stable")[1])

    state.lens.set_block("A→B")
    token = pet.tokens[state.token]  # a token of sentence A: no query in A looks at A here
    assert panel.entries("attended") == []
    assert len(panel.entries("attends")) == 2
    assert f'nothing is left in the column of "{token}"' in panel.message.text()
    state.lens.set_block("All")
    state.lens.set_hide_special(True)
    state.set_token(0)
    assert panel.entries("attends") == []
    assert "special token" in panel.message.text()


# --- rollout ------------------------------------------------------------------------------
def test_rollout_is_asked_for_only_when_visible_and_follows_the_layer(
    qtbot, hold, state, pet, tiny_model
):
    asked = answer_requests(state, tiny_model)
    panel = hold(RolloutPanel(state))
    assert asked == []  # a hidden view costs nothing
    panel.show()
    qtbot.waitExposed(panel)
    assert asked == [("rollout", {})]
    rollout = attention_rollout(pet.attentions)
    state.set_layer(1)
    np.testing.assert_allclose(panel.heatmap.image.image, rollout[1], atol=1e-6)
    assert panel.heatmap.colorbar.levels()[1] == pytest.approx(rollout[1].max())
    np.testing.assert_allclose(panel.bars.heights, rollout[1, 0], atol=1e-6)
    assert "through layer 2" in panel.heatmap.plot_widget.getPlotItem().titleLabel.text
    state.set_layer(3)
    np.testing.assert_allclose(panel.heatmap.image.image, rollout[3], atol=1e-6)
    assert asked == [("rollout", {})]  # every layer came in the one reply
    state.set_token(6)
    assert panel.heatmap._row_outline.rect().top() == 6
    panel.heatmap._on_cell_hovered(6, 2)
    assert panel.heatmap.readout.text() == (
        f'rollout to layer 4 · "{pet.tokens[6]}" → "love" = {rollout[3, 6, 2]:.3f}'
    )


def test_rollout_says_computing_then_draws(qtbot, hold, state, pet):
    panel = hold(RolloutPanel(state), show=True)
    assert panel.message.text() == COMPUTING  # nobody answered yet
    state.set_analysis("rollout", {}, attention_rollout(pet.attentions))
    assert panel.message.text() == ""
    assert panel.heatmap.image.image.shape == (pet.num_tokens, pet.num_tokens)
    state.set_analysis("rollout", {}, AnalysisFailure("rollout failed: boom"))
    assert panel.message.text() == "rollout failed: boom"
    assert panel.heatmap.image.image is None


# --- flow ---------------------------------------------------------------------------------
def test_flow_follows_token_and_layer_and_ignores_older_replies(
    qtbot, hold, state, pet, tiny_model
):
    asked = answer_requests(state, tiny_model)
    state.set_layer(2)
    state.set_token(3)
    panel = hold(FlowPanel(state), show=True)
    assert asked[-1] == ("flow", {"layer": 2, "position": 3})
    np.testing.assert_allclose(panel.bars.heights, attention_flow(pet.attentions, 2, 3), atol=1e-6)
    assert 'into "my" after layer 3' in panel.bars.plot_widget.getPlotItem().titleLabel.text
    state.set_token(5)
    assert asked[-1] == ("flow", {"layer": 2, "position": 5})
    expected = attention_flow(pet.attentions, 2, 5)
    np.testing.assert_allclose(panel.bars.heights, expected, atol=1e-6)
    stale = FlowResult(layer=2, position=3, values=np.full(pet.num_tokens, 0.5, np.float32))
    state.set_analysis("flow", {"layer": 2, "position": 3}, stale)  # an older request's reply
    np.testing.assert_allclose(panel.bars.heights, expected, atol=1e-6)


def test_flow_above_forty_tokens_says_why_and_asks_nothing(qtbot, hold, tiny_model):
    long = run_inference(tiny_model, " ".join(["word"] * 45))
    state = make_state(long)
    asked = answer_requests(state, tiny_model)
    panel = hold(FlowPanel(state), show=True)
    assert asked == []
    assert "up to 40 tokens; this input has 47" in panel.message_text
    assert panel.bars.heights.size == 0


# --- norm-based ---------------------------------------------------------------------------
def test_norm_panel_summed_and_per_head(qtbot, hold, state, pet, tiny_model):
    answer_requests(state, tiny_model)
    norms = norm_attention_of(tiny_model, pet)
    panel = hold(NormPanel(state), show=True)
    state.set_layer(1)
    np.testing.assert_allclose(panel.heatmap.image.image, norms.summed[1], rtol=1e-5)
    assert not panel.controls.head_combo.isEnabled()
    panel.summed_check.setChecked(False)
    state.set_head(2)
    np.testing.assert_allclose(panel.heatmap.image.image, norms.per_head[1, 2], rtol=1e-5)
    assert panel.controls.head_combo.isEnabled() and not panel.controls.pool_combo.isEnabled()
    assert panel.heatmap.colorbar.levels()[1] == pytest.approx(norms.per_head[1, 2].max())
    state.set_head(MEAN_OF_HEADS)
    state.lens.set_head_pool("max")
    np.testing.assert_allclose(panel.heatmap.image.image, norms.per_head[1].max(0), rtol=1e-5)
    assert "max of heads" in panel.heatmap.plot_widget.getPlotItem().titleLabel.text


def test_norm_panel_without_weights_says_so(qtbot, hold, state):
    answer_requests(state, None)  # e.g. a result loaded from disk: no model at hand
    panel = hold(NormPanel(state), show=True)
    assert "needs the model's weights" in panel.message_text
    assert panel.heatmap.image.image is None


# --- per-head statistics ------------------------------------------------------------------
def test_head_stats_grid_table_and_selection(qtbot, hold, state, pet, tiny_model):
    answer_requests(state, tiny_model)
    panel = hold(HeadStatsPanel(state), show=True)
    stats = head_statistics_of(pet)
    panel.set_statistic("entropy")
    np.testing.assert_allclose(panel.image.image, stats.values["entropy"], rtol=1e-6)
    assert panel.image.levels.tolist() == pytest.approx([0.0, np.log(pet.num_tokens)])
    panel.set_statistic("sep")
    np.testing.assert_allclose(panel.image.image, stats.values["sep"], rtol=1e-6)
    letters = [item.textItem.toPlainText() for item in panel._letters]
    assert letters == [p[0].upper() for p in stats.pattern.ravel()]

    panel._on_cell_clicked(2, 3, None)
    assert (state.layer, state.head) == (2, 3)
    assert panel._outline.rect().topLeft().toTuple() == (3.0, 2.0)

    column = list(
        panel.model.horizontalHeaderItem(c).text() for c in range(panel.model.columnCount())
    )
    panel.table.sortByColumn(column.index("entropy (nats)"), Qt.SortOrder.AscendingOrder)
    order = np.argsort(stats.values["entropy"].ravel(), kind="stable")
    assert panel.table_rows()[0] == divmod(int(order[0]), pet.num_heads)
    panel.table.selectRow(0)
    assert (state.layer, state.head) == divmod(int(order[0]), pet.num_heads)
    state.set_layer(3)
    state.set_head(1)
    selected = panel.table.selectionModel().selectedRows()[0].row()
    assert panel.table_rows()[selected] == (3, 1)


def test_lens_and_panel_options_round_trip_for_sessions(qtbot, hold, state):
    attention = hold(AttentionPanel(state))
    stats = hold(HeadStatsPanel(state))
    topk = hold(TopKPanel(state))
    norm = hold(NormPanel(state))
    state.apply_view_options(
        {
            "attention.block": "B→A",
            "attention.words": True,
            "attention.head_pool": "median",
            "attention.mean_layers": 1,
            "attention.other": "x",
            "head_stats.statistic": "distance",
            "topk.k": 9,
            "norm_attention.summed": False,
        }
    )
    assert state.lens.options() == {
        "block": "B→A",
        "words": True,
        "hide_special": False,
        "head_pool": "mean",  # "median" is not a pooling: ignored
        "mean_layers": False,  # 1 is not a bool: ignored
    }
    # The widgets follow the state, and the state is what a session saves.
    assert attention.lens_bar.block_combo.currentText() == "B→A"
    assert stats.statistic == "distance"
    assert topk.k_spin.value() == 9
    assert not norm.summed_check.isChecked()
    topk.k_spin.setValue(4)
    saved = state.view_options()
    assert saved["topk.k"] == 4 and saved["head_stats.statistic"] == "distance"
    assert saved["attention.block"] == "B→A" and saved["norm_attention.summed"] is False


def test_panel_options_restored_before_the_panel_exists_are_shown(qtbot, hold, state):
    state.apply_view_options({"topk.k": 7, "head_stats.statistic": "no such statistic"})
    topk = hold(TopKPanel(state))
    stats = hold(HeadStatsPanel(state))
    assert topk.k_spin.value() == 7
    assert stats.statistic != "no such statistic"  # a value the panel cannot show is ignored


def test_token_bars_label_what_fits_and_always_the_red_bar(qtbot, hold):
    from explorer.core.analysis.lens import LensedRow
    from explorer.gui.panels.analysis.widgets import TokenBars
    from explorer.gui.panels.plotting.token_axis import label_extent
    from tests.gui.conftest import axis_draw_specs

    labels = tuple(f"token{i:02d}" for i in range(60))
    row = LensedRow(np.linspace(0, 1, 60, dtype=np.float32), labels, np.arange(60))
    bars = hold(TokenBars("share"), show=True)
    bars.resize(400, 300)
    bars.show_row(row, 37, "title", 1.0)
    bars.plot_widget.grab()
    axis = bars.plot_widget.getPlotItem().getAxis("bottom")
    ticks = axis._tickLevels[0]
    assert (37.0, "▸token37") in ticks  # bars stand at whole x
    assert 2 < len(ticks) < 60
    width = label_extent(axis.style.get("tickFont") or axis.font())
    per_bar = bars.plot_widget.getPlotItem().getViewBox().width() / 60.2
    spans = [(x * per_bar - width(t) / 2, x * per_bar + width(t) / 2) for x, t in ticks]
    assert all(high <= low for (_, high), (low, _) in itertools.pairwise(spans))  # no overlap
    _, _, texts = axis_draw_specs(axis)
    assert "▸token37" in [text for *_, text in texts]
