"""The Context panel in the real window: the worker runs the sentences, the panel draws them."""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import Qt

from explorer.core.context import CONTEXT_ANALYSIS, EXAMPLE_SETS, ContextResult, context_of
from explorer.gui.panels.analysis.context import (
    MAX_CELL_VALUES,
    PLOT_MIN_HEIGHT,
    SENTENCE_COLORS,
)
from tests.gui.conftest import TIMEOUT_MS, wait_for_result


def _compare(qtbot, window):
    panel = window.docks["context"].widget()
    window.docks["context"].raise_()
    with qtbot.waitSignal(
        window.state.analysis_changed,
        timeout=TIMEOUT_MS,
        check_params_cb=lambda name: name == CONTEXT_ANALYSIS,
    ):
        panel.compare()
    return panel


def test_the_context_panel_draws_what_the_core_computes(qtbot, window, tiny_model):
    panel = window.docks["context"].widget()
    index = panel.examples.findData("bank: of a river, and one that lends")
    panel.examples.activated.emit(index)
    word, sentences = EXAMPLE_SETS["bank: of a river, and one that lends"]
    assert panel.word_edit.text() == word and panel.sentences == sentences
    _compare(qtbot, window)
    params, payload = window.state.analysis(CONTEXT_ANALYSIS)
    assert params == {"word": "bank", "sentences": sentences}
    assert isinstance(payload, ContextResult)
    expected = context_of(tiny_model, word, sentences)
    np.testing.assert_allclose(payload.states, expected.states, rtol=1e-5, atol=1e-6)
    n, layers = len(sentences), tiny_model.info.num_layers + 1
    layer = window.state.layer + 1
    np.testing.assert_allclose(panel.cosine_image.image, expected.cosine[layer], atol=1e-5)
    _, ys = panel.self_curve.getData()
    np.testing.assert_allclose(ys, expected.self_similarity, atol=1e-5)
    assert len(panel.pair_curves) == n * (n - 1) // 2
    assert len(panel.trajectories) == 2 * n
    path_x, _ = panel.trajectories[0].getData()
    assert path_x.shape == (layers,)
    assert "'bank' in 4 sentences" in panel.message.text()
    rows = panel.cosine_plot.getPlotItem().getAxis("left")._tickLevels[0]
    assert [label for _, label in rows] == [str(i + 1) for i in range(n)]  # sentence numbers
    key = panel.sentences_key.text()  # which colour is which sentence
    assert all(f"{i + 1} {sentence[:20]}" in key for i, sentence in enumerate(sentences))

    window.state.set_layer(0)  # redrawn from the payload, layer 0's output
    np.testing.assert_allclose(panel.cosine_image.image, expected.cosine[1], atol=1e-5)
    assert panel.layer_line.value() == 1


def test_a_sentence_without_the_word_is_named_in_the_panel(qtbot, window):
    panel = window.docks["context"].widget()
    panel.set_inputs("bank", ["The bank lends.", "A cat sleeps."])
    _compare(qtbot, window)
    assert "Sentence 2 does not contain the word 'bank'" in panel.message.text()


def test_from_a_and_b_takes_the_sentences_and_the_selected_word(qtbot, window):
    window.input_bar.set_inputs("I love my pet python", "Is it a snake?")
    window.run_now()
    result = wait_for_result(qtbot, window, "I love my pet python")
    window.state.set_token(int(np.flatnonzero(result.tokens == "python")[0]))
    panel = window.docks["context"].widget()
    panel.fill_from_inputs()
    assert panel.word_edit.text() == "python"
    assert panel.sentences == ("I love my pet python", "Is it a snake?")
    # Said now, not only after Compare: B has no python.
    assert "'python' is only in sentence A: add sentences" in panel.message.text()
    window.input_bar.set_inputs("My python sleeps", "A python eats")
    window.run_now()
    result = wait_for_result(qtbot, window, "My python sleeps")
    window.state.set_token(int(np.flatnonzero(result.tokens == "python")[0]))
    panel.fill_from_inputs()
    assert "only in" not in panel.message.text()


def test_the_keys_say_what_is_left_out_with_many_sentences(qtbot, window):
    panel = window.docks["context"].widget()
    sentences = [f"The bank number {i} is open." for i in range(12)]
    panel.set_inputs("bank", sentences)
    _compare(qtbot, window)
    assert "the first 15 of 66 pairs" in panel.curves_key.text()
    assert "colours repeat every 10 sentences" in panel.sentences_key.text()
    panel.cosine_image.cell_hovered.emit(10, 11)  # too many cells to write in: hover reads
    layer = window.state.layer + 1
    title = panel.cosine_plot.getPlotItem().titleLabel.text
    assert title.endswith(f"11 × 12: {panel._context.cosine[layer, 10, 11]:.3f}")
    panel.cosine_image.cell_hovered.emit(-1, -1)
    assert panel.cosine_plot.getPlotItem().titleLabel.text == f"Cosine, layer {layer}"
    pca = panel.pca_plot.getPlotItem()
    assert (pca.getAxis("bottom").labelText, pca.getAxis("left").labelText) == ("PC 1", "PC 2")


def test_too_few_sentences_ask_for_nothing(window):
    panel = window.docks["context"].widget()
    asked = []
    window.state.analysis_requested.connect(lambda name, _params: asked.append(name))
    panel.set_inputs("bank", ["Only one bank."])
    panel.compare()
    assert not asked and "at least two sentences" in panel.message.text()


def test_the_panel_starts_with_an_example_to_compare(window):
    panel = window.docks["context"].widget()
    word, sentences = next(iter(EXAMPLE_SETS.values()))
    assert panel.word_edit.text() == word and panel.sentences == sentences


