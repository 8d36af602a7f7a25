"""Hidden-state norms: a (layers + 1) × tokens heatmap and the selected token's curve."""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QLabel, QSplitter, QVBoxLayout, QWidget

from explorer.gui.panels.plotting import (
    NORMS_COLORMAP,
    as_image,
    labels_that_fit,
    make_heatmap_plot,
    outline_item,
    place_outline,
    token_ticks,
)
from explorer.gui.state import ExplorerState


def norm_row_to_layer(row: int) -> int:
    """Row 0 is the embedding output; row r > 0 is the output of encoder layer r - 1 (0-based)."""
    return max(row - 1, 0)


class NormsPanel(QWidget):
    """L2 norm of every hidden state; clicking a cell selects its token and layer."""

    def __init__(self, state: ExplorerState, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._state = state
        self.heatmap, self.image, self.colorbar = make_heatmap_plot(
            NORMS_COLORMAP, (0.0, 1.0), "‖h‖"
        )
        plot = self.heatmap.getPlotItem()
        plot.setTitle("Hidden-state L2 norms")
        plot.setLabel("left", "layer (0 = embeddings)")
        self._token_outline = outline_item(plot)
        self._layer_outline = outline_item(plot)

        self.curve_plot = pg.PlotWidget()
        curve_item = self.curve_plot.getPlotItem()
        curve_item.setLabel("bottom", "layer (0 = embeddings)")
        curve_item.setLabel("left", "‖h‖")
        curve_item.setMenuEnabled(False)
        curve_item.showGrid(x=True, y=True, alpha=0.3)
        self.curve = curve_item.plot(
            [],
            [],
            pen=pg.mkPen("#1f5fa8", width=2),
            symbol="o",
            symbolSize=7,
            symbolBrush="#1f5fa8",
        )
        self.layer_line = pg.InfiniteLine(angle=90, movable=False, pen=pg.mkPen("r", width=1))
        curve_item.addItem(self.layer_line)
        self.caption = QLabel()

        splitter = QSplitter(Qt.Orientation.Vertical)
        splitter.addWidget(self.heatmap)
        splitter.addWidget(self.curve_plot)
        splitter.setStretchFactor(0, 3)
        splitter.setStretchFactor(1, 2)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(splitter)
        layout.addWidget(self.caption)

        plot.getViewBox().sigResized.connect(self._on_selection_changed)
        self.image.cell_clicked.connect(self._on_cell_clicked)
        self.image.cell_hovered.connect(self._on_cell_hovered)
        state.result_changed.connect(self._on_result_changed)
        state.token_changed.connect(self._on_selection_changed)
        state.layer_changed.connect(self._on_selection_changed)
        self._on_result_changed()

    def _on_result_changed(self) -> None:
        result = self._state.result
        if result is None:
            self.image.clear()
            self.curve.setData([], [])
            self._token_outline.setVisible(False)
            self._layer_outline.setVisible(False)
            self.caption.setText("")
            return
        norms = result.hidden_norms
        top = float(norms.max()) if norms.size else 1.0
        levels = (0.0, top if top > 0 else 1.0)
        self.image.setImage(as_image(norms), levels=levels, autoLevels=False)
        self.colorbar.setLevels(levels)
        layers = norms.shape[0]
        left = self.heatmap.getPlotItem().getAxis("left")
        left.setTicks([[(r + 0.5, "emb" if r == 0 else str(r)) for r in range(layers)]])
        self._on_selection_changed()

    def _on_selection_changed(self, *_: object) -> None:
        result = self._state.result
        if result is None:
            return
        token, layer = self._state.token, self._state.layer
        count, rows = result.num_tokens, result.hidden_norms.shape[0]
        tokens = [str(t) for t in result.tokens]
        width = max(self.heatmap.getPlotItem().getViewBox().width(), 300.0)
        self.heatmap.getPlotItem().getAxis("bottom").setTicks(
            [token_ticks(tokens, token, labels_that_fit(width, 45))]
        )
        place_outline(self._layer_outline, 0, layer + 1, count, 1)
        if token < 0:
            self._token_outline.setVisible(False)
            self.curve.setData([], [])
            return
        place_outline(self._token_outline, token, 0, 1, rows)
        self.curve.setData(np.arange(rows), result.hidden_norms[:, token])
        self.curve_plot.getPlotItem().setTitle(f'‖h‖ of "{tokens[token]}" (#{token}) by layer')
        self.layer_line.setValue(layer + 1)

    def _on_cell_hovered(self, row: int, col: int) -> None:
        result = self._state.result
        if result is None or row < 0:
            return
        where = "embeddings" if row == 0 else f"layer {row}"
        value = float(result.hidden_norms[row, col])
        self.caption.setText(f'{where} · "{result.tokens[col]}" (#{col}) · ‖h‖ = {value:.3f}')

    def _on_cell_clicked(self, row: int, col: int, _modifiers: object) -> None:
        self._state.set_token(col)
        self._state.set_layer(norm_row_to_layer(row))
