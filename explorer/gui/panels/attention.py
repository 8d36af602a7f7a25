"""Attention panel: one labelled query × key heatmap and the layers × heads overview mosaic."""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QComboBox, QHBoxLayout, QLabel, QSplitter, QVBoxLayout, QWidget

from explorer.core.results import InferenceResult
from explorer.core.views import mosaic_cell
from explorer.gui.panels.plotting import (
    ATTENTION_COLORMAP,
    as_image,
    labels_that_fit,
    make_heatmap_plot,
    outline_item,
    place_outline,
    token_ticks,
)
from explorer.gui.state import MEAN_OF_HEADS, ExplorerState


def head_label(head: int) -> str:
    """How a head is named in read-outs ("head 7", 1-based, or "mean of heads")."""
    return "mean of heads" if head == MEAN_OF_HEADS else f"head {head + 1}"


def attention_readout(
    result: InferenceResult, layer: int, head: int, query: int, key: int, value: float
) -> str:
    """The hover text: ``layer 3 · head 7 · "loves" → "day" = 0.123`` (1-based names)."""
    return (
        f'layer {layer + 1} · {head_label(head)} · "{result.tokens[query]}" → '
        f'"{result.tokens[key]}" = {value:.3f}'
    )


class AttentionPanel(QWidget):
    """Shows the selected layer/head; the overview selects layer and head by click."""

    def __init__(self, state: ExplorerState, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._state = state
        self.layer_combo = QComboBox()
        self.layer_combo.setToolTip("Encoder layer (PageUp/PageDown)")
        self.head_combo = QComboBox()
        self.head_combo.setToolTip("Attention head, or the mean over heads (Alt+←/→)")
        self.readout = QLabel("Hover over the heatmap to read a weight.")
        self.readout.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)

        self.heatmap, self.image, self.colorbar = make_heatmap_plot(
            ATTENTION_COLORMAP, (0.0, 1.0), "attention", square=True
        )
        plot = self.heatmap.getPlotItem()
        plot.setLabel("left", "query (attends from)")
        plot.setLabel("bottom", "key (attends to)")
        plot.getAxis("bottom").setStyle(autoExpandTextSpace=True)
        self.heatmap.setToolTip("Click: select the row's token · Shift+click: the column's token")
        self._row_outline = outline_item(plot)
        self._col_outline = outline_item(plot)

        self.overview, self.overview_image, _ = make_heatmap_plot(
            ATTENTION_COLORMAP, (0.0, 1.0), "max"
        )
        overview_plot = self.overview.getPlotItem()
        overview_plot.setLabel("left", "layer")
        overview_plot.setLabel("bottom", "head")
        overview_plot.setTitle("All layers × heads (click to select)")
        self.overview.setToolTip("Every head of every layer; click a tile to show it")
        self._tile_outline = outline_item(overview_plot)
        self._grid = pg.PlotDataItem(pen=pg.mkPen((255, 255, 255, 90), width=1), connect="pairs")
        overview_plot.addItem(self._grid)

        controls = QHBoxLayout()
        controls.addWidget(QLabel("Layer"))
        controls.addWidget(self.layer_combo)
        controls.addWidget(QLabel("Head"))
        controls.addWidget(self.head_combo)
        controls.addStretch(1)
        left = QWidget()
        left_layout = QVBoxLayout(left)
        left_layout.setContentsMargins(0, 0, 0, 0)
        left_layout.addLayout(controls)
        left_layout.addWidget(self.heatmap, 1)
        left_layout.addWidget(self.readout)
        splitter = QSplitter(Qt.Orientation.Vertical)
        splitter.addWidget(left)
        splitter.addWidget(self.overview)
        splitter.setStretchFactor(0, 3)
        splitter.setStretchFactor(1, 1)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(splitter)

        self.layer_combo.currentIndexChanged.connect(self._on_layer_combo_changed)
        self.head_combo.currentIndexChanged.connect(self._on_head_combo_changed)
        plot.getViewBox().sigResized.connect(self._draw_token_marks)
        self.image.cell_hovered.connect(self._on_cell_hovered)
        self.image.cell_clicked.connect(self._on_cell_clicked)
        self.overview_image.cell_hovered.connect(self._on_tile_hovered)
        self.overview_image.cell_clicked.connect(self._on_tile_clicked)
        state.result_changed.connect(self._on_result_changed)
        state.model_changed.connect(self._on_model_changed)
        state.layer_changed.connect(self._on_layer_changed)
        state.head_changed.connect(self._on_head_changed)
        state.token_changed.connect(self._on_token_changed)
        self._on_model_changed()
        self._on_result_changed()

    # --- what is on show -----------------------------------------------------------------
    def current_matrix(self) -> np.ndarray | None:
        """The T×T matrix for the selected layer and head (a view, no copy)."""
        result, views = self._state.result, self._state.views
        if result is None or views is None:
            return None
        if self._state.head == MEAN_OF_HEADS:
            return views.head_mean[self._state.layer]
        return result.attentions[self._state.layer, self._state.head]

    def _fill_combos(self, layers: int, heads: int) -> None:
        for combo, items in (
            (self.layer_combo, [f"Layer {i + 1}" for i in range(layers)]),
            (self.head_combo, ["Mean of heads"] + [f"Head {i + 1}" for i in range(heads)]),
        ):
            if [combo.itemText(i) for i in range(combo.count())] != items:
                combo.blockSignals(True)
                combo.clear()
                combo.addItems(items)
                combo.blockSignals(False)
        self._sync_combos()

    def _sync_combos(self) -> None:
        for combo, index in (
            (self.layer_combo, self._state.layer),
            (self.head_combo, self._state.head + 1),
        ):
            if combo.currentIndex() != index and index < combo.count():
                combo.blockSignals(True)
                combo.setCurrentIndex(index)
                combo.blockSignals(False)

    # --- state → view --------------------------------------------------------------------
    def _on_model_changed(self) -> None:
        self._fill_combos(self._state.num_layers, self._state.num_heads)

    def _on_result_changed(self) -> None:
        result, views = self._state.result, self._state.views
        self._fill_combos(self._state.num_layers, self._state.num_heads)
        if result is None or views is None:
            self.image.clear()
            self.overview_image.clear()
            self._grid.setData([], [])
            for outline in (self._row_outline, self._col_outline, self._tile_outline):
                outline.setVisible(False)
            self.readout.setText("No result yet.")
            return
        self.readout.setText("Hover over the heatmap to read a weight.")
        self.overview_image.setImage(views.mosaic, levels=(0.0, 1.0), autoLevels=False)
        self._draw_overview_axes(result, views.mosaic_tile)
        self._draw_matrix()
        self._draw_token_marks()
        self._draw_tile_mark()

    def _on_layer_changed(self, _layer: int) -> None:
        self._sync_combos()
        self._draw_matrix()
        self._draw_tile_mark()

    def _on_head_changed(self, _head: int) -> None:
        self._sync_combos()
        self._draw_matrix()
        self._draw_tile_mark()

    def _on_token_changed(self, _token: int) -> None:
        self._draw_token_marks()

    def _draw_matrix(self) -> None:
        matrix = self.current_matrix()
        if matrix is None:
            return
        self.image.setImage(as_image(matrix), levels=(0.0, 1.0), autoLevels=False)
        title = f"Layer {self._state.layer + 1} · {head_label(self._state.head)}"
        self.heatmap.getPlotItem().setTitle(title)

    def _draw_token_marks(self, *_: object) -> None:
        result = self._state.result
        if result is None:
            return
        count, token = result.num_tokens, self._state.token
        if token >= 0:
            place_outline(self._row_outline, 0, token, count, 1)
            place_outline(self._col_outline, token, 0, 1, count)
        tokens = [str(t) for t in result.tokens]
        plot = self.heatmap.getPlotItem()
        height = max(plot.getViewBox().height(), 200.0)
        width = max(plot.getViewBox().width(), 300.0)
        plot.getAxis("left").setTicks([token_ticks(tokens, token, labels_that_fit(height, 16))])
        plot.getAxis("bottom").setTicks([token_ticks(tokens, token, labels_that_fit(width, 45))])

    def _draw_overview_axes(self, result: InferenceResult, tile: int) -> None:
        layers, heads = result.num_layers, result.num_heads
        plot = self.overview.getPlotItem()
        plot.getAxis("left").setTicks([[((i + 0.5) * tile, str(i + 1)) for i in range(layers)]])
        plot.getAxis("bottom").setTicks([[((i + 0.5) * tile, str(i + 1)) for i in range(heads)]])
        xs, ys = [], []
        for i in range(1, layers):
            xs += [0, heads * tile]
            ys += [i * tile, i * tile]
        for j in range(1, heads):
            xs += [j * tile, j * tile]
            ys += [0, layers * tile]
        self._grid.setData(xs, ys)

    def _draw_tile_mark(self) -> None:
        views, result = self._state.views, self._state.result
        if views is None or result is None:
            return
        tile, layer, head = views.mosaic_tile, self._state.layer, self._state.head
        if head == MEAN_OF_HEADS:
            place_outline(self._tile_outline, 0, layer * tile, result.num_heads * tile, tile)
        else:
            place_outline(self._tile_outline, head * tile, layer * tile, tile, tile)

    # --- view → state --------------------------------------------------------------------
    def _on_layer_combo_changed(self, index: int) -> None:
        if index >= 0:
            self._state.set_layer(index)

    def _on_head_combo_changed(self, index: int) -> None:
        if index >= 0:
            self._state.set_head(index - 1)

    def _on_cell_hovered(self, row: int, col: int) -> None:
        result, matrix = self._state.result, self.current_matrix()
        if result is None or matrix is None or row < 0:
            return
        value = float(matrix[row, col])
        self.readout.setText(
            attention_readout(result, self._state.layer, self._state.head, row, col, value)
        )

    def _on_cell_clicked(self, row: int, col: int, modifiers: object) -> None:
        shift = bool(modifiers & Qt.KeyboardModifier.ShiftModifier)  # type: ignore[operator]
        self._state.set_token(col if shift else row)

    def _on_tile_hovered(self, row: int, col: int) -> None:
        result = self._state.result
        if result is None or row < 0:
            return
        cell = mosaic_cell(row, col, result.num_tokens)
        self.overview.setToolTip(f"layer {cell.layer + 1} · head {cell.head + 1} (click to show)")

    def _on_tile_clicked(self, row: int, col: int, _modifiers: object) -> None:
        result = self._state.result
        if result is None:
            return
        cell = mosaic_cell(row, col, result.num_tokens)
        self._state.set_layer(cell.layer)
        self._state.set_head(cell.head)
