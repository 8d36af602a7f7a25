"""Compare window: differences equal direct subtraction, linked sides, clear messages, no leaks."""

from __future__ import annotations

import numpy as np
import pytest
from PySide6.QtCore import QPointF, Qt
from PySide6.QtWidgets import QMenu

import explorer.core.compare as compare_module
import explorer.core.inference as inference_module
from explorer.core.errors import InputTextError
from explorer.core.sources import ModelSource
from explorer.gui.state.explorer_state import MEAN_OF_HEADS
from explorer.gui.widgets.message_bar import Level
from explorer.gui.windows.compare_window import CompareWindow
from explorer.gui.worker.model_worker import ModelController, running_worker_threads
from tests.gui.conftest import TIMEOUT_MS, wait_for_result

PYTHON = "I love my pet python"
SNAKE = "I love my pet snake"
ANACONDA = "I love my pet anaconda"  # "ana ##con ##da": 9 tokens against 7


def wait_for_comparison(qtbot, window: CompareWindow, text_b: str):
    """Wait until the worker's comparison of A with ``text_b`` is on show."""
    with qtbot.waitSignal(
        window.controller.analysis_ready,
        timeout=TIMEOUT_MS,
        check_params_cb=lambda outcome: (
            outcome.name == "compare" and outcome.payload.b.text == text_b
        ),
    ):
        pass
    comparison = window.compare.comparison
    assert comparison is not None and comparison.b.text == text_b
    return comparison


@pytest.fixture
def compare_window(qtbot, window) -> CompareWindow:
    """A shown compare window on the main window's worker and tiny BERT, first comparison in."""
    compare = CompareWindow(window.controller.client(), PYTHON, SNAKE)
    qtbot.addWidget(compare)
    compare.show()
    wait_for_comparison(qtbot, compare, SNAKE)
    return compare


def test_same_token_count_every_difference_view_is_the_direct_subtraction(compare_window):
    window = compare_window
    a, b = window.compare.a.result, window.compare.b.result
    views_a, views_b = window.compare.a.views, window.compare.b.views
    assert a.num_tokens == b.num_tokens == 7

    # Mean of heads, layer 1: the default selection.
    image = window.attention_diff_panel.image.image
    np.testing.assert_array_equal(image, views_b.head_mean(0) - views_a.head_mean(0))
    assert image.dtype == np.float32 and image.flags.c_contiguous
    low, high = window.attention_diff_panel.image.getLevels()
    assert low == -high and high == pytest.approx(float(np.abs(image).max()))

    # Choosing layer 2, head 3 on side B's own controls moves A too, and the difference.
    controls_b = window.side_b.attention_panel.controls
    controls_b.layer_combo.setCurrentIndex(1)
    controls_b.head_combo.setCurrentIndex(3)
    assert (window.compare.a.layer, window.compare.a.head) == (1, 2)
    np.testing.assert_array_equal(
        window.attention_diff_panel.image.image, b.attentions[1, 2] - a.attentions[1, 2]
    )
    np.testing.assert_array_equal(window.side_a.attention_panel.image.image, a.attentions[1, 2])
    assert "layer 2 · head 3" in window.attention_diff_panel.heatmap.getPlotItem().titleLabel.text

    np.testing.assert_array_equal(
        window.norms_diff_panel.image.image, b.hidden_norms - a.hidden_norms
    )
    comparison = window.compare.comparison
    xs, ys = window.similarity_panel.cls_curve.getData()
    assert xs.tolist() == list(range(5))
    np.testing.assert_allclose(ys, comparison.cls_cosine)
    assert f"{comparison.pooled_cosine:.4f}" in window.similarity_panel.summary.text()


