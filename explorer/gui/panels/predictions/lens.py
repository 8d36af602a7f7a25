"""The logit lens: the masked-LM head on every layer's hidden state, as a layers × tokens grid.

Each cell is coloured by the probability of that layer's top-1 token at that position (its
text is written in the cell when the cells are wide enough). Clicking a cell selects that
layer and token and lists its top 10. The grid costs (L+1)·T·D·V multiply-adds, so the worker
computes it only while this tab is on screen.
"""

from __future__ import annotations

from typing import Any

import pyqtgraph as pg
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QSplitter, QVBoxLayout, QWidget

from explorer.core.heads.analyses import LOGIT_LENS
from explorer.core.heads.choice import VOCABULARY_KINDS
from explorer.core.predictions import LensGrid
from explorer.gui.panels.analysis.common import OnDemand, ShowAware, analysis_layout, wrapped_label
from explorer.gui.panels.plotting.plots import (
    as_image,
    label_axis,
    make_heatmap_plot,
    outline_item,
    pixels_per_unit,
    place_outline,
    settle,
)
from explorer.gui.panels.predictions.parts import fill_rows, read_only_table
from explorer.gui.state.explorer_state import ExplorerState

MIN_CELL_PIXELS_FOR_TEXT = 46.0  # narrower cells show colour only; hover or click for the text
EXPLANATION = (
    "Row 0 is the embedding output, row l the output of layer l; the last row is the model's "
    "real prediction. Read down a column to see at which depth a position's prediction forms."
)


