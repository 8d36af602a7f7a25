"""Plot widgets the analysis panels share: a lensed query × key heatmap and token bars.

Both are built once and updated in place (one ImageItem, one BarGraphItem). They keep the
view they draw, for hover read-outs and clicks, and nothing of the state.
"""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QLabel, QVBoxLayout, QWidget

from explorer.core.analysis.lens import LensedMatrix, LensedRow
from explorer.gui.panels.plotting.plots import (
    ATTENTION_COLORMAP,
    MASKED_TEXT,
    as_image,
    causal_mask,
    finite_top,
    fitting_token_ticks,
    make_heatmap_plot,
    outline_item,
    place_outline,
    plot_widget,
    set_ticks,
    set_title,
    set_token_ticks,
)
from explorer.gui.panels.plotting.token_axis import label_extent
from explorer.gui.state.explorer_state import ExplorerState

BAR_BRUSH = pg.mkBrush("#1f5fa8")
SELECTED_BRUSH = pg.mkBrush("#e0504f")


def upper_bound(values: np.ndarray) -> float:
    """A colour/axis maximum that is never zero (an all-zero map still gets valid levels)."""
    return finite_top(values)


class LensedHeatmap(QWidget):
    """A labelled heatmap of a LensedMatrix; click selects the row's token (Shift: column's)."""

    def __init__(
        self,
        state: ExplorerState,
        colorbar_label: str,
        colormap: str = ATTENTION_COLORMAP,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self._state = state
        self._view: LensedMatrix | None = None
        self._where = ""
        self.plot_widget, self.image, self.colorbar = make_heatmap_plot(
            colormap, (0.0, 1.0), colorbar_label, square=True
        )
        plot = self.plot_widget.getPlotItem()
        plot.setLabel("left", "query (attends from)")
        plot.setLabel("bottom", "key (attends to)")
        plot.getAxis("bottom").setStyle(autoExpandTextSpace=True)
        self.plot_widget.setToolTip(
            "Click: select the row's token · Shift+click: the column's token"
        )
        self._row_outline = outline_item(plot)
        self._col_outline = outline_item(plot)
        self.readout = QLabel("Hover over the heatmap to read a value.")
        self.readout.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.plot_widget, 1)
        layout.addWidget(self.readout)
        plot.getViewBox().sigResized.connect(self.mark_token)
        plot.getViewBox().sigRangeChanged.connect(self.mark_token)  # after auto-range
        self.image.cell_hovered.connect(self._on_cell_hovered)
        self.image.cell_clicked.connect(self._on_cell_clicked)
        state.token_changed.connect(self.mark_token)

    @property
    def view(self) -> LensedMatrix | None:
        """What the heatmap shows now."""
        return self._view

    def show_view(
        self, view: LensedMatrix, title: str, where: str, levels: tuple[float, float]
    ) -> None:
        """Draw ``view`` with fixed ``levels``; ``where`` prefixes the hover read-out."""
        self._view, self._where = view, where
        matrix = as_image(view.matrix)
        result = self._state.result
        causal = result is not None and result.model.causal and matrix.ndim == 2
        square = causal and matrix.shape[0] == matrix.shape[1]
        self.image.set_mask(causal_mask(matrix.shape[0]) if square else None)  # later tokens
        self.image.setImage(matrix, levels=levels, autoLevels=False)
        self.colorbar.setLevels(levels)
        set_title(self.plot_widget.getPlotItem(), title)
        self.mark_token()

    def clear(self, text: str) -> None:
        """Show nothing, and say why under the plot."""
        self._view = None
        self.image.clear()
        self._row_outline.setVisible(False)
        self._col_outline.setVisible(False)
        set_title(self.plot_widget.getPlotItem(), "")
        self.readout.setText(text)

    def mark_token(self, *_: object) -> None:
        """Outline the selected token's row and column and label it on both axes."""
        view, token = self._view, self._state.token
        if view is None:
            return
        count = len(view.labels)
        row = int(view.row_of_token[token]) if 0 <= token < len(view.row_of_token) else -1
        if row >= 0:
            place_outline(self._row_outline, 0, row, count, 1)
            place_outline(self._col_outline, row, 0, 1, count)
        set_token_ticks(self.plot_widget.getPlotItem(), view.labels, row)

    def _on_cell_hovered(self, row: int, col: int) -> None:
        view = self._view
        if view is None or row < 0:
            return
        cell = f'{self._where} · "{view.labels[row]}" → "{view.labels[col]}"'
        if self.image.is_masked(row, col):
            self.readout.setText(f"{cell}: {MASKED_TEXT}")
            return
        self.readout.setText(f"{cell} = {float(view.matrix[row, col]):.3f}")

    def _on_cell_clicked(self, row: int, col: int, modifiers: object) -> None:
        if self._view is None:
            return
        shift = bool(modifiers & Qt.KeyboardModifier.ShiftModifier)  # type: ignore[operator]
        self._state.set_token(int(self._view.token_of_row[col if shift else row]))