def _drawn(panel) -> bool:
    """Whether any plot of the panel shows data."""
    curves = [panel.self_curve, panel.baseline_curve, panel.adjusted_curve]
    return (
        panel.cosine_image.image is not None
        or any(curve.getData()[0] is not None and len(curve.getData()[0]) for curve in curves)
        or bool(panel.pair_curves or panel.trajectories or panel.sentences_key.text())
    )


def test_before_the_first_compare_the_plots_give_way_to_a_hint(window):
    panel = window.docks["context"].widget()
    assert panel.body.shows_message and "Compare" in panel.body.message.text()
    assert not _drawn(panel)


def test_an_error_leaves_no_plot_of_the_word_before(qtbot, window):
    panel = window.docks["context"].widget()
    _compare(qtbot, window)
    assert _drawn(panel) and not panel.body.shows_message

    panel.set_inputs("bank", ["The bank lends.", "A cat sleeps."])  # the worker's error
    _compare(qtbot, window)
    assert "does not contain the word 'bank'" in panel.message.text()
    assert not _drawn(panel) and panel.body.shows_message
    window.state.set_layer(1)  # nothing to redraw from
    assert panel.cosine_image.image is None

    _compare(qtbot, window)  # drawn again, then the panel's own check fails
    panel.set_inputs("bank", ["Only one bank."])
    panel.compare()
    assert "at least two sentences" in panel.message.text()
    assert not _drawn(panel) and panel.body.shows_message


def test_from_a_and_b_with_a_special_token_says_what_to_select(qtbot, window):
    window.input_bar.set_inputs("I love my pet python", "Is it a snake?")
    window.run_now()
    result = wait_for_result(qtbot, window, "I love my pet python")
    panel = window.docks["context"].widget()
    panel.set_inputs("bank", ["The bank lends.", "The bank is closed."])
    for special in np.flatnonzero(result.special_tokens_mask)[:2]:  # [CLS], the first [SEP]
        window.state.set_token(int(special))
        panel.fill_from_inputs()
        assert panel.word_edit.text() == "bank"  # left as it was
        assert panel.sentences == ("The bank lends.", "The bank is closed.")
        name = result.tokens[special]
        assert f"Select a word token (not {name})" in panel.message.text()


def test_the_summary_curves_look_like_no_pair(qtbot, window):
    panel = window.docks["context"].widget()
    _compare(qtbot, window)
    palette = {colour.lower() for colour in SENTENCE_COLORS}
    pair_pens = [curve.opts["pen"] for curve in panel.pair_curves]
    assert pair_pens and all(pen.style() == Qt.PenStyle.SolidLine for pen in pair_pens)
    for curve in (panel.self_curve, panel.baseline_curve, panel.adjusted_curve):
        pen = curve.opts["pen"]
        assert pen.color().name() not in palette
        assert pen.widthF() > max(p.widthF() for p in pair_pens)
    styles = {
        (c.opts["pen"].style(), tuple(c.opts["pen"].dashPattern()))
        for c in (panel.self_curve, panel.baseline_curve, panel.adjusted_curve)
    }
    assert len(styles) == 3  # told apart from each other without colour too


def test_the_cosine_map_is_scaled_to_its_values_and_writes_them(qtbot, window):
    panel = window.docks["context"].widget()
    _compare(qtbot, window)
    cosine = panel._context.cosine
    low, high = panel.cosine_image.levels
    assert high == 1.0 and low <= np.nanmin(cosine) < low + 0.1  # not the whole −1…1
    assert tuple(panel.cosine_bar.levels()) == (low, high)
    n = cosine.shape[1]
    layer = window.state.layer + 1
    assert [t.textItem.toPlainText() for t in panel.cell_values] == [
        f"{v:.2f}" for v in cosine[layer].ravel()
    ]
    window.state.set_layer(window.state.layer + 1)  # the same scale, the next layer's numbers
    assert tuple(panel.cosine_image.levels) == (low, high)
    assert panel.cell_values[1].textItem.toPlainText() == f"{cosine[layer + 1, 0, 1]:.2f}"
    many = [f"The bank number {i} is open." for i in range(MAX_CELL_VALUES + 1)]
    panel.set_inputs("bank", many)
    _compare(qtbot, window)
    assert panel.cell_values == [] and n < MAX_CELL_VALUES  # too many cells to write in


def test_a_short_dock_scrolls_rather_than_squeezing_the_plots(qtbot, window):
    panel = window.docks["context"].widget()
    dock = window.docks["context"]
    dock.setFloating(True)
    dock.resize(560, 420)
    qtbot.waitUntil(lambda: abs(panel.width() - 560) < 40, timeout=TIMEOUT_MS)
    _compare(qtbot, window)
    qtbot.waitUntil(lambda: panel.cosine_plot.isVisible(), timeout=TIMEOUT_MS)
    for plot in (panel.cosine_plot, panel.curves_plot, panel.pca_plot):
        assert plot.height() >= PLOT_MIN_HEIGHT
    # The colour bar's numbers are inside the plot widget, not cut off at its right edge.
    axis = panel.cosine_bar.axis
    right = axis.mapRectToScene(axis.boundingRect()).right()
    assert right <= panel.cosine_plot.width() + 1


def test_the_panel_shows_the_notes_of_the_result(qtbot, window):
    panel = window.docks["context"].widget()
    panel.word_edit.setText("cafe")
    panel.sentences_edit.setPlainText("The café opens.\nA cafe closes.")
    _compare(qtbot, window)
    assert "Note: Matched 'café' as 'cafe'" in panel.message.text()
