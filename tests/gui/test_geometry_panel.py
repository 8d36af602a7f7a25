"""The Geometry tab: CKA, token cosines and anisotropy of the input on show, from the worker."""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg

from explorer.core.geometry import GEOMETRY_ANALYSIS, Geometry, geometry_of
from explorer.gui.panels.analysis.geometry import NO_ANISOTROPY
from tests.gui.conftest import TIMEOUT_MS, wait_for_result


def test_the_geometry_tab_draws_the_result_on_show(qtbot, window):
    text = "The river bank was muddy, and the bank was closed."
    window.input_bar.set_inputs(text)
    window.run_now()
    result = wait_for_result(qtbot, window, text)
    asked = []
    window.state.analysis_requested.connect(lambda name, _params: asked.append(name))
    panel = window.docks["geometry"].widget()
    with qtbot.waitSignal(
        window.state.analysis_changed,
        timeout=TIMEOUT_MS,
        check_params_cb=lambda name: name == GEOMETRY_ANALYSIS,
    ):
        window.docks["geometry"].raise_()
    assert asked == [GEOMETRY_ANALYSIS]
    _, payload = window.state.analysis(GEOMETRY_ANALYSIS)
    assert isinstance(payload, Geometry)
    expected = geometry_of(result)
    layers = result.num_layers + 1
    assert panel.cka_image.image.shape == (layers, layers)
    np.testing.assert_allclose(panel.cka_image.image, expected.cka)
    layer = window.state.layer + 1
    np.testing.assert_allclose(panel.cosine_image.image, expected.cosine[layer], atol=1e-6)
    _, ys = panel.anisotropy_curve.getData()
    np.testing.assert_allclose(ys, expected.anisotropy)
    window.state.set_layer(0)
    np.testing.assert_allclose(panel.cosine_image.image, expected.cosine[1], atol=1e-6)
    assert asked == [GEOMETRY_ANALYSIS]  # a layer change is drawn from the payload
    cka_rows = panel.cka_plot.getPlotItem().getAxis("left")._tickLevels[0]
    assert cka_rows[0] == (0.5, "0") and len(cka_rows) == layers  # 0 = the embeddings


def test_the_token_labels_follow_the_plot_size(qtbot, window):
    text = "The river bank was muddy, and the bank was closed after the long rainy winter."
    window.input_bar.set_inputs(text)
    window.run_now()
    result = wait_for_result(qtbot, window, text)
    panel = window.docks["geometry"].widget()
    with qtbot.waitSignal(window.state.analysis_changed, timeout=TIMEOUT_MS):
        window.docks["geometry"].raise_()
    axis = panel.cosine_plot.getPlotItem().getAxis("bottom")

    def labels_at(width: int, height: int) -> int:
        window.docks["geometry"].setFloating(True)
        window.docks["geometry"].resize(width, height)
        qtbot.waitUntil(lambda: abs(panel.width() - width) < 40, timeout=TIMEOUT_MS)
        qtbot.wait(0)  # let the view's resize signal reach the panel
        return len(axis._tickLevels[0])

    few = labels_at(300, 300)
    many = labels_at(1800, 1400)
    assert few < many <= result.num_tokens


def test_geometry_measures_by_hand(tiny_model):
    from explorer.core.inference import run_inference

    result = run_inference(tiny_model, "Stars twinkle at night.")
    geometry = geometry_of(result)
    states = result.hidden_states[2].astype(np.float64)
    unit = states / np.linalg.norm(states, axis=-1, keepdims=True)
    np.testing.assert_allclose(geometry.cosine[2], unit @ unit.T, atol=1e-6)
    content = unit[~result.special_tokens_mask]
    pairs = content @ content.T
    n = content.shape[0]
    expected = (pairs.sum() - np.trace(pairs)) / (n * (n - 1))
    assert abs(geometry.anisotropy[2] - expected) < 1e-6
    np.testing.assert_allclose(np.diag(geometry.cka), 1.0, atol=1e-5)


def test_the_token_map_fills_its_plot_with_a_label_on_every_row(qtbot, window):
    text = "The river bank was muddy, and the bank was closed."
    window.input_bar.set_inputs(text, "I sat by the bank of the river.")
    window.run_now()
    result = wait_for_result(qtbot, window, text)
    panel = window.docks["geometry"].widget()
    dock = window.docks["geometry"]
    dock.setFloating(True)
    dock.resize(700, 480)  # about the docked size in a 1600 × 1000 window
    with qtbot.waitSignal(window.state.analysis_changed, timeout=TIMEOUT_MS):
        dock.raise_()
    qtbot.waitUntil(lambda: not panel.body.shows_message, timeout=TIMEOUT_MS)
    qtbot.waitUntil(lambda: abs(panel.width() - 700) < 40, timeout=TIMEOUT_MS)
    plot = panel.cosine_plot.getPlotItem()
    n = result.num_tokens
    (x0, x1), (y0, y1) = plot.getViewBox().viewRange()
    assert (x0, x1, y0, y1) == (0, n, 0, n)  # no blank band beside the map
    rows = plot.getAxis("left")._tickLevels[0]
    assert [label for _, label in rows][1:] == [str(t) for t in result.tokens][1:]
    for widget in (panel.cka_plot, panel.cosine_plot):  # colour bars keep their numbers
        bar = next(i for i in widget.scene().items() if isinstance(i, pg.ColorBarItem))
        right = bar.axis.mapRectToScene(bar.axis.boundingRect()).right()
        assert right <= widget.width() + 1


def test_no_result_leaves_no_plot(qtbot, window):
    text = "Stars twinkle at night."
    window.input_bar.set_inputs(text)
    window.run_now()
    wait_for_result(qtbot, window, text)
    panel = window.docks["geometry"].widget()
    with qtbot.waitSignal(window.state.analysis_changed, timeout=TIMEOUT_MS):
        window.docks["geometry"].raise_()
    assert panel.cosine_image.image is not None and not panel.body.shows_message
    panel._on_status("The geometry failed: out of memory.")
    assert panel.cosine_image.image is None and panel.cka_image.image is None
    xs, _ = panel.anisotropy_curve.getData()
    assert xs is None or len(xs) == 0
    assert panel.body.shows_message


def test_anisotropy_of_one_word_is_a_gap_and_said(qtbot, window):
    panel = window.docks["geometry"].widget()
    window.docks["geometry"].raise_()
    for text in ("The river bank was muddy and wide.", "Hi"):  # a curve, then none
        window.input_bar.set_inputs(text)
        window.run_now()
        wait_for_result(qtbot, window, text)
        qtbot.waitUntil(lambda: panel._matching_geometry() is not None, timeout=TIMEOUT_MS)
    _, ys = panel.anisotropy_curve.getData()
    assert ys is None or np.isnan(ys).all()  # not a line at 0
    assert panel.anisotropy_curve.opts["connect"] == "finite"
    assert panel.message.text() == NO_ANISOTROPY and not panel.message.isHidden()
    (x_low, x_high), (y_low, y_high) = panel.anisotropy_plot.getPlotItem().viewRange()
    assert y_low <= 0.0 and 1.0 <= y_high < 1.3  # not the last input's range
    assert x_low <= 0.0 and window.state.num_layers <= x_high
    text = "Stars twinkle at night."
    window.input_bar.set_inputs(text)
    window.run_now()
    wait_for_result(qtbot, window, text)
    qtbot.waitUntil(lambda: panel._matching_geometry() is not None, timeout=TIMEOUT_MS)
    assert panel.message.isHidden()
    assert all(panel.anisotropy_plot.getPlotItem().getViewBox().autoRangeEnabled())
