"""The analysis views in the real window: docked, asked for only when raised, linked.

The worker thread computes every analysis here; nothing is stubbed.
"""

from __future__ import annotations

import numpy as np
import pytest

from explorer.core.analysis.flow import FlowResult
from explorer.core.analysis.head_stats import HeadStats
from explorer.core.analysis.norm_based import NormAttention
from explorer.core.analysis.rollout import attention_rollout
from explorer.core.sources import ModelSource
from explorer.gui.windows.analysis_docks import ANALYSIS_DOCKS, add_analysis_docks
from explorer.gui.windows.main_window import MainWindow
from tests.gui.conftest import TIMEOUT_MS, wait_for_result
from tests.gui.test_window import click_cell

SINAN = "Sinan loves a beautiful day"
HEAVY = {"rollout", "flow", "norm_attention", "head_stats"}


def docked(window: MainWindow) -> MainWindow:
    """The window with its analysis docks (added here only while the window lacks them)."""
    if "head_stats" not in window.docks:
        add_analysis_docks(window)
    return window


def panel(window: MainWindow, key: str):
    return window.docks[key].widget()


def raise_and_wait(qtbot, window: MainWindow, key: str, name: str | None = None):
    """Raise a dock's tab and wait for its analysis to arrive from the worker."""
    name = name or key
    with qtbot.waitSignal(
        window.state.analysis_changed, timeout=TIMEOUT_MS, check_params_cb=lambda n: n == name
    ):
        window.docks[key].raise_()
    return window.state.analysis(name)


def test_main_window_docks_every_analysis(window):
    for key, *_ in ANALYSIS_DOCKS:
        assert key in window.docks, f"MainWindow._add_analysis_panels does not dock {key}"


def test_hidden_tabs_ask_for_nothing_and_a_raised_tab_asks_once(qtbot, window):
    docked(window)
    asked: list[str] = []
    window.state.analysis_requested.connect(lambda name, _params: asked.append(name))
    window.input_bar.set_inputs(SINAN)
    result = wait_for_result(qtbot, window, SINAN)
    assert not HEAVY & set(asked)
    params, stats = raise_and_wait(qtbot, window, "head_stats")
    assert params == {} and isinstance(stats, HeadStats)
    grid = panel(window, "head_stats")
    assert grid.image.image.shape == (result.num_layers, result.num_heads)
    assert asked.count("head_stats") == 1
    window.state.set_layer(2)  # redrawn from the stored payload, not asked again
    assert asked.count("head_stats") == 1


def test_head_stats_click_selects_the_head_everywhere(qtbot, window):
    docked(window)
    window.input_bar.set_inputs(SINAN)
    wait_for_result(qtbot, window, SINAN)
    raise_and_wait(qtbot, window, "head_stats")
    grid = panel(window, "head_stats")
    click_cell(qtbot, grid.grid, grid.image, row=1, col=2)
    assert (window.state.layer, window.state.head) == (1, 2)
    assert window.attention_panel.head_combo.currentText() == "Head 3"
    assert window.attention_panel.layer_combo.currentText() == "Layer 2"
    rows = grid.table.selectionModel().selectedRows()
    assert grid.table_rows()[rows[0].row()] == (1, 2)


def test_rollout_follows_layer_and_lens_without_asking_again(qtbot, window):
    docked(window)
    window.input_bar.set_inputs(SINAN, "Is it?")
    result = wait_for_result(qtbot, window, SINAN)
    _, rollout = raise_and_wait(qtbot, window, "rollout")
    np.testing.assert_allclose(rollout, attention_rollout(result.attentions), atol=1e-6)
    view = panel(window, "rollout")
    window.state.set_layer(3)
    np.testing.assert_allclose(view.heatmap.image.image, rollout[3], atol=1e-6)
    window.state.lens.set_hide_special(True)
    special = result.special_tokens_mask
    assert not view.heatmap.image.image[special].any()
    assert "special tokens hidden" in view.heatmap.plot_widget.getPlotItem().titleLabel.text
    assert window.attention_panel.lens_bar.hide_check.isChecked()  # one lens for all views