class LogitLensPanel(ShowAware):
    """A (L+1) × T grid of top-1 tokens, coloured by probability, linked to the selection."""

    def __init__(self, state: ExplorerState, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._state = state
        self._grid: LensGrid | None = None
        self._row = -1  # the lens row listed (0 = embeddings); follows the layer otherwise
        self.message = wrapped_label()
        self.widget, self.image, self.bar = make_heatmap_plot("viridis", (0.0, 1.0), "p(top-1)")
        plot = self.widget.getPlotItem()
        plot.setLabel("left", "layer")
        self.outline = outline_item(plot)
        self._texts: list[pg.TextItem] = []  # built once, grown as needed, reused
        self.listing_title = wrapped_label()
        self.listing = read_only_table(["#", "token", "id", "p"])
        listing = QWidget()
        column = QVBoxLayout(listing)
        column.setContentsMargins(0, 0, 0, 0)
        column.addWidget(self.listing_title)
        column.addWidget(self.listing, 1)
        splitter = QSplitter(Qt.Orientation.Horizontal)
        splitter.addWidget(self.widget)
        splitter.addWidget(listing)
        splitter.setStretchFactor(0, 3)
        splitter.setStretchFactor(1, 1)
        analysis_layout(self, [self.message], splitter, EXPLANATION)
        self.image.cell_clicked.connect(self._on_cell_clicked)
        self.image.cell_hovered.connect(self._on_cell_hovered)
        self._on_demand = OnDemand(state, LOGIT_LENS, self, self._draw, self._on_status)
        for signal in (state.result_changed, state.token_changed):
            signal.connect(self.refresh)
        state.layer_changed.connect(self._on_layer_changed)
        state.model_changed.connect(self.refresh)
        self.refresh()

    @property
    def grid(self) -> LensGrid | None:
        """The grid on show (None before it arrives)."""
        return self._grid

    def refresh(self, *_: object) -> None:
        """Ask for the grid of the result on show; redraw the outline and the listing."""
        result = self._state.result
        info = result.model if result is not None else self._state.model_info
        if info is not None and info.head not in VOCABULARY_KINDS:
            self._on_demand.want(None)
            self._clear()
            note = f" ({info.head_note})" if info.head_note else ""
            self.message.setText(
                f"The logit lens needs a trained masked-LM head; this checkpoint has none{note}."
            )
            return
        if result is None:
            return
        if self._grid is not None and self._grid.ids.shape[1] != result.num_tokens:
            self._grid = None
        self._on_demand.want({})
        self._place_selection()

    def _on_status(self, text: str) -> None:
        self.message.setText(text)

    def _clear(self) -> None:
        self._grid = None
        self.image.clear()
        for text in self._texts:
            text.setVisible(False)
        fill_rows(self.listing, [])
        self.listing_title.setText("")

    def _draw(self, payload: Any) -> None:
        result = self._state.result
        if not isinstance(payload, LensGrid) or result is None:
            return
        self._grid = payload
        self.message.setText("")
        top1 = as_image(payload.probs[:, :, 0])
        self.image.setImage(top1, autoLevels=False, levels=(0.0, 1.0))
        plot = self.widget.getPlotItem()
        plot.setXRange(0, result.num_tokens, padding=0)
        plot.setYRange(0, top1.shape[0], padding=0)
        settle(plot)
        self._write_cells(payload)
        self._place_selection()

    def _write_cells(self, grid: LensGrid) -> None:
        """Top-1 texts in the cells, only when a cell is wide enough to hold one."""
        plot = self.widget.getPlotItem()
        x_size = plot.getViewBox().viewPixelSize()[0]
        layers, count = grid.ids.shape[0], grid.ids.shape[1]
        wide = pixels_per_unit(x_size) >= MIN_CELL_PIXELS_FOR_TEXT
        needed = layers * count if wide else 0
        while len(self._texts) < needed:
            item = pg.TextItem(anchor=(0.5, 0.5), color="w")
            plot.addItem(item)
            self._texts.append(item)
        for index, item in enumerate(self._texts):
            if index >= needed:
                item.setVisible(False)
                continue
            row, col = divmod(index, count)
            item.setText(str(grid.tokens[row, col, 0]))
            item.setPos(col + 0.5, row + 0.5)
            item.setVisible(True)

    def _place_selection(self) -> None:
        result, grid = self._state.result, self._grid
        if result is None or grid is None:
            return
        token = max(self._state.token, 0)
        row = self._row if self._row >= 0 else self._state.layer + 1
        place_outline(self.outline, token, row, 1, 1)
        plot = self.widget.getPlotItem()
        labels = [str(t) for t in result.tokens]
        x_size, y_size = plot.getViewBox().viewPixelSize()
        label_axis(plot.getAxis("bottom"), labels, token, pixels_per_unit(x_size))
        rows = ["emb"] + [str(layer) for layer in range(1, grid.ids.shape[0])]
        label_axis(plot.getAxis("left"), rows, row, pixels_per_unit(y_size))
        self.listing_title.setText(
            f"Top {grid.ids.shape[2]} at {'the embeddings' if row == 0 else f'layer {row}'}, "
            f"token {token} · “{result.tokens[token]}”"
        )
        fill_rows(
            self.listing,
            [
                [
                    str(k + 1),
                    str(grid.tokens[row, token, k]),
                    str(int(grid.ids[row, token, k])),
                    f"{float(grid.probs[row, token, k]):.4f}",
                ]
                for k in range(grid.ids.shape[2])
            ],
        )

    def _on_layer_changed(self, *_: object) -> None:
        self._row = -1  # the listing follows the selected layer again
        self.refresh()

    def _on_cell_clicked(self, row: int, col: int, _modifiers: object) -> None:
        if row > 0:
            self._state.set_layer(row - 1)
        self._row = 0 if row == 0 else -1  # the embeddings row is no encoder layer
        self._state.set_token(col)
        self._place_selection()

    def _on_cell_hovered(self, row: int, col: int) -> None:
        grid = self._grid
        if grid is None or row < 0:
            self.widget.setToolTip("")
            return
        self.widget.setToolTip(
            f"{'embeddings' if row == 0 else f'layer {row}'} · token {col}: "
            f"{grid.tokens[row, col, 0]} ({float(grid.probs[row, col, 0]):.3f})"
        )