def test_selection_is_linked_both_ways(compare_window):
    window = compare_window
    a, b = window.compare.a, window.compare.b
    window.side_b.tokens_panel.table.selectRow(5)
    assert a.token == b.token == 5
    assert window.side_a.tokens_panel.table.selectionModel().selectedRows()[0].row() == 5
    assert window.attention_diff_panel._row_outline.rect().top() == 5
    assert window.norms_diff_panel._token_outline.rect().left() == 5
    comparison = window.compare.comparison
    _, ys = window.similarity_panel.token_curve.getData()
    np.testing.assert_allclose(ys, comparison.token_cosine[:, 5])
    assert '"python|snake"' in window.similarity_panel.caption.text()

    a.set_layer(3)
    assert b.layer == 3
    assert window.side_b.attention_panel.layer_combo.currentIndex() == 3
    assert window.similarity_panel.layer_line.value() == 4
    assert window.norms_diff_panel._layer_outline.rect().top() == 4
    b.set_head(MEAN_OF_HEADS)
    b.set_head(1)
    assert a.head == 1

    window.compare.lens_b.set_words(True)
    assert window.compare.lens_a.settings.words
    assert window.side_a.attention_panel.lens_bar.words_check.isChecked()


def click_cell(qtbot, plot_widget, image_item, row: int, col: int) -> None:
    """Click the centre of a heatmap cell the way a user would."""
    plot_widget.grab()  # paint once so the view's lazy auto-range has settled
    point = plot_widget.mapFromScene(image_item.mapToScene(QPointF(col + 0.5, row + 0.5)))
    qtbot.mouseClick(plot_widget.viewport(), Qt.MouseButton.LeftButton, pos=point)


def test_clicking_the_difference_selects_a_token_on_both_sides(qtbot, compare_window):
    panel = compare_window.attention_diff_panel
    click_cell(qtbot, panel.heatmap, panel.image, 4, 2)
    assert compare_window.compare.a.token == compare_window.compare.b.token == 4


def test_different_token_counts_explain_and_pair_identical_tokens(qtbot, compare_window):
    window = compare_window
    window.set_inputs(PYTHON, ANACONDA)
    comparison = wait_for_comparison(qtbot, window, ANACONDA)
    panel = window.attention_diff_panel
    assert panel.shows_message
    assert "A has 7 tokens and B has 9" in panel.message.text()
    assert "7×7 and 9×9" in panel.message.text()
    assert window.message_bar.level is Level.INFO
    assert "A has 7 tokens and B has 9" in window.message_bar.text()
    # The sides still show their own maps.
    assert window.side_a.attention_panel.image.image.shape == (7, 7)
    assert window.side_b.attention_panel.image.image.shape == (9, 9)

    pairs = comparison.alignment.pairs[:, 0], comparison.alignment.pairs[:, 1]
    np.testing.assert_array_equal(
        window.norms_diff_panel.image.image,
        comparison.b.hidden_norms[:, pairs[1]] - comparison.a.hidden_norms[:, pairs[0]],
    )
    assert '"python" in A' in window.norms_diff_panel.caption.text()

    window.compare.a.set_token(5)  # "python" has no partner in B: "ana" is in its place
    assert window.compare.b.token == 5
    assert not window.norms_diff_panel._token_outline.isVisible()
    assert "no identical token in B" in window.similarity_panel.caption.text()
    assert window.similarity_panel.token_curve.getData()[0] is None or not len(
        window.similarity_panel.token_curve.getData()[0]
    )
    window.compare.b.set_token(8)  # B's [SEP] pairs with A's [SEP]
    assert window.compare.a.token == 6

    window.set_inputs(PYTHON, SNAKE)  # and back: the difference map returns
    wait_for_comparison(qtbot, window, SNAKE)
    assert not panel.shows_message


def test_an_empty_side_says_so_and_the_window_stays_usable(qtbot, compare_window):
    window = compare_window
    with qtbot.waitSignal(window.controller.result_ready, timeout=TIMEOUT_MS):
        window.set_inputs(PYTHON, "   ")
    assert window.message_bar.level is Level.WARNING
    assert "Sentence B is empty" in window.message_bar.text()
    assert window.compare.a.result.text == PYTHON
    assert window.compare.b.result is None
    assert window.attention_diff_panel.shows_message
    assert "Sentence B is empty" in window.attention_diff_panel.message.text()
    assert window.norms_diff_panel.shows_message

    window.set_inputs("", "")
    assert window.compare.a.result is None and window.compare.b.result is None
    assert "Type a sentence in A and one in B" in window.message_bar.text()

    window.set_inputs(PYTHON, SNAKE)
    wait_for_comparison(qtbot, window, SNAKE)
    assert not window.attention_diff_panel.shows_message
    assert window.message_bar.level is None