class TokenBars(QWidget):
    """One value per token (or word) as bars; the selected token's bar is red."""

    def __init__(self, y_label: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._row: LensedRow | None = None
        self._selected = -1  # the column of the red bar
        self.plot_widget = plot_widget()
        plot = self.plot_widget.getPlotItem()
        plot.setLabel("left", y_label)
        plot.setMenuEnabled(False)
        plot.hideButtons()
        plot.showGrid(x=False, y=True, alpha=0.3)
        plot.getViewBox().setMouseEnabled(x=False, y=False)
        plot.getAxis("bottom").setStyle(autoExpandTextSpace=True)
        self.bars = pg.BarGraphItem(x=[], height=[], width=0.8, brush=BAR_BRUSH)
        plot.addItem(self.bars)
        self.caption = QLabel()
        self.caption.setWordWrap(True)
        self.caption.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.plot_widget, 1)
        layout.addWidget(self.caption)
        plot.getViewBox().sigResized.connect(self._draw_ticks)

    @property
    def heights(self) -> np.ndarray:
        """The bar heights on show (empty when cleared)."""
        return np.asarray(self.bars.opts.get("height", []), dtype=np.float32)

    def show_row(self, row: LensedRow, selected_token: int, title: str, top: float) -> None:
        """Draw one value per column of ``row``; the y axis runs from 0 to ``top``."""
        self._row = row
        count = len(row.values)
        selected = -1
        if selected_token >= 0:
            matches = np.flatnonzero(row.token_of_col <= selected_token)
            selected = int(matches[-1]) if matches.size else -1
        self._selected = selected
        brushes = [SELECTED_BRUSH if i == selected else BAR_BRUSH for i in range(count)]
        self.bars.setOpts(x=np.arange(count), height=row.values, width=0.8, brushes=brushes)
        plot = self.plot_widget.getPlotItem()
        set_title(plot, title)
        plot.setYRange(0.0, top, padding=0.02)
        plot.setXRange(-0.6, max(count, 1) - 0.4, padding=0)
        order = np.argsort(-row.values, kind="stable")[:3]
        best = ", ".join(
            f'"{row.labels[i]}" {row.values[i]:.3f}' for i in order if row.values[i] > 0
        )
        self.caption.setText(f"Largest: {best}" if best else "Every value is zero.")
        self._draw_ticks()

    def clear(self, text: str) -> None:
        """Show no bars, and say why."""
        self._row = None
        self.bars.setOpts(x=[], height=[], brushes=None)
        set_title(self.plot_widget.getPlotItem(), "")
        self.caption.setText(text)

    def _draw_ticks(self, *_: object) -> None:
        row = self._row
        if row is None:
            return
        plot = self.plot_widget.getPlotItem()
        axis = plot.getAxis("bottom")
        # The x range is set in show_row: one bar a unit, plus 0.2 of margin.
        per_bar = max(plot.getViewBox().width(), 300.0) / (len(row.labels) + 0.2)
        extent = label_extent(axis.style.get("tickFont") or axis.font())
        ticks = fitting_token_ticks(row.labels, self._selected, per_bar, extent)
        set_ticks(axis, [[(x - 0.5, label) for x, label in ticks]])  # bars stand at whole x
