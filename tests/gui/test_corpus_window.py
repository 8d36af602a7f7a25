"""The Corpus window: the figures of an output, and a real run of the command in a child."""

from __future__ import annotations

import time

import numpy as np
import pyqtgraph as pg
import pytest
from PySide6.QtCore import QPoint, QRect, Qt
from PySide6.QtWidgets import QMessageBox

from explorer.core.corpus.files import checkpoint_path
from explorer.core.corpus.run import CorpusOptions, run_corpus
from explorer.gui.controllers.corpus_run import for_the_window
from explorer.gui.panels.corpus.view import NO_MAP, PLACEHOLDER, POINT_SIZE
from explorer.gui.windows.corpus_action import STOPPING
from explorer.gui.windows.corpus_window import CorpusWindow
from tests.gui.conftest import TIMEOUT_MS
from tests.gui.test_window import click_cell

LINES = ["The bank is closed.", "A python sleeps.\tIs it a snake?", "Rain again, said the bank."]


@pytest.fixture
def corpus(tmp_path):
    path = tmp_path / "corpus.txt"
    path.write_text("\n".join(LINES * 4) + "\n", encoding="utf-8")
    return path


@pytest.fixture
def corpus_window(qtbot, window):
    corpus = CorpusWindow(window.state, window)
    qtbot.addWidget(corpus)
    corpus.show()
    qtbot.waitExposed(corpus)
    return corpus


def run_in_window(qtbot, corpus_window, corpus, out, signal="finished"):
    """Fill the form, press Run and wait for the child's `signal`."""
    corpus_window.corpus_edit.setText(str(corpus))
    corpus_window.out_edit.setText(str(out))
    with qtbot.waitSignal(getattr(corpus_window.runner, signal), timeout=120_000):
        corpus_window.run()


def test_the_view_shows_every_figure_and_a_click_selects_the_head(
    qtbot, window, corpus_window, corpus, tmp_path, tiny_model
):
    out = tmp_path / "stats.npz"
    run = run_corpus(tiny_model, corpus, out, CorpusOptions(js=True))
    window.input_bar.set_inputs("The bank is closed.")
    window.run_now()
    with qtbot.waitSignal(window.state.result_changed, timeout=TIMEOUT_MS):
        pass
    corpus_window.resize(1200, 800)
    corpus_window.open_results(out)
    view = corpus_window.view
    # The head grid shares the height with the map, not a strip above it.
    for widget in (corpus_window.centralWidget(), view):
        widget.layout().activate()  # lay out now, with the captions' texts
    assert view.grid.height() >= 0.8 * view.map_plot.height() > 100
    np.testing.assert_array_equal(view.image.image, run.arrays["head_cls"])
    view.stat_combo.setCurrentIndex(view.stat_combo.findData("head_entropy"))
    np.testing.assert_array_equal(view.image.image, run.arrays["head_entropy"])
    assert view.map_positions.shape == (16, 2) and len(view.map_points.data) == 16

    click_cell(qtbot, view.grid, view.image, 2, 3)
    assert (window.state.layer, window.state.head) == (2, 3)
    heights = view.offsets_bars.opts["height"]
    np.testing.assert_array_equal(heights, run.arrays["head_offsets"][2, 3])
    # Numbered from 1, as the main window numbers layers and heads.
    assert view.offsets_plot.getPlotItem().titleLabel.text.endswith("layer 3 head 4")
    left_ticks = view.grid.getPlotItem().getAxis("left")._tickLevels[0]
    assert left_ticks[0] == (0.5, "1") and len(left_ticks) == run.arrays["head_cls"].shape[0]
    heads = run.arrays["head_cls"].shape[1]
    assert view._map_tip(0.0, 0.0, 2 * heads + 3) == "layer 3 · head 4"
    _, ys = view.anisotropy_curve.getData()
    np.testing.assert_allclose(ys, run.arrays["layer_anisotropy"])
    assert "12 segments" in view.summary.text()