def test_one_side_failing_keeps_the_other_and_says_which(qtbot, compare_window, monkeypatch):
    real = inference_module.run_inference_with_views

    def failing(loaded, text, *args, **options):
        if text == "boom":
            raise InputTextError("this sentence cannot be tokenized")
        return real(loaded, text, *args, **options)

    monkeypatch.setattr(inference_module, "run_inference_with_views", failing)
    window = compare_window
    with qtbot.waitSignal(window.controller.inference_failed, timeout=TIMEOUT_MS):
        window.set_inputs(PYTHON, "boom")
    assert window.message_bar.level is Level.ERROR
    assert (
        "Sentence B could not be run: this sentence cannot be tokenized"
        in window.message_bar.text()
    )
    assert window.compare.a.result.text == PYTHON
    assert window.compare.b.result is None
    assert window.attention_diff_panel.shows_message

    window.set_inputs(PYTHON, SNAKE)
    wait_for_comparison(qtbot, window, SNAKE)
    assert window.message_bar.level is None


def test_a_failing_comparison_is_reported_and_the_sides_stay(qtbot, compare_window, monkeypatch):
    def broken(a, b, *, with_attention=True):
        raise compare_module.CompareError("these two cannot be compared")

    monkeypatch.setattr(compare_module, "compare_results", broken)
    window = compare_window
    with qtbot.waitSignal(window.controller.analysis_failed, timeout=TIMEOUT_MS):
        window.set_inputs(PYTHON, "I love my pet dog")
    assert "The comparison failed: these two cannot be compared" in window.message_bar.text()
    assert window.compare.b.result.text == "I love my pet dog"
    assert window.norms_diff_panel.shows_message
    assert "cannot be compared" in window.similarity_panel.summary.text()


def test_only_the_newest_inputs_are_shown(qtbot, compare_window):
    window = compare_window
    window.set_inputs(PYTHON, "I love my pet dog")
    window.set_inputs(PYTHON, "I love my pet cat")
    comparison = wait_for_comparison(qtbot, window, "I love my pet cat")
    assert window.compare.b.result is comparison.b
    assert window.side_b.header.text().startswith('B: "I love my pet cat"')


def test_identical_sentences_say_every_difference_is_zero(qtbot, compare_window):
    window = compare_window
    window.set_inputs(SNAKE, SNAKE)
    wait_for_comparison(qtbot, window, SNAKE)
    assert "every difference is 0" in window.message_bar.text()
    assert not window.attention_diff_panel.image.image.any()


def test_a_model_that_fails_to_load_is_explained(qtbot, tmp_path):
    controller = ModelController()  # a worker with no model at all
    window = CompareWindow(controller.client(), PYTHON, SNAKE)
    qtbot.addWidget(window)
    with qtbot.waitSignal(window.controller.load_failed, timeout=TIMEOUT_MS):
        controller.request_load(ModelSource.parse(str(tmp_path / "missing")))
        window.show()
    assert window.message_bar.level is Level.ERROR
    assert "does not exist" in window.message_bar.text()
    assert "does not exist" in window.attention_diff_panel.message.text()
    window.swap()  # still usable: no crash, the message stays
    assert window.message_bar.level is Level.ERROR
    window.close()
    controller.shutdown()
    assert not running_worker_threads()


def test_closing_leaves_the_shared_worker_to_the_main_window(qtbot, window, compare_window):
    compare_window.close()
    assert running_worker_threads() == [window.controller._thread]
    window.input_bar.set_inputs("still here")
    window.run_now()
    wait_for_result(qtbot, window, "still here")
    window.close()
    assert not running_worker_threads()


