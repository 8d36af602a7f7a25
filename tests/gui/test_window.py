"""The whole window: typing, linking across panels, stale results, closing, bad models."""

from __future__ import annotations

import json

import numpy as np
from PySide6.QtCore import QPointF, Qt

from explorer.gui.widgets.message_bar import Level
from explorer.gui.windows.main_window import EMPTY_HINT, MainWindow
from explorer.gui.worker.model_worker import running_worker_threads
from tests.gui.conftest import TIMEOUT_MS, wait_for_result

SINAN = "Sinan loves a beautiful day"


def click_cell(qtbot, plot_widget, image_item, row: int, col: int, modifier=None) -> None:
    """Click the centre of a heatmap cell the way a user would."""
    plot_widget.grab()  # paint once so the view's lazy auto-range has settled
    scene_point = image_item.mapToScene(QPointF(col + 0.5, row + 0.5))
    widget_point = plot_widget.mapFromScene(scene_point)
    modifiers = modifier if modifier is not None else Qt.KeyboardModifier.NoModifier
    qtbot.mouseClick(plot_widget.viewport(), Qt.MouseButton.LeftButton, modifiers, widget_point)


def test_typing_fills_all_four_panels(qtbot, window):
    qtbot.keyClicks(window.input_bar.sentence_a, SINAN)
    result = wait_for_result(qtbot, window, SINAN)
    assert result.tokens.tolist()[:3] == ["[CLS]", "sin", "##an"]
    count = result.num_tokens
    assert window.tokens_panel.table.model().rowCount() == count
    assert window.attention_panel.image.image.shape == (count, count)
    assert window.attention_panel.image.image.dtype == np.float32
    assert window.attention_panel.overview_image.image.shape == (4 * count, 4 * count)
    assert window.norms_panel.image.image.shape == (5, count)
    xs, ys = window.pooled_panel.curve.getData()
    assert len(xs) == 32
    np.testing.assert_allclose(ys, result.pooler_output)
    assert "32 dims" in window.pooled_panel.summary.text()


def test_enter_runs_without_waiting_for_the_debounce(qtbot, window):
    window.input_bar.sentence_a.setPlainText("hello world")
    with qtbot.waitSignal(window.controller.result_ready, timeout=TIMEOUT_MS):
        qtbot.keyClick(window.input_bar.sentence_a, Qt.Key.Key_Return)
    assert window.state.result.text == "hello world"


def test_selecting_a_table_row_updates_every_panel(qtbot, window):
    window.input_bar.set_inputs(SINAN)
    result = wait_for_result(qtbot, window, SINAN)
    window.tokens_panel.table.selectRow(3)
    assert window.state.token == 3
    assert window.attention_panel._row_outline.rect().top() == 3
    assert window.attention_panel._col_outline.rect().left() == 3
    assert window.norms_panel._token_outline.rect().left() == 3
    _, ys = window.norms_panel.curve.getData()
    np.testing.assert_allclose(ys, result.hidden_norms[:, 3])
    assert window.input_bar.sentence_a.highlighted_text() == "loves"
    bottom_ticks = window.attention_panel.heatmap.getPlotItem().getAxis("bottom")._tickLevels
    assert (3.5, "▸loves") in bottom_ticks[0]


def test_heatmap_and_norms_clicks_select_tokens_and_layers(qtbot, window):
    window.input_bar.set_inputs(SINAN)
    wait_for_result(qtbot, window, SINAN)
    panel = window.attention_panel
    click_cell(qtbot, panel.heatmap, panel.image, row=5, col=2)
    assert window.state.token == 5
    assert window.tokens_panel.table.selectionModel().selectedRows()[0].row() == 5
    click_cell(qtbot, panel.heatmap, panel.image, 5, 2, Qt.KeyboardModifier.ShiftModifier)
    assert window.state.token == 2

    norms = window.norms_panel
    click_cell(qtbot, norms.heatmap, norms.image, row=3, col=6)
    assert window.state.token == 6
    assert window.state.layer == 2  # row 3 is the output of the third layer
    assert panel.layer_combo.currentIndex() == 2


