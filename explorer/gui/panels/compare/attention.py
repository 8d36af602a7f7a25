"""Attention difference: B − A of the map both sides show, or why the maps cannot be subtracted.

The two sides always show the same layer, head and lens (``CompareState`` keeps them in
step), so the difference is of exactly what the user sees left and right. Levels are
symmetric around 0 on a diverging colormap, so white means "no change" and the hue the sign.
"""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QWidget

from explorer.gui.panels.analysis.common import where_label
from explorer.gui.panels.compare.common import (
    AttentionDifference,
    attention_difference,
    cell_pixels,
    symmetric_levels,
)
from explorer.gui.panels.compare.heatmap import DifferenceHeatmapPanel
from explorer.gui.panels.plotting.plots import (
    as_image,
    label_axis,
    place_outline,
    set_title,
)
from explorer.gui.state.compare_state import CompareState

HOVER_HINT = "Hover over a cell to read A, B and B − A."


def difference_readout(where: str, difference: AttentionDifference, row: int, col: int) -> str:
    """``B − A · layer 3 · head 7 · "python|snake" → "love" = +0.123 (A 0.200, B 0.323)``."""
    assert difference.matrix is not None
    assert difference.matrix_a is not None and difference.matrix_b is not None
    labels = difference.labels
    return (
        f'B − A · {where} · "{labels[row]}" → "{labels[col]}" = '
        f"{float(difference.matrix[row, col]):+.3f} "
        f"(A {float(difference.matrix_a[row, col]):.3f}, "
        f"B {float(difference.matrix_b[row, col]):.3f})"
    )


class CompareAttentionPanel(DifferenceHeatmapPanel):
    """One diverging heatmap; a click selects a token on both sides."""

    def __init__(self, compare: CompareState, parent: QWidget | None = None) -> None:
        super().__init__(compare, "B − A", HOVER_HINT, square=True, parent=parent)
        self._difference = attention_difference(compare)
        plot = self.heatmap.getPlotItem()
        plot.setLabel("left", "query (attends from)")
        plot.setLabel("bottom", "key (attends to)")
        plot.getAxis("bottom").setStyle(autoExpandTextSpace=True)
        self.heatmap.setToolTip("Click: select the row's token · Shift+click: the column's token")
        self._row_outline, self._col_outline = self._outlines
        self.readout = self.caption
        compare.results_changed.connect(self.refresh)
        compare.selection_changed.connect(self.refresh)
        compare.lens_changed.connect(self.refresh)
        compare.comparison_changed.connect(self._on_comparison_changed)
        self.refresh()

    def current_difference(self) -> AttentionDifference:
        """What is on show: recomputed per refresh (one R × R subtraction), read on hover."""
        return self._difference

    def _where(self) -> str:
        lens = self._compare.lens_a
        return where_label(
            self._compare.a.layer, self._compare.a.head, lens.head_pool, lens.mean_layers
        )

    def _on_comparison_changed(self) -> None:
        if self.shows_message:  # "Computing…" or a failure may have changed
            self.refresh()

    def refresh(self) -> None:
        """Redraw from the compare state."""
        difference = self._difference = attention_difference(self._compare)
        if difference.matrix is None:
            self.image.clear()
            self._row_outline.setVisible(False)
            self._col_outline.setVisible(False)
            self.stack.show_message(difference.message)
            return
        self.stack.show_page()
        levels = symmetric_levels(difference.matrix)
        self.image.setImage(as_image(difference.matrix), levels=levels, autoLevels=False)
        self.colorbar.setLevels(levels)
        caption = self._compare.lens_a.settings.caption()
        # Short: the title's width is a minimum of the plot's, and the column is narrow.
        title = self._where() + (f" · {caption}" if caption else "")
        set_title(self.heatmap.getPlotItem(), title)
        self.readout.setText(f"max |B − A| = {levels[1]:.3f} · {HOVER_HINT}")
        self._draw_token_marks()

    def _draw_token_marks(self, *_: object) -> None:
        difference = self.current_difference()
        if difference.matrix is None or difference.row_of_token is None:
            return
        labels, token = difference.labels, self._compare.a.token
        count = len(labels)
        row = (
            int(difference.row_of_token[token]) if 0 <= token < len(difference.row_of_token) else -1
        )
        if row >= 0:
            place_outline(self._row_outline, 0, row, count, 1)
            place_outline(self._col_outline, row, 0, 1, count)
        else:
            self._row_outline.setVisible(False)
            self._col_outline.setVisible(False)
        self._draw_ticks()

    def _draw_ticks(self, *_: object) -> None:
        difference = self._difference
        if difference.matrix is None or difference.row_of_token is None:
            return
        labels, token = difference.labels, self._compare.a.token
        row = (
            int(difference.row_of_token[token]) if 0 <= token < len(difference.row_of_token) else -1
        )
        plot = self.heatmap.getPlotItem()
        across, down = cell_pixels(plot, len(labels), 0), cell_pixels(plot, len(labels), 1)
        label_axis(plot.getAxis("left"), labels, row, down)
        label_axis(plot.getAxis("bottom"), labels, row, across)

    def _on_cell_hovered(self, row: int, col: int) -> None:
        difference = self.current_difference()
        if difference.matrix is None or row < 0:
            return
        self.readout.setText(difference_readout(self._where(), difference, row, col))

    def _on_cell_clicked(self, row: int, col: int, modifiers: object) -> None:
        shift = bool(modifiers & Qt.KeyboardModifier.ShiftModifier)  # type: ignore[operator]
        difference = self.current_difference()
        if difference.token_of_row is None:
            return
        picked = col if shift else row
        self._compare.select_token(int(np.asarray(difference.token_of_row)[picked]), "a")