def test_compare_runs_on_the_main_windows_worker_and_model(qtbot, window):
    window.input_bar.set_inputs(PYTHON, SNAKE)
    window.run_now()
    wait_for_result(qtbot, window, PYTHON)
    threads = running_worker_threads()
    assert len(threads) == 1
    action = window._add_compare_action(QMenu(window))
    action.trigger()
    compare = window.findChildren(CompareWindow)[0]
    wait_for_comparison(qtbot, compare, SNAKE)
    assert running_worker_threads() == threads  # no second worker, so no second model
    model = window.state.result.model  # the ModelInfo object of the one model loaded
    assert compare.compare.a.result.model is model and compare.compare.b.result.model is model
    assert compare.compare.a.model_info is window.state.model_info


def test_main_window_edits_do_not_drop_the_compare_windows_results(qtbot, window, compare_window):
    """Latest wins within a window's client only: both windows get their newest result."""
    dog = "I love my pet dog"
    with qtbot.waitSignals(
        [compare_window.controller.analysis_ready, window.controller.result_ready],
        check_params_cbs=[
            lambda outcome: outcome.name == "compare" and outcome.payload.b.text == dog,
            lambda outcome: outcome.result.text == "main edit 4",
        ],
        timeout=TIMEOUT_MS,
    ):
        compare_window.set_inputs(PYTHON, dog)
        for i in range(5):  # typing in the main window while the compare chain runs
            window.input_bar.set_inputs(f"main edit {i}")
            window.run_now()
    assert compare_window.compare.comparison.b.text == dog
    assert window.state.result.text == "main edit 4"


def test_the_compare_window_follows_a_model_loaded_in_the_main_window(
    qtbot, window, compare_window, tiny_model_dir
):
    before = compare_window.compare.b.result.model
    status: list[str] = []  # what the compare window's status bar says when the load starts
    compare_window.controller.load_started.connect(
        lambda _label: status.append(compare_window.statusBar().currentMessage())
    )
    with qtbot.waitSignal(compare_window.controller.model_loaded, timeout=TIMEOUT_MS) as loaded:
        window.load_model(ModelSource.parse(str(tiny_model_dir)))
    assert status and status[0].startswith("Loading folder:"), status
    comparison = wait_for_comparison(qtbot, compare_window, SNAKE)
    assert comparison.b.model is loaded.args[0] is not before  # run again, on the new model
    assert compare_window.compare.a.model_info is window.state.model_info


def test_the_main_window_action_opens_compare_and_closing_main_closes_it(qtbot, window):
    window.input_bar.set_inputs(PYTHON, SNAKE)
    menu = QMenu(window)
    action = window._add_compare_action(menu)
    assert action in menu.actions()
    action.trigger()
    opened = window.findChildren(CompareWindow)
    assert len(opened) == 1
    compare = opened[0]
    assert (compare.input_a.text(), compare.input_b.text()) == (PYTHON, SNAKE)
    assert compare.isVisible() and compare.isWindow()
    wait_for_comparison(qtbot, compare, SNAKE)
    assert compare.model_label.text().startswith(window.state.model_info.source)
    window.close()
    assert not running_worker_threads()


