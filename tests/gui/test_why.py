"""Knock-out from the head-importance grid: every panel follows, and a session keeps it."""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import Qt

from explorer.core.sources import ModelSource
from explorer.core.why.attribution import HEAD_IMPORTANCE
from explorer.gui.state.knock_outs import knocked_out
from explorer.gui.windows.main_window import MainWindow
from tests.gui.conftest import TIMEOUT_MS, wait_for_result

TEXT = "The old man sat by the river."


def _knocked(heads):
    return lambda outcome: outcome.result.knocked_out == tuple(heads)


def test_knock_out_from_the_grid_runs_again_and_survives_a_session_round_trip(
    qtbot, window, tmp_path
):
    window.input_bar.set_inputs(TEXT)
    window.run_now()
    plain = wait_for_result(qtbot, window, TEXT)
    panel = window.analysis_panels["head_importance"]
    with qtbot.waitSignal(
        window.state.analysis_changed,
        timeout=TIMEOUT_MS,
        check_params_cb=lambda name: name == HEAD_IMPORTANCE,
    ):
        window.docks["head_importance"].raise_()
    assert panel.image.image.shape == (4, 4)

    # a click on layer 2, head 3 knocks it out; Shift+click knocks out all of layer 4
    with qtbot.waitSignal(
        window.controller.result_ready, timeout=TIMEOUT_MS, check_params_cb=_knocked([(1, 2)])
    ):
        panel.image.cell_clicked.emit(1, 2, Qt.KeyboardModifier.NoModifier)
    layer_four = [(3, h) for h in range(4)]
    with qtbot.waitSignal(
        window.controller.result_ready,
        timeout=TIMEOUT_MS,
        check_params_cb=_knocked([(1, 2), *layer_four]),
    ):
        panel.image.cell_clicked.emit(3, 0, Qt.KeyboardModifier.ShiftModifier)
    off = window.state.result
    assert np.array_equal(off.attentions[:2], plain.attentions[:2])
    assert not np.allclose(off.attentions[2], plain.attentions[2])  # layer 3 sees the change
    assert panel.knocked_list.count() == 5
    assert panel.knocked_list.item(0).text() == "layer 2, head 3"
    assert window.isWindowModified()

    path = window.sessions.save_to(tmp_path / "knocked.json")
    assert path is not None
    other = MainWindow(source=ModelSource.embedded(), text="")
    qtbot.addWidget(other)
    with qtbot.waitSignal(
        other.controller.result_ready,
        timeout=TIMEOUT_MS,
        check_params_cb=lambda outcome: (
            outcome.result.text == TEXT and outcome.result.knocked_out == ((1, 2), *layer_four)
        ),
    ):
        assert other.sessions.open(path)
    assert knocked_out(other.state.panel_options) == ((1, 2), *layer_four)
    np.testing.assert_array_equal(other.state.result.attentions, off.attentions)

    # Restore all brings every head back: the result equals the plain one again
    restore = other.analysis_panels["head_importance"].restore_button
    with qtbot.waitSignal(
        other.controller.result_ready, timeout=TIMEOUT_MS, check_params_cb=_knocked([])
    ):
        restore.click()
    np.testing.assert_array_equal(other.state.result.attentions, plain.attentions)
    assert knocked_out(other.state.panel_options) == ()


def _raise_and_wait(qtbot, window, dock: str, analysis: str):
    with qtbot.waitSignal(
        window.state.analysis_changed,
        timeout=TIMEOUT_MS,
        check_params_cb=lambda name: name == analysis,
    ):
        window.docks[dock].raise_()
    return window.analysis_panels[dock]


def test_walk_through_follows_the_selection_and_highlights_a_key(qtbot, window):
    from explorer.core.why.qkv import WALK_THROUGH

    window.input_bar.set_inputs(TEXT)
    window.run_now()
    result = wait_for_result(qtbot, window, TEXT)
    state = window.state
    state.set_head(2)
    state.set_layer(1)
    state.set_token(3)
    panel = _raise_and_wait(qtbot, window, "walk_through", WALK_THROUGH)
    weights = panel.bars["weights"].opts["height"]
    np.testing.assert_allclose(weights, result.attentions[1, 2, 3], atol=1e-6)
    assert panel.images["keys"].image.shape == (8, result.num_tokens)  # d × T: keys are columns
    with qtbot.waitSignal(
        state.analysis_changed, timeout=TIMEOUT_MS, check_params_cb=lambda n: n == WALK_THROUGH
    ):
        state.set_token(4)
    np.testing.assert_allclose(
        panel.bars["weights"].opts["height"], result.attentions[1, 2, 4], atol=1e-6
    )
    panel.images["values"].cell_clicked.emit(0, 5, Qt.KeyboardModifier.NoModifier)
    assert all(region.isVisible() for region in panel.highlights.values())
    assert all(region.getRegion() == (5, 6) for region in panel.highlights.values())
    assert panel.readout.text().startswith(f'key 5 "{result.tokens[5]}"')
    state.set_head(-1)  # the mean of heads has no single walk-through
    assert "one head" in panel.message.text()