def test_overview_click_selects_layer_and_head(qtbot, window):
    window.input_bar.set_inputs(SINAN)
    result = wait_for_result(qtbot, window, SINAN)
    panel = window.attention_panel
    tile = window.state.views.mosaic_tile
    click_cell(qtbot, panel.overview, panel.overview_image, row=2 * tile + 1, col=3 * tile + 1)
    assert (window.state.layer, window.state.head) == (2, 3)
    assert panel.head_combo.currentText() == "Head 4"
    np.testing.assert_array_equal(panel.image.image, result.attentions[2, 3])


def test_layer_and_head_combos_drive_the_state_and_back(qtbot, window):
    window.input_bar.set_inputs(SINAN)
    result = wait_for_result(qtbot, window, SINAN)
    panel = window.attention_panel
    panel.layer_combo.setCurrentIndex(1)
    panel.head_combo.setCurrentIndex(0)
    assert window.state.layer == 1 and window.state.head == -1
    np.testing.assert_allclose(panel.image.image, result.attentions[1].mean(axis=0), atol=1e-6)
    window.state.set_head(2)
    assert panel.head_combo.currentText() == "Head 3"
    assert window.norms_panel.layer_line.value() == 2


def test_hover_readout_names_layer_head_and_tokens(qtbot, window):
    window.input_bar.set_inputs(SINAN)
    result = wait_for_result(qtbot, window, SINAN)
    window.state.set_layer(2)
    window.state.set_head(1)
    window.attention_panel._on_cell_hovered(3, 6)
    expected = f'layer 3 · head 2 · "loves" → "day" = {result.attentions[2, 1, 3, 6]:.3f}'
    assert window.attention_panel.readout.text() == expected


def test_ten_fast_edits_show_only_the_last_result(qtbot, window):
    shown: list[str] = []
    window.state.result_changed.connect(
        lambda: shown.append(window.state.result.text if window.state.result else "")
    )
    final = "edit number 9"
    for i in range(10):
        window.input_bar.sentence_a.setPlainText(f"edit number {i}")
        window.run_now()
    wait_for_result(qtbot, window, final)
    assert shown == [final]
    assert window.state.result.text == final


def test_typing_is_debounced_into_one_run(qtbot, window):
    requested: list[int] = []
    window.controller.result_ready.connect(lambda outcome: requested.append(outcome.request_id))
    qtbot.keyClicks(window.input_bar.sentence_a, "a quick brown fox")
    wait_for_result(qtbot, window, "a quick brown fox")
    assert len(requested) == 1


def banner_on_screen(qtbot, window) -> bool:
    """The message bar is really drawn: visible, with room for its text, inside the window."""
    bar = window.message_bar
    qtbot.wait(1)  # let the toolbar lay out
    shown = bar.visibleRegion().boundingRect()  # what the window does not clip away
    return (
        bar.isVisible()
        and shown.height() >= bar.label.sizeHint().height()
        and shown.width() >= bar.label.sizeHint().width()
    )


def test_messages_appear_on_screen_and_go_away(qtbot, window):
    window.message_bar.clear()
    qtbot.waitUntil(lambda: not banner_on_screen(qtbot, window))
    window.message_bar.show_message("Something to say", Level.WARNING)
    qtbot.waitUntil(lambda: banner_on_screen(qtbot, window))
    for level, background in ((Level.WARNING, "#fff1c2"), (Level.ERROR, "#ffd9d9")):
        window.message_bar.show_message("Something to say", level)  # the shipped style sheet
        corner = window.message_bar.grab().toImage().pixelColor(2, 2)
        assert corner.name() == background
    window.message_bar.close_button.click()
    qtbot.waitUntil(lambda: not window.message_bar.isVisible())
    assert window.message_bar.text() == ""