def test_the_difference_panels_are_views_of_the_compare_state(qtbot, tiny_model):
    from explorer.core.compare import compare_results
    from explorer.core.inference import run_inference
    from explorer.core.views import build_views
    from explorer.gui.panels.compare.attention import CompareAttentionPanel
    from explorer.gui.panels.compare.norms import CompareNormsPanel
    from explorer.gui.state.compare_state import CompareState

    a, b = run_inference(tiny_model, PYTHON), run_inference(tiny_model, SNAKE)
    state = CompareState()
    attention = CompareAttentionPanel(state)
    norms = CompareNormsPanel(state)
    for widget in (attention, norms):
        qtbot.addWidget(widget)
    assert attention.shows_message and "Type a sentence in A" in attention.message.text()

    state.set_results((a, build_views(a)), (b, build_views(b)), "Computing…")
    assert norms.shows_message and norms.message.text() == "Computing…"
    state.b.set_layer(2)
    state.a.set_head(1)
    np.testing.assert_array_equal(attention.image.image, b.attentions[2, 1] - a.attentions[2, 1])
    attention._on_cell_hovered(5, 0)
    assert attention.readout.text().startswith(
        'B − A · layer 3 · head 2 · "python|snake" → "[CLS]"'
    )

    state.set_comparison(compare_results(a, b, with_attention=False))
    assert not norms.shows_message
    np.testing.assert_array_equal(norms.image.image, b.hidden_norms - a.hidden_norms)
    norms._on_cell_clicked(1, 4, None)  # row 1 = output of layer 1
    assert (state.a.token, state.b.token, state.a.layer, state.b.layer) == (4, 4, 0, 0)
    assert norms._token_outline.rect().left() == 4

    stale = compare_results(a, run_inference(tiny_model, "I love my pet dog"))
    state.set_comparison(stale)  # not of the results on show: ignored
    assert state.comparison.b is b


def test_difference_axes_keep_the_selected_pair_and_never_overlap(qtbot, compare_window):
    from tests.gui.conftest import axis_draw_specs

    window = compare_window
    window.resize(700, 600)
    window.compare.a.set_token(5)  # "python|snake": wider than its cell
    axes = [
        (window.attention_diff_panel.heatmap, "left"),
        (window.attention_diff_panel.heatmap, "bottom"),
        (window.norms_diff_panel.heatmap, "bottom"),
    ]
    for plot_widget, side in axes:
        plot_widget.grab()  # lay out and paint, so the cells have their size on screen
        axis = plot_widget.getPlotItem().getAxis(side)
        qtbot.waitUntil(lambda axis=axis: (5.5, "▸python|snake") in (axis._tickLevels or [[]])[0])
        _, _, texts = axis_draw_specs(axis)
        assert "▸python|snake" in [text for *_, text in texts]
        rects = [rect for rect, *_ in texts]
        assert not any(a.intersects(b) for i, a in enumerate(rects) for b in rects[i + 1 :])


def test_each_sides_overview_shows_the_chosen_block(qtbot, compare_window):
    """Each side's block mosaic is made by the worker, on that side's stream of the client."""
    import threading

    import explorer.core.analysis.blocks as blocks
    import explorer.core.analysis.registry as registry
    from explorer.core.analysis.blocks import block_mask, token_segments
    from explorer.core.views import attention_mosaic

    window = compare_window
    made_in: list[int] = []  # the threads the mosaics were made in
    real = blocks.block_mosaic_analysis

    def recording(loaded, result, params):
        made_in.append(threading.get_ident())
        return real(loaded, result, params)

    spec = registry.ANALYSES[blocks.BLOCK_MOSAIC]
    with pytest.MonkeyPatch.context() as patch:
        patch.setitem(registry.ANALYSES, blocks.BLOCK_MOSAIC, type(spec)(recording))
        with qtbot.waitSignals(
            [window.controller.analysis_ready] * 2,
            check_params_cbs=[
                lambda outcome: (outcome.name, outcome.stream) == (blocks.BLOCK_MOSAIC, "a"),
                lambda outcome: (outcome.name, outcome.stream) == (blocks.BLOCK_MOSAIC, "b"),
            ],
            timeout=TIMEOUT_MS,
        ):
            window.compare.lens_a.set_block("B→B")  # one sentence a side: nothing is left
    assert len(made_in) == 2
    assert threading.main_thread().ident not in made_in  # never on the GUI thread
    for side, panels in (("a", window.side_a), ("b", window.side_b)):
        result = window.compare.side(side).result
        segments = token_segments(result.sequence_ids)
        mask = block_mask(segments, segments, "B→B")
        expected = attention_mosaic(np.where(mask, result.attentions, np.float32(0)))
        overview = panels.attention_panel.overview_image
        np.testing.assert_array_equal(overview.image, expected)
        assert overview.opacity() == 1.0
        title = panels.attention_panel.overview.getPlotItem().titleLabel.text
        assert title.endswith("B→B only")