def test_a_run_in_a_child_process_ends_in_the_view(qtbot, corpus_window, corpus, tmp_path):
    corpus_window.corpus_edit.setText(str(corpus))
    corpus_window.out_edit.setText(str(tmp_path / "run.npz"))
    corpus_window.batch_size.setValue(2)
    progress = []
    corpus_window.runner.progress_changed.connect(lambda *args: progress.append(args))
    with qtbot.waitSignal(corpus_window.runner.finished, timeout=120_000):
        corpus_window.run()
    assert progress and progress[-1][0] == 12
    assert corpus_window.progress.value() == 12
    with np.load(tmp_path / "run.npz") as data:
        np.testing.assert_array_equal(corpus_window.view.image.image, data["head_cls"])
    assert corpus_window.run_button.isEnabled() and not corpus_window.cancel_button.isEnabled()


def test_a_failed_run_says_why(qtbot, corpus_window, tmp_path):
    empty = tmp_path / "empty.txt"
    empty.write_text("", encoding="utf-8")
    corpus_window.progress.setRange(0, 12)
    corpus_window.progress.setValue(12)  # an earlier run's end
    run_in_window(qtbot, corpus_window, empty, tmp_path / "o.npz", "failed")
    assert "is empty" in corpus_window.status.text()
    assert corpus_window.progress.value() < corpus_window.progress.minimum()  # no old count
    # Nothing was on show: the figures no longer say a run is going on.
    assert corpus_window.view.body.message.text() == PLACEHOLDER


def start_a_long_run(qtbot, corpus_window, tmp_path):
    """Start a run of 3000 segments, one a batch; return its output path at its first line."""
    big = tmp_path / "big.txt"
    big.write_text("\n".join(LINES * 1000) + "\n", encoding="utf-8")
    out = tmp_path / "big.npz"
    corpus_window.corpus_edit.setText(str(big))
    corpus_window.out_edit.setText(str(out))
    corpus_window.batch_size.setValue(1)
    with qtbot.waitSignal(corpus_window.runner.progress_changed, timeout=120_000):
        corpus_window.run()
    return out


def test_cancel_checkpoints_and_run_resumes(qtbot, corpus_window, tmp_path):
    out = start_a_long_run(qtbot, corpus_window, tmp_path)
    runner = corpus_window.runner
    with qtbot.waitSignal(runner.cancelled, timeout=120_000) as cancelled:
        corpus_window.cancel_button.click()
    assert "Press Run again to resume" in cancelled.args[0]
    assert checkpoint_path(out).exists() and not out.exists()
    assert corpus_window.view.body.message.text() == PLACEHOLDER


def test_closing_the_window_keeps_the_run_and_the_main_window_stops_it(
    qtbot, window, corpus_window, tmp_path
):
    out = start_a_long_run(qtbot, corpus_window, tmp_path)
    runner = corpus_window.runner
    started = time.monotonic()
    corpus_window.close()
    assert not corpus_window.isVisible() and runner.running and not runner.stopping
    window.close()
    assert time.monotonic() - started < 2.0  # neither close waits for the child
    assert window.isVisible() and runner.stopping
    assert window.message_bar.label.text() == STOPPING
    with qtbot.waitSignal(runner.ended, timeout=120_000):
        pass
    qtbot.waitUntil(lambda: not window.isVisible(), timeout=TIMEOUT_MS)
    assert checkpoint_path(out).exists() and not out.exists()  # the run resumes next time


def test_the_commands_flags_are_named_as_the_form_names_them():
    message = (
        "Cannot resume from the checkpoint /t/o.partial.npz: it belongs to another run: they "
        "differ in --max-length (512 vs 256), --batch-size (16 vs 8) and --js (on vs off). "
        "Delete it to start afresh, or give another --out."
    )
    assert for_the_window(message) == (
        "Cannot resume from the checkpoint /t/o.partial.npz: it belongs to another run: they "
        "differ in Max length (512 vs 256), Batch size (16 vs 8) and Jensen–Shannon (on vs "
        "off). Start afresh deletes it; or choose another Output."
    )
    assert for_the_window("--out /x is a folder; give a file name.") == (
        "Output /x is a folder; give a file name."
    )


