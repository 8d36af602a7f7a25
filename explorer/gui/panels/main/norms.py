"""Hidden-state norms: a (layers + 1) × tokens heatmap and the selected token's curve.

While a pass runs, both fill in row by row from its layers that are done (``state.progress``).
"""

from __future__ import annotations

import weakref
from typing import Any

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QLabel, QSplitter, QVBoxLayout, QWidget

from explorer.core.results import InferenceResult
from explorer.gui.panels.plotting.plots import (
    NORMS_COLORMAP,
    as_image,
    finite_top,
    guide_lines,
    label_axis,
    make_heatmap_plot,
    nice_ceiling,
    outline_item,
    pixels_per_unit,
    place_guides,
    place_outline,
    plot_widget,
    set_ticks,
    set_title,
    settle,
)
from explorer.gui.state.explorer_state import ExplorerState

CURVE_COLOR = "#1f5fa8"


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

        self.curve_plot = plot_widget()
        curve_item = self.curve_plot.getPlotItem()
        curve_item.setLabel("bottom", "layer (0 = embeddings)")
        curve_item.setLabel("left", "‖h‖")
        curve_item.setMenuEnabled(False)
        # Ranges set by hand (one paint per change, no auto-range second pass) and cheap guide
        # lines at the y ticks instead of showGrid, which costs ~4 ms per repaint.
        curve_item.disableAutoRange()
        self.guides = guide_lines(curve_item)
        # A bare curve item: PlotDataItem's clipping and downsampling checks cost more than
        # drawing 2–25 points (0.3 ms a result).
        self.curve = pg.PlotCurveItem(pen=pg.mkPen(CURVE_COLOR, width=2))
        curve_item.addItem(self.curve)
        # The markers are their own item with one pen and brush for its lifetime: a
        # PlotDataItem with symbols hands the scatter new pen objects on every setData, and
        # the scatter then renders its symbol images again (1 ms a result).
        self.markers = pg.ScatterPlotItem(
            symbol="o", size=7, pen=pg.mkPen(CURVE_COLOR), brush=pg.mkBrush(CURVE_COLOR)
        )
        curve_item.addItem(self.markers)
        self._curve_scale: tuple[int, float] | None = None
        curve_item.getViewBox().sigResized.connect(self._place_guides)
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

        # Per result, not per repaint: the token labels, and what the axis shows now (setTicks
        # makes pyqtgraph redraw the whole axis, so it is only called when the ticks change).
        self._serial = 0
        self._tokens: list[str] = []
        self._tokens_of: InferenceResult | None = None  # whose tokens those are
        self._range_held: tuple[int, int] | None = None  # (tokens, rows) while rows fill in
        self._progress_drawn: tuple[Any, int] | None = None  # (pass, layers) drawn last
        self._ticks_shown: tuple[int, int, float] | None = None

        plot.getViewBox().sigResized.connect(self._draw_token_axis)
        plot.getViewBox().sigXRangeChanged.connect(self._draw_token_axis)  # auto-range is lazy
        self.image.cell_clicked.connect(self._on_cell_clicked)
        self.image.cell_hovered.connect(self._on_cell_hovered)
        state.result_changed.connect(self._on_result_changed)
        state.progress_changed.connect(self._on_progress_changed)
        state.token_changed.connect(self._on_token_changed)
        state.layer_changed.connect(self._on_layer_changed)
        self._on_result_changed()

    def _shown(self) -> tuple[InferenceResult | None, int]:
        """The result the panel draws and how many of its rows may be read.

        The result being computed when there is one: its embeddings and the layers done.
        """
        progress = self._state.progress
        if progress is not None:
            return progress.result, self._state.layers_ready + 1
        result = self._state.result
        return result, result.hidden_norms.shape[0] if result is not None else 0

    def _on_progress_changed(self) -> None:
        """More of the pass under way: only whole layers bring norms (not a layer's weights)."""
        progress = self._state.progress
        drawn = (None if progress is None else weakref.ref(progress), self._state.layers_ready)
        if drawn != self._progress_drawn:
            self._progress_drawn = drawn
            self._on_result_changed()

    def _on_result_changed(self) -> None:
        result, rows = self._shown()
        if result is not self._tokens_of:
            self._serial += 1
            self._tokens = [] if result is None else [str(t) for t in result.tokens.tolist()]
            self._tokens_of = result  # the skeleton of a pass: a few arrays' views, no copy
        if result is None:  # nothing to show, and no labels or titles left from the last
            self.image.clear()
            self.curve.setData([], [])
            self.markers.setData([], [])
            self._token_outline.setVisible(False)
            self._layer_outline.setVisible(False)
            for side in ("left", "bottom"):
                set_ticks(self.heatmap.getPlotItem().getAxis(side), [[]])
            self._ticks_shown = None
            set_title(self.curve_plot.getPlotItem(), "")
            self.caption.setText("")
            return
        norms = result.hidden_norms[:rows]  # the rows done (all of a final result)
        levels = (0.0, nice_ceiling(finite_top(norms, 0.0)))
        self.image.setImage(as_image(norms), levels=levels, autoLevels=False)
        if tuple(self.colorbar.levels()) != levels:  # an unchanged scale is not redrawn
            self.colorbar.setLevels(levels)
        layers = result.hidden_norms.shape[0]
        plot = self.heatmap.getPlotItem()
        set_ticks(
            plot.getAxis("left"), [[(r + 0.5, "emb" if r == 0 else str(r)) for r in range(layers)]]
        )
        held = (result.num_tokens, layers) if rows < layers else None
        if held != self._range_held:  # the view keeps every layer's row while they fill in
            self._range_held = held
            if held is None:
                plot.getViewBox().enableAutoRange()
            else:
                plot.getViewBox().setRange(xRange=(0, held[0]), yRange=(0, layers), padding=0.0)
        settle(plot)  # the token axis below needs the final range
        self._on_token_changed()
        self._on_layer_changed()

    def _draw_token_axis(self, *_: object) -> None:
        """As many token labels as fit without overlap; the selected token's always shows."""
        if self._tokens_of is None:
            return
        plot = self.heatmap.getPlotItem()
        x_size, _ = plot.getViewBox().viewPixelSize()
        per_token = pixels_per_unit(x_size)
        token = min(self._state.token, len(self._tokens) - 1)
        shown = (self._serial, token, round(per_token, 3))
        if shown == self._ticks_shown:
            return  # setTicks redraws the whole axis: only call it when the ticks change
        self._ticks_shown = shown
        label_axis(plot.getAxis("bottom"), self._tokens, shown[1], per_token)

    def _on_token_changed(self, *_: object) -> None:
        result, ready = self._shown()
        if result is None:
            return
        self._draw_token_axis()
        token, rows = min(self._state.token, result.num_tokens - 1), result.hidden_norms.shape[0]
        if token < 0:
            self._token_outline.setVisible(False)
            self.curve.setData([], [])
            self.markers.setData([], [])
            return
        place_outline(self._token_outline, token, 0, 1, rows)
        values = result.hidden_norms[:ready, token]
        self._scale_curve(rows, float(self.colorbar.levels()[1]))
        layers = np.arange(ready)
        self.curve.setData(layers, values)
        self.markers.setData(layers, values)
        title = f'‖h‖ of "{self._tokens[token]}" (#{token}) by layer'
        set_title(self.curve_plot.getPlotItem(), title)
        settle(self.curve_plot.getPlotItem())

    def _scale_curve(self, rows: int, ceiling: float) -> None:
        """One scale for every token's curve, 0 up to the colour bar's top.

        Stepping through the tokens then compares their norms at a glance, as the heatmap's
        colours do; the axis and its guide lines change only with the result's scale.
        """
        if self._curve_scale == (rows, ceiling):
            return
        self._curve_scale = (rows, ceiling)
        plot = self.curve_plot.getPlotItem()
        plot.setXRange(-0.3, rows - 1 + 0.3, padding=0)
        plot.setYRange(0.0, ceiling, padding=0.03)
        # Whole layers only: left to itself, a wide axis also ticks 0.5, 1.5, …
        set_ticks(plot.getAxis("bottom"), [[(float(row), str(row)) for row in range(rows)]])
        self._place_guides()

    def _place_guides(self, *_: object) -> None:
        """A guide line at each major tick the y axis shows (its count follows the height)."""
        if self._curve_scale is None:
            return
        rows, ceiling = self._curve_scale
        axis = self.curve_plot.getPlotItem().getAxis("left")
        levels = axis.tickValues(0.0, ceiling, max(axis.height(), 100.0))
        ticks = levels[0][1] if levels else []
        place_guides(self.guides, [t for t in ticks if 0.0 <= t <= ceiling], -0.3, rows - 0.7)

    def _on_layer_changed(self, *_: object) -> None:
        result = self._shown()[0]
        if result is None:
            return
        layer = self._state.layer
        place_outline(self._layer_outline, 0, layer + 1, result.num_tokens, 1)
        self.layer_line.setValue(layer + 1)

    def _on_cell_hovered(self, row: int, col: int) -> None:
        result, ready = self._shown()
        if result is None or not 0 <= row < ready:
            return
        where = "embeddings" if row == 0 else f"layer {row}"
        value = float(result.hidden_norms[row, col])
        self.caption.setText(f'{where} · "{result.tokens[col]}" (#{col}) · ‖h‖ = {value:.3f}')

    def _on_cell_clicked(self, row: int, col: int, _modifiers: object) -> None:
        self._state.set_token(col)
        self._state.set_layer(norm_row_to_layer(row))
