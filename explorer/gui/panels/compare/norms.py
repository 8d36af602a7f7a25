"""Hidden-norm difference: ‖h_B‖ − ‖h_A‖ for every layer and every aligned token pair.

Columns are the aligned pairs (all tokens when the counts match), rows the embedding output
then each layer, like the Hidden-state norms panel of each side.
"""

from __future__ import annotations

from PySide6.QtWidgets import QWidget

from explorer.gui.panels.compare.common import (
    cell_pixels,
    symmetric_levels,
)
from explorer.gui.panels.compare.heatmap import DifferenceHeatmapPanel
from explorer.gui.panels.main.norms import norm_row_to_layer
from explorer.gui.panels.plotting.plots import (
    as_image,
    label_axis,
    place_outline,
)
from explorer.gui.state.compare_state import CompareState


def layer_name(row: int) -> str:
    """Row 0 is the embedding output, row r the output of layer r (1-based)."""
    return "embeddings" if row == 0 else f"layer {row}"


class CompareNormsPanel(DifferenceHeatmapPanel):
    """Diverging (layers + 1) × pairs heatmap; a click selects that token and layer."""

    def __init__(self, compare: CompareState, parent: QWidget | None = None) -> None:
        super().__init__(compare, "‖h_B‖ − ‖h_A‖", parent=parent)
        self.heatmap.getPlotItem().setLabel("left", "layer (0 = emb)")
        self.heatmap.setToolTip("Click a cell to select its token and layer on both sides")
        self._token_outline, self._layer_outline = self._outlines
        compare.comparison_changed.connect(self._on_comparison_changed)
        compare.selection_changed.connect(self._on_selection_changed)
        self._on_comparison_changed()

    def _on_comparison_changed(self) -> None:
        comparison = self._compare.comparison
        if comparison is None:
            self.image.clear()
            self.stack.show_message(self._compare.message)
            return
        self.stack.show_page()
        diff = comparison.hidden_norm_diff
        levels = symmetric_levels(diff)
        self.image.setImage(as_image(diff), levels=levels, autoLevels=False)
        self.colorbar.setLevels(levels)
        left = self.heatmap.getPlotItem().getAxis("left")
        left.setTicks([[(r + 0.5, "emb" if r == 0 else str(r)) for r in range(diff.shape[0])]])
        self.caption.setText(comparison.alignment.describe())
        self._on_selection_changed()

    def _on_selection_changed(self, *_: object) -> None:
        comparison = self._compare.comparison
        if comparison is None:
            return
        alignment = comparison.alignment
        column = alignment.column_of(self._compare.a.token)
        rows, count = comparison.hidden_norm_diff.shape[0], alignment.size
        self._draw_ticks()
        place_outline(self._layer_outline, 0, self._compare.a.layer + 1, count, 1)
        if column < 0:
            self._token_outline.setVisible(False)
        else:
            place_outline(self._token_outline, column, 0, 1, rows)

    def _draw_ticks(self, *_: object) -> None:
        comparison = self._compare.comparison
        if comparison is None:
            return
        alignment = comparison.alignment
        plot = self.heatmap.getPlotItem()
        across = cell_pixels(plot, alignment.size, 0)
        column = alignment.column_of(self._compare.a.token)
        label_axis(plot.getAxis("bottom"), alignment.labels(), column, across)

    def _on_cell_hovered(self, row: int, col: int) -> None:
        comparison = self._compare.comparison
        if comparison is None or row < 0:
            return
        token_a, token_b = (int(i) for i in comparison.alignment.pairs[col])
        norm_a = float(comparison.a.hidden_norms[row, token_a])
        norm_b = float(comparison.b.hidden_norms[row, token_b])
        label = comparison.alignment.labels()[col]
        self.caption.setText(
            f'{layer_name(row)} · "{label}" (A #{token_a}, B #{token_b}) · '
            f"‖h_B‖ − ‖h_A‖ = {norm_b - norm_a:+.3f} (A {norm_a:.3f}, B {norm_b:.3f})"
        )

    def _on_cell_clicked(self, row: int, col: int, _modifiers: object) -> None:
        comparison = self._compare.comparison
        if comparison is None:
            return
        self._compare.select_token(int(comparison.alignment.pairs[col, 0]), "a")
        self._compare.a.set_layer(norm_row_to_layer(row))