def test_a_checkpoint_of_another_run_can_be_deleted_to_start_afresh(
    qtbot, corpus_window, corpus, tmp_path, tiny_model, monkeypatch
):
    out = tmp_path / "o.npz"
    run_corpus(tiny_model, corpus, out, CorpusOptions(max_length=32))
    out.rename(checkpoint_path(out))  # a finished output where a checkpoint belongs
    assert not corpus_window.afresh_button.isVisible()
    run_in_window(qtbot, corpus_window, corpus, out, "failed")
    status = corpus_window.status.text()
    assert "Cannot resume from the checkpoint" in status and "--" not in status
    assert corpus_window.afresh_button.isVisible()
    asked = []

    def question(*args, **_kwargs):
        asked.append(args[2])
        return QMessageBox.StandardButton.Yes

    monkeypatch.setattr(QMessageBox, "question", question)
    with qtbot.waitSignal(corpus_window.runner.finished, timeout=120_000):
        corpus_window.afresh_button.click()
    assert str(checkpoint_path(out)) in asked[0]
    assert out.exists() and not checkpoint_path(out).exists()
    assert not corpus_window.afresh_button.isVisible()


def test_the_file_menu_opens_the_corpus_window(qtbot, window):
    actions = [a for a in window.menuBar().actions() if a.text() == "&File"]
    entry = next(a for a in actions[0].menu().actions() if a.text() == "Analyse a &corpus…")
    entry.trigger()
    opened = [w for w in window.findChildren(CorpusWindow)]
    assert len(opened) == 1 and opened[0].isVisible()
    entry.trigger()
    assert len(window.findChildren(CorpusWindow)) == 1
    opened[0].close()


def test_the_corpus_window_opens_in_the_look_on_show(qtbot, window):
    from explorer.gui.style.theme import BASE_POINT_SIZE, THEMES

    window.look.set_theme("dark")
    window.look.set_font_scale(1.5)
    entry = next(
        a for a in window.menuBar().actions()[0].menu().actions() if a.text().startswith("Analyse")
    )
    entry.trigger()
    (corpus_window,) = window.findChildren(CorpusWindow)
    grid = corpus_window.view.grid
    assert grid.backgroundBrush().color() == pg.mkColor(THEMES["dark"].plot_background)
    axis = grid.getPlotItem().getAxis("left")
    assert axis.style["tickFont"].pointSizeF() == pytest.approx(BASE_POINT_SIZE * 1.5)
    assert not axis.autoSIPrefix
    corpus_window.close()


def test_the_summary_says_which_shards_it_holds():
    from explorer.gui.panels.corpus.view import _shards_text

    assert _shards_text({"shards": 1, "shards_merged": [1]}) == ""
    assert _shards_text({"shards": 3, "shards_merged": [1, 2, 3]}) == " · all 3 shards merged"
    assert _shards_text({"shards": 3, "shards_merged": [2]}) == " · shard 2 of 3 only"
    assert _shards_text({"shards": 3, "shards_merged": [1, 3]}) == " · shards 1, 3 of 3 only"


def test_opened_results_set_the_form_and_name_the_model(
    qtbot, corpus_window, corpus, tmp_path, tiny_model, tiny_model_dir
):
    out = tmp_path / "stats.npz"
    run_corpus(tiny_model, corpus, out, CorpusOptions(js=True, max_length=64, batch_size=3))
    corpus_window.corpus_edit.setText("/somewhere/else.txt")
    corpus_window.out_edit.setText("/somewhere/out.npz")
    corpus_window.js_box.setChecked(False)
    corpus_window.open_results(out)
    assert corpus_window.out_edit.text() == str(out)
    assert corpus_window.corpus_edit.text() == str(corpus)  # found beside the results
    assert corpus_window.max_length.value() == 64 and corpus_window.batch_size.value() == 3
    assert corpus_window.js_box.isChecked()
    summary = corpus_window.view.summary
    assert str(tiny_model_dir) not in summary.text()  # the folder's name, not its path
    assert f" · {tiny_model_dir.name} · " in summary.text()
    assert str(tiny_model_dir) in summary.toolTip()
    assert corpus_window.model_label.text().startswith(tiny_model_dir.name)