def test_empty_input_clears_panels_and_shows_a_hint(qtbot, window):
    window.input_bar.set_inputs(SINAN)
    wait_for_result(qtbot, window, SINAN)
    window.input_bar.set_inputs("   ")
    window.run_now()
    assert window.state.result is None
    assert window.tokens_panel.table.model().rowCount() == 0
    assert window.attention_panel.image.image is None
    assert window.message_bar.text() == EMPTY_HINT
    qtbot.waitUntil(lambda: banner_on_screen(qtbot, window))
    # Nothing from the last sentence is left around the empty plots.
    attention, norms = window.attention_panel, window.norms_panel
    for plot_widget in (attention.heatmap, attention.overview, norms.heatmap):
        for side in ("left", "bottom"):
            levels = plot_widget.getPlotItem().getAxis(side)._tickLevels or [[]]
            assert levels == [[]], (plot_widget, side, levels)
    assert attention.block_table_texts() == [["—", "—"], ["—", "—"]]
    assert norms.curve_plot.getPlotItem().titleLabel.text == ""
    assert attention.heatmap.getPlotItem().titleLabel.text == ""


def test_the_hover_read_out_follows_the_layer_under_a_still_pointer(qtbot, window):
    window.input_bar.set_inputs(SINAN)
    window.run_now()
    result = wait_for_result(qtbot, window, SINAN)
    panel, state = window.attention_panel, window.state
    state.set_head(1)
    state.set_layer(0)
    panel.image.cell_hovered.emit(2, 3)
    first = panel.readout.text()
    assert f"{result.attentions[0, 1, 2, 3]:.3f}" in first
    state.set_layer(2)  # the pointer has not moved
    assert f"{result.attentions[2, 1, 2, 3]:.3f}" in panel.readout.text()
    assert panel.readout.text() != first
    panel.image.cell_hovered.emit(-1, -1)
    assert "Hover" in panel.readout.text()


def test_long_input_shows_a_truncation_notice(qtbot, window):
    text = "word " * 600
    window.input_bar.set_inputs(text)
    window.run_now()
    result = wait_for_result(qtbot, window, text)
    assert result.num_tokens == 512
    assert window.message_bar.level is Level.WARNING
    assert f"{600 + 2 - 512} tokens were dropped" in window.message_bar.text()
    assert window.attention_panel.image.image.shape == (512, 512)


def test_bad_model_source_keeps_the_old_model(qtbot, window, tmp_path):
    old_info = window.state.model_info
    (tmp_path / "bart").mkdir()
    (tmp_path / "bart" / "config.json").write_text(json.dumps({"model_type": "bart"}))
    for bad, expected in (
        (tmp_path / "missing", "does not exist"),
        (tmp_path / "bart", "'bart' model"),
    ):
        window.input_bar.model_combo.setEditText(str(bad))
        with qtbot.waitSignal(window.controller.load_failed, timeout=TIMEOUT_MS):
            window.input_bar.load_button.click()
        assert expected in window.message_bar.text()
        assert "Still using" in window.message_bar.text()
        qtbot.waitUntil(lambda: banner_on_screen(qtbot, window))
        assert window.state.model_info == old_info
    window.input_bar.set_inputs(SINAN)
    result = wait_for_result(qtbot, window, SINAN)
    assert result.model == old_info


def test_unparseable_source_says_so(qtbot, window):
    window.input_bar.model_combo.setEditText("not a model id")
    window.input_bar.load_button.click()
    assert "neither an existing folder nor" in window.message_bar.text()


def test_closing_during_a_run_stops_the_worker(qtbot, tiny_model_dir):
    from explorer.core.sources import ModelSource

    main = MainWindow(source=ModelSource.parse(str(tiny_model_dir)), text="word " * 500)
    main.show()
    with qtbot.waitSignal(main.controller.busy_changed, timeout=TIMEOUT_MS):
        pass
    main.close()
    assert not running_worker_threads()
    assert not main.controller._thread.isRunning()


def test_busy_indicator_shows_only_for_work_that_takes_a_while(qtbot):
    from PySide6.QtWidgets import QMainWindow

    from explorer.gui.widgets.message_bar import BUSY_DELAY_MS, add_model_status

    main = QMainWindow()
    qtbot.addWidget(main)
    _label, busy = add_model_status(main.statusBar(), "model")
    main.show()
    busy.set_busy(True)
    assert busy.showing_soon and not busy.isVisible()
    busy.set_busy(False)  # a quick result: nothing will show
    assert not busy.showing_soon and not busy.isVisible()
    busy.set_busy(True)
    qtbot.waitUntil(busy.isVisible, timeout=BUSY_DELAY_MS * 5)
    assert "Working" in busy.text()
    busy.set_busy(False)
    assert not busy.isVisible()