def test_attribution_panel_colours_the_text_and_switches_methods(qtbot, window):
    window.input_bar.set_inputs(TEXT)
    window.run_now()
    wait_for_result(qtbot, window, TEXT)
    from explorer.core.why.attribution import EXPLAIN

    window.state.panel_options.set("attribution.steps", 8)
    state = window.state
    seen: list[tuple[int, int]] = []
    state.analysis_progress.connect(lambda name, done, total: seen.append((done, total)))
    panel = _raise_and_wait(qtbot, window, "attribution", EXPLAIN)
    assert seen and seen[0] == (1, 9) and seen[-1] == (9, 9)  # the pass, then the IG points
    assert not panel.progress.isVisible()
    found = window.state.analysis(EXPLAIN)[1]
    assert found.ig_steps == 8
    assert "background-color" in panel.text_view.text() and "river" in panel.text_view.text()
    np.testing.assert_allclose(panel.bars.opts["height"], found.grad_input)
    panel.method_combo.setCurrentIndex(panel.method_combo.findData("relevance"))
    window.state.set_token(2)
    np.testing.assert_allclose(panel.bars.opts["height"], found.relevance[2])
    assert window.state.panel_options.get("attribution.method", "") == "relevance"
    assert "completeness error" in panel.summary.text()


def test_alt_click_on_the_overview_knocks_heads_out(qtbot, window):
    window.input_bar.set_inputs(TEXT)
    window.run_now()
    result = wait_for_result(qtbot, window, TEXT)
    from explorer.core.views import mosaic_geometry

    _, tile = mosaic_geometry(result.num_tokens)
    overview = window.attention_panel.overview_image
    alt = Qt.KeyboardModifier.AltModifier
    with qtbot.waitSignal(
        window.controller.result_ready, timeout=TIMEOUT_MS, check_params_cb=_knocked([(2, 1)])
    ):
        overview.cell_clicked.emit(2 * tile + 1, 1 * tile, alt)
    layer_one = [(0, h) for h in range(4)]
    with qtbot.waitSignal(
        window.controller.result_ready,
        timeout=TIMEOUT_MS,
        check_params_cb=_knocked([*layer_one, (2, 1)]),
    ):
        overview.cell_clicked.emit(0, 3 * tile, alt | Qt.KeyboardModifier.ShiftModifier)
    overview.cell_clicked.emit(0, 0, Qt.KeyboardModifier.NoModifier)  # a plain click selects
    assert knocked_out(window.state.panel_options) == (*layer_one, (2, 1))


def test_the_selected_mask_is_the_target_of_both_why_tabs(qtbot, tmp_path):
    from explorer.core.why.attribution import EXPLAIN
    from tests.conftest import save_random_bert

    folder = save_random_bert(tmp_path / "mlm", architecture="BertForMaskedLM")
    window = MainWindow(source=ModelSource.parse(str(folder)), text="")
    qtbot.addWidget(window)
    with qtbot.waitSignal(window.controller.model_loaded, timeout=TIMEOUT_MS):
        window.show()
    text = "Paris is the [MASK] of France."
    window.input_bar.set_inputs(text)
    window.run_now()
    result = wait_for_result(qtbot, window, text)
    mask = int(np.flatnonzero(result.tokens == "[MASK]")[0])
    window.state.set_token(mask)
    _raise_and_wait(qtbot, window, "attribution", EXPLAIN)
    params, found = window.state.analysis(EXPLAIN)
    assert params["target"] == f"mask:{mask}" and f"at token {mask}" in found.target
    with qtbot.waitSignal(
        window.state.analysis_changed, timeout=TIMEOUT_MS, check_params_cb=lambda n: n == EXPLAIN
    ):
        window.state.panel_options.set("attribution.target", "pooled-norm")
    assert window.analysis_panels["attribution"].target_edit.text() == "pooled-norm"
    assert window.state.analysis(EXPLAIN)[1].target.startswith("L2 norm")
    _raise_and_wait(qtbot, window, "head_importance", HEAD_IMPORTANCE)
    assert window.state.analysis(HEAD_IMPORTANCE)[0] == {"target": "pooled-norm"}


def test_head_importance_without_a_result_shows_its_message_not_empty_axes(qtbot, window):
    panel = window.analysis_panels["head_importance"]
    window.docks["head_importance"].raise_()
    assert not panel.grid.isVisibleTo(panel) and panel.message.text() == "No result yet."
    window.input_bar.set_inputs(TEXT)
    with qtbot.waitSignal(
        window.state.analysis_changed,
        timeout=TIMEOUT_MS,
        check_params_cb=lambda name: name == HEAD_IMPORTANCE,
    ):
        window.run_now()
    assert panel.grid.isVisibleTo(panel)