def test_flow_drops_an_older_request_for_a_newer_one(qtbot, window):
    docked(window)
    text = "the quick brown fox jumps over the lazy dog while the cat sleeps on the warm mat"
    window.input_bar.set_inputs(text)
    result = wait_for_result(qtbot, window, text)
    window.state.set_token(1)
    raise_and_wait(qtbot, window, "flow")
    delivered: list[FlowResult] = []
    window.controller.analysis_ready.connect(
        lambda outcome: delivered.append(outcome.payload) if outcome.name == "flow" else None
    )
    with qtbot.waitSignal(
        window.state.analysis_changed,
        timeout=TIMEOUT_MS,
        check_params_cb=lambda n: n == "flow" and window.state.analysis("flow")[0]["position"] == 9,
    ):
        for token in (4, 5, 6, 7, 8, 9):  # six requests in a row, only the last one counts
            window.state.set_token(token)
    assert [f.position for f in delivered] == [9]
    view = panel(window, "flow")
    np.testing.assert_allclose(view.bars.heights, delivered[0].values, atol=1e-6)
    assert f'into "{result.tokens[9]}"' in view.bars.plot_widget.getPlotItem().titleLabel.text


def test_top_k_tab_follows_the_selection(qtbot, window):
    docked(window)
    window.input_bar.set_inputs(SINAN)
    result = wait_for_result(qtbot, window, SINAN)
    topk = panel(window, "topk")
    window.docks["topk"].raise_()
    qtbot.waitUntil(lambda: len(topk.entries("attends")) == 5, timeout=TIMEOUT_MS)
    window.state.set_layer(3)
    window.state.set_head(2)
    window.state.set_token(4)
    row = result.attentions[3, 2, 4]
    best = np.argsort(-row, kind="stable")[:5]
    assert [label for label, _ in topk.entries("attends")] == [result.tokens[i] for i in best]
    column = np.argsort(-result.attentions[3, 2, :, 4], kind="stable")[:5]
    assert [label for label, _ in topk.entries("attended")] == [result.tokens[i] for i in column]


def test_norm_tab_shows_the_summed_map(qtbot, window):
    docked(window)
    window.input_bar.set_inputs(SINAN)
    result = wait_for_result(qtbot, window, SINAN)
    _, norms = raise_and_wait(qtbot, window, "norm_attention")
    assert isinstance(norms, NormAttention)
    assert norms.per_head.shape == result.attentions.shape
    view = panel(window, "norm_attention")
    window.state.set_layer(1)
    np.testing.assert_allclose(view.heatmap.image.image, norms.summed[1], rtol=1e-5)


@pytest.fixture
def embedded_window(qtbot):
    """A shown window on the embedded model (real weights), analysis docks included."""
    main = MainWindow(source=ModelSource.embedded(), text="")
    qtbot.addWidget(main)
    with qtbot.waitSignal(main.controller.model_loaded, timeout=TIMEOUT_MS):
        main.show()
    yield docked(main)
    main.close()


@pytest.mark.slow
@pytest.mark.parametrize("count", [8, 128])
def test_every_analysis_on_the_embedded_model(qtbot, embedded_window, count):
    """Done-when check: each view works in the window with real weights at 8 and 128 tokens."""
    main = embedded_window
    if count == 8:
        text, pair = SINAN, None  # [CLS] sin ##an loves a beautiful day [SEP]
    else:
        words = ["the", "cat", "sat", "on", "the", "mat", "and", "the", "dog", "ran"]
        text = " ".join(words[i % 10] for i in range(60))
        pair = " ".join(words[(i + 3) % 10] for i in range(65))
    main.input_bar.set_inputs(text, pair)
    main.run_now()
    result = wait_for_result(qtbot, main, text)
    assert result.num_tokens == count
    main.state.set_token(3)
    main.state.set_layer(4)

    _, rollout = raise_and_wait(qtbot, main, "rollout")
    assert rollout.shape == (6, count, count)
    assert panel(main, "rollout").heatmap.image.image.shape == (count, count)
    _, norms = raise_and_wait(qtbot, main, "norm_attention")
    assert norms.summed.shape == (6, count, count)
    assert panel(main, "norm_attention").heatmap.image.image.shape == (count, count)
    _, stats = raise_and_wait(qtbot, main, "head_stats")
    assert stats.pattern.shape == (6, 12)
    if count == 8:
        _, flow = raise_and_wait(qtbot, main, "flow")
        assert (flow.layer, flow.position) == (4, 3)
        assert panel(main, "flow").bars.heights.shape == (count,)
    else:
        main.docks["flow"].raise_()
        assert "up to 40 tokens; this input has 128" in panel(main, "flow").message_text
    main.docks["topk"].raise_()
    topk = panel(main, "topk")
    qtbot.waitUntil(lambda: len(topk.entries("attends")) == 5, timeout=TIMEOUT_MS)  # on raise
    lens = main.state.lens
    lens.set_words(True)
    lens.set_block("A→B" if pair else "A→A")
    words_shown = main.attention_panel.image.image.shape[0]
    assert words_shown == (7 if count == 8 else count)  # "sin ##an" is one word
    assert main.attention_panel.block_table_texts()[0][0] != "—"