def test_the_default_layout_gives_the_maps_the_room(qtbot, window):
    window.resize(1500, 950)
    window.build_panels()
    window._size_docks()
    docks = window.docks
    qtbot.waitUntil(
        lambda: docks["tokens"].width() < docks["attention"].width() < docks["norms"].width()
    )
    assert docks["tokens"].width() < 0.25 * window.width()


def test_a_token_picked_elsewhere_is_scrolled_into_sight_in_the_text(qtbot, window):
    text = " ".join(f"word{i}" for i in range(150))
    window.input_bar.set_inputs(text)
    window.run_now()
    result = wait_for_result(qtbot, window, text)
    field = window.input_bar.sentence_a
    field.verticalScrollBar().setValue(0)
    assert field.verticalScrollBar().maximum() > 0  # the text is taller than the field
    last = result.num_tokens - 2  # the last word piece before [SEP]
    caret = field.textCursor().position()
    window.state.set_token(last)
    start = int(result.offsets[last][0])
    assert field.highlighted_text() == text[start : int(result.offsets[last][1])]
    cursor = field.textCursor()
    cursor.setPosition(start)
    assert field.viewport().rect().contains(field.cursorRect(cursor).center())
    assert field.textCursor().position() == caret  # scrolled, not moved


def test_a_pair_block_overview_comes_from_the_worker(qtbot, window, monkeypatch):
    import threading

    import explorer.core.analysis.blocks as blocks_module
    from explorer.core.analysis.blocks import BLOCK_MOSAIC, block_mask, token_segments
    from explorer.core.views import attention_mosaic
    from explorer.gui.panels.main.attention import PENDING_OPACITY

    window.input_bar.set_inputs(SINAN, "Is it a snake?")
    window.run_now()
    result = wait_for_result(qtbot, window, SINAN)
    segments = token_segments(result.sequence_ids)
    mask = block_mask(segments, segments, "A→B")
    expected = attention_mosaic(np.where(mask, result.attentions, np.float32(0)))  # the old way
    full_size = result.attentions.size

    # Record every big np.where and every block mosaic, with the thread that made it.
    big_wheres: list[str] = []
    mosaics: list[str] = []
    real_where, real_mosaic = np.where, blocks_module.attention_mosaic

    def where(*args):
        if any(np.size(arg) >= full_size for arg in args):
            big_wheres.append(threading.current_thread().name)
        return real_where(*args)

    def mosaic(*args, **kwargs):
        mosaics.append(threading.current_thread().name)
        return real_mosaic(*args, **kwargs)

    monkeypatch.setattr(np, "where", where)
    monkeypatch.setattr(blocks_module, "attention_mosaic", mosaic)

    panel, state = window.attention_panel, window.state
    title = panel.overview.getPlotItem().titleLabel
    with qtbot.waitSignal(
        state.analysis_changed, timeout=TIMEOUT_MS, check_params_cb=lambda n: n == BLOCK_MOSAIC
    ):
        panel.lens_bar.block_combo.setCurrentText("A→B")
        # Until the worker answers: this sentence's raw mosaic, faded and titled unfiltered.
        np.testing.assert_array_equal(panel.overview_image.image, state.views.mosaic)
        assert panel.overview_image.opacity() == PENDING_OPACITY
        assert "unfiltered until A→B is ready" in title.text
    np.testing.assert_array_equal(panel.overview_image.image, expected)
    assert panel.overview_image.opacity() == 1.0
    assert title.text.endswith("A→B only")
    main = threading.main_thread().name
    assert mosaics and main not in mosaics  # built in the worker thread
    assert big_wheres == []  # nowhere a masked copy of the whole (L, H, T, T) array

    panel.lens_bar.block_combo.setCurrentText("All")  # the raw mosaic at once
    np.testing.assert_array_equal(panel.overview_image.image, state.views.mosaic)
    assert not title.text.endswith("only")