def test_the_figures_are_labelled_and_counts_agree_in_number(
    corpus_window, corpus, tmp_path, tiny_model
):
    from explorer.gui.panels.corpus.view import model_name

    out = tmp_path / "stats.npz"
    run = run_corpus(tiny_model, corpus, out, CorpusOptions(js=True))
    view = corpus_window.view
    corpus_window.open_results(out)
    layers = run.arrays["head_cls"].shape[0]
    assert view.map_note.text().count("■") == layers  # the map's layer colours
    offsets = view.offsets_plot.getPlotItem()
    assert offsets.getAxis("left").labelText == "mean attention"
    assert "offset j − i" in offsets.getAxis("bottom").labelText
    with np.load(out) as data:
        arrays = {key: data[key] for key in data.files}
    arrays["segments"], arrays["tokens"] = np.array(1), np.array(1)
    view.show_arrays(arrays)
    assert view.summary.text().startswith("1 segment, 1 token of ")
    assert model_name({"source": "embedded", "name_or_path": "/a/b/model"}).startswith(
        "embedded: all-MiniLM-L6-v2"
    )
    assert model_name({"source": "google/bert_uncased_L-2_H-128_A-2"}) == (
        "google/bert_uncased_L-2_H-128_A-2"
    )


def test_the_runs_notes_reach_the_window(qtbot, corpus_window, tmp_path):
    path = tmp_path / "notes.txt"
    path.write_text("One line.\n\nA\tb\tc\n", encoding="utf-8")
    run_in_window(qtbot, corpus_window, path, tmp_path / "n.npz")
    status = corpus_window.status.text()
    assert "note: 1 blank line was skipped" in status
    assert "note: 1 line (first: line 3) holds more than one tab" in status


def test_a_damaged_or_foreign_file_is_a_message(corpus_window, tmp_path):
    damaged = tmp_path / "cut.npz"
    damaged.write_bytes(b"PK\x03\x04 cut short")
    corpus_window.open_results(damaged)
    assert "is damaged or incomplete" in corpus_window.status.text()
    text = tmp_path / "notes.txt"
    text.write_text("not an archive\n", encoding="utf-8")
    foreign = tmp_path / "other.npz"
    np.savez(foreign, x=np.zeros(3))
    for path in (text, foreign):
        corpus_window.open_results(path)
        status = corpus_window.status.text()
        assert status.startswith(f"{path} is not a bert-explorer corpus file")
        assert "pickle" not in status


def test_a_hint_until_an_output_and_the_colour_bar_names_the_unit(
    corpus_window, corpus, tmp_path, tiny_model
):
    view = corpus_window.view
    assert view.body.shows_message and "open a corpus output" in view.body.message.text()
    out = tmp_path / "stats.npz"
    run_corpus(tiny_model, corpus, out, CorpusOptions())
    corpus_window.open_results(out)
    assert not view.body.shows_message
    units = {}
    for key in ("head_cls", "head_entropy", "head_distance"):
        view.stat_combo.setCurrentIndex(view.stat_combo.findData(key))
        units[key] = view.colorbar.getAxis("left").labelText
    assert units == {"head_cls": "share", "head_entropy": "nats", "head_distance": "tokens"}
    axis = view.layers_plot.getPlotItem().getAxis("left")
    assert axis.labelText == "cosine" and not axis.autoSIPrefix


def test_an_output_without_a_map_keeps_no_mark_of_the_one_before(
    corpus_window, window, corpus, tmp_path, tiny_model
):
    with_map, without = tmp_path / "js.npz", tmp_path / "plain.npz"
    run_corpus(tiny_model, corpus, with_map, CorpusOptions(js=True))
    run_corpus(tiny_model, corpus, without, CorpusOptions())
    view = corpus_window.view
    corpus_window.open_results(with_map)
    window.state.set_layer(1)
    window.state.set_head(2)
    assert len(view.map_selected.data) == 1
    corpus_window.open_results(without)
    assert len(view.map_selected.data) == 0 and len(view.map_points.data) == 0
    # The sentence, not empty axes, where the map would be.
    assert view.map_body.shows_message and view.map_body.message.text() == NO_MAP
    assert "tick Jensen–Shannon between heads and run again" in NO_MAP
    corpus_window.open_results(with_map)
    assert not view.map_body.shows_message


