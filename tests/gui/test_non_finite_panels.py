"""A model with NaN weights: the window says so and draws the non-finite cells as such."""

from __future__ import annotations

import numpy as np
import pytest
from PySide6.QtGui import QColor

from explorer.core.sources import ModelSource
from explorer.gui.panels.plotting.plots import NON_FINITE_BRUSH, CellImageItem, finite_top
from explorer.gui.windows.main_window import MainWindow
from tests.conftest import save_random_bert
from tests.gui.conftest import TIMEOUT_MS, show_panels, wait_for_result

NAN_LAYER = 2  # 0-based encoder layer whose query weights are NaN


@pytest.fixture(scope="module")
def nan_model_dir(tmp_path_factory):
    import torch
    from transformers import BertModel

    folder = save_random_bert(tmp_path_factory.mktemp("nan-bert"))
    model = BertModel.from_pretrained(folder)
    with torch.no_grad():
        model.encoder.layer[NAN_LAYER].attention.self.query.weight.fill_(float("nan"))
    model.save_pretrained(folder)
    return folder


def test_finite_top_ignores_nan_and_inf():
    values = np.array([0.5, np.nan, np.inf, 2.0, -np.inf], dtype=np.float32)
    assert finite_top(values) == 2.0
    assert finite_top(np.array([np.nan], dtype=np.float32)) == 1.0
    assert finite_top(np.zeros(0, dtype=np.float32), 0.0) == 0.0


def _hatch_pixels(widget) -> int:
    """How many pixels of ``widget`` have the hatching's colour (no colormap has it)."""
    from PySide6.QtGui import QImage

    image = widget.grab().toImage().convertToFormat(QImage.Format.Format_RGB32)
    rows = np.frombuffer(image.constBits(), np.uint8).reshape(image.height(), -1)
    pixels = rows[:, : image.width() * 4].reshape(image.height(), image.width(), 4)
    hatch = QColor(NON_FINITE_BRUSH.color())
    bgr = (hatch.blue(), hatch.green(), hatch.red())
    return int(np.all(pixels[..., :3] == bgr, axis=-1).sum())


def test_image_item_draws_non_finite_cells_hatched_never_coloured(qtbot):
    import pyqtgraph as pg

    widget = pg.PlotWidget()
    item = CellImageItem(axisOrder="row-major")
    widget.addItem(item)
    item.setImage(np.full((8, 8), 0.5, np.float32), levels=(0, 1), autoLevels=False)
    show_panels(qtbot, widget, width=300, height=300)
    assert not item.has_non_finite
    assert _hatch_pixels(widget) == 0
    data = np.full((8, 8), 0.5, np.float32)
    data[:4] = np.inf  # pyqtgraph alone would paint these in the map's top colour
    item.setImage(data, levels=(0, 1), autoLevels=False)
    assert item.has_non_finite
    assert np.isnan(item.image[:4]).all() and (item.image[4:] == 0.5).all()
    assert _hatch_pixels(widget) > 0


def test_window_on_a_nan_model_warns_and_shows_nan_cells(qtbot, nan_model_dir):
    window = MainWindow(source=ModelSource.parse(str(nan_model_dir)), text="I love my pet python")
    qtbot.addWidget(window)
    with qtbot.waitSignal(window.controller.result_ready, timeout=TIMEOUT_MS):
        window.show()
    result = window.state.result
    if result is None:
        result = wait_for_result(qtbot, window, "I love my pet python")
    assert np.isfinite(result.attentions[:NAN_LAYER]).all()
    assert not np.isfinite(result.attentions[NAN_LAYER]).any()
    assert "NaN" in window.message_bar.text()
    window.state.set_layer(NAN_LAYER)
    image = window.attention_panel.image
    assert image.has_non_finite
    assert _hatch_pixels(window.attention_panel) > 0
    norms = window.norms_panel
    low, high = norms.image.levels if hasattr(norms, "image") else (0.0, 1.0)
    assert np.isfinite([low, high]).all()


def test_pooled_summary_says_when_the_vector_is_not_finite():
    from explorer.gui.panels.main.pooled import pooled_summary

    assert "‖p‖" in pooled_summary(np.ones(4, np.float32))
    text = pooled_summary(np.array([1.0, np.nan, np.inf, 0.0], np.float32))
    assert "2 are NaN or infinite" in text and "nan" not in text
