"""The Geometry tab: CKA, token cosines and anisotropy of the input on show, from the worker."""

from __future__ import annotations

import numpy as np

from explorer.core.geometry import GEOMETRY_ANALYSIS, Geometry, geometry_of
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