def test_the_selected_heads_ring_leaves_its_colour_seen(
    corpus_window, window, corpus, tmp_path, tiny_model
):
    out = tmp_path / "js.npz"
    run_corpus(tiny_model, corpus, out, CorpusOptions(js=True))
    view = corpus_window.view
    corpus_window.open_results(out)
    window.state.set_layer(1)
    window.state.set_head(2)
    (ring,) = view.map_selected.points()
    assert ring.brush().style() == Qt.BrushStyle.NoBrush
    assert POINT_SIZE < ring.size() <= 2 * POINT_SIZE


def test_undefined_numbers_are_gaps_and_said(corpus_window, window, corpus, tmp_path, tiny_model):
    out = tmp_path / "stats.npz"
    run_corpus(tiny_model, corpus, out, CorpusOptions())
    view = corpus_window.view
    window.state.set_layer(0)
    window.state.set_head(0)
    corpus_window.open_results(out)
    plot = view.offsets_plot.getPlotItem()
    assert view.offsets_note.isHidden()
    with np.load(out) as data:
        arrays = {key: data[key] for key in data.files}
    # Short segments: no row reaches the outer offsets; a larger profile than the last one.
    offsets = arrays["head_offsets"] * 4
    offsets[..., :3] = np.nan
    offsets[..., -3:] = np.nan
    arrays["head_offsets"] = offsets
    arrays["layer_self_similarity"] = np.full_like(arrays["layer_self_similarity"], np.nan)
    view.show_arrays(arrays)
    np.testing.assert_array_equal(view.offsets_bars.opts["x"], np.arange(-7, 8))
    np.testing.assert_array_equal(view.offsets_bars.opts["height"], offsets[0, 0, 3:-3])
    assert plot.getViewBox().viewRange()[1][1] >= np.nanmax(offsets[0, 0])
    assert not view.offsets_note.isHidden()
    assert view.offsets_note.text() == "offsets beyond ±7: no rows"
    assert view.offsets_plot.getPlotItem().getViewBox().viewRange()[0][0] < -10  # all across
    # No word frequent enough: a gap, not a line at 0, and the key says why.
    _, ys = view.self_curve.getData()
    assert np.isnan(ys).all() and view.self_curve.opts["connect"] == "finite"
    assert "no word was seen 5 times or more: no self-similarity" in view.layers_key.text()
    arrays["head_offsets"] = np.full_like(offsets, np.nan)
    view.show_arrays(arrays)
    assert len(view.offsets_bars.opts["height"]) == 0
    assert view.offsets_note.text() == "no offset has a row"


def test_every_statistic_is_coloured_up_to_its_largest_value(
    corpus_window, corpus, tmp_path, tiny_model
):
    out = tmp_path / "stats.npz"
    run = run_corpus(tiny_model, corpus, out, CorpusOptions())
    view = corpus_window.view
    corpus_window.open_results(out)
    for key in ("head_sep", "head_self", "head_entropy"):
        view.stat_combo.setCurrentIndex(view.stat_combo.findData(key))
        top = float(np.nanmax(run.arrays[key]))
        assert view.colorbar.levels() == pytest.approx((0.0, top))
        assert view.image.levels == pytest.approx([0.0, top])


def test_the_captions_wrap_within_their_column_at_a_large_font(
    qtbot, window, corpus, tmp_path, tiny_model
):
    out = tmp_path / "js.npz"
    run_corpus(tiny_model, corpus, out, CorpusOptions(js=True))
    window.look.set_font_scale(1.5)
    entry = next(
        a for a in window.menuBar().actions()[0].menu().actions() if a.text().startswith("Analyse")
    )
    entry.trigger()
    (corpus_window,) = window.findChildren(CorpusWindow)
    corpus_window.resize(1000, 800)
    corpus_window.open_results(out)
    view = corpus_window.view
    qtbot.waitUntil(lambda: view.map_note.height() >= 2 * view.map_note.fontMetrics().height())
    map_key, layers_key = (
        QRect(label.mapTo(view, QPoint(0, 0)), label.size())
        for label in (view.map_note, view.layers_key)
    )
    assert map_key.right() < layers_key.left()
    for label in (view.map_note, view.layers_key):  # every wrapped line is there
        assert label.height() >= label.heightForWidth(label.width())
    assert view.grid.height() >= 0.8 * view.map_plot.height() > 100
    corpus_window.close()
