"""Two models on one text: linear CKA between every layer of A and every layer of B.

Row i is A's layer i (0 = the embedding output), column j B's layer j; 1 means the two
layers arrange the text's tokens (or character spans) alike, up to rotation and scale. The
selected layers of both sides are outlined; a click selects that pair of layers.
"""

from __future__ import annotations

from PySide6.QtWidgets import QLabel, QVBoxLayout, QWidget

from explorer.gui.panels.plotting.plots import (
    ATTENTION_COLORMAP,
    as_image,
    make_heatmap_plot,
    outline_item,
    place_outline,
    set_ticks,
    set_title,
)
from explorer.gui.state.compare_state import CompareState

ONE_MODEL_TEXT = (
    "Layer CKA compares two models: give a model B above to run sentence A through both."
)
HOVER_HINT = "Hover over a cell to read the CKA of two layers; click to select them."


def layer_name(layer: int) -> str:
    """Row or column ``layer`` of the CKA map (0 is the embedding output)."""
    return "embeddings" if layer == 0 else f"layer {layer}"


class CompareCkaPanel(QWidget):
    """The (L_a + 1) × (L_b + 1) CKA map of the two models on show."""

    def __init__(self, compare: CompareState, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._compare = compare
        self.plot, self.image, self.colorbar = make_heatmap_plot(
            ATTENTION_COLORMAP, (0.0, 1.0), "linear CKA"
        )
        item = self.plot.getPlotItem()
        item.setLabel("left", "model A layer")
        item.setLabel("bottom", "model B layer")
        self._outline = outline_item(item)
        self.readout = QLabel(ONE_MODEL_TEXT)
        self.readout.setWordWrap(True)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.plot, 1)
        layout.addWidget(self.readout)
        compare.comparison_changed.connect(self._on_comparison_changed)
        compare.selection_changed.connect(self._mark_selection)
        self.image.cell_hovered.connect(self._on_cell_hovered)
        self.image.cell_clicked.connect(self._on_cell_clicked)
        self._on_comparison_changed()

    def _on_comparison_changed(self) -> None:
        comparison = self._compare.model_comparison
        if comparison is None:
            self.image.clear()
            self._outline.setVisible(False)
            set_title(self.plot.getPlotItem(), "")
            two = self._compare.two_models
            self.readout.setText("Computing the layer CKA…" if two else ONE_MODEL_TEXT)
            return
        cka = comparison.layer_cka_ab
        self.image.setImage(as_image(cka), levels=(0.0, 1.0), autoLevels=False)
        item = self.plot.getPlotItem()
        a, b = comparison.a.model.model_type, comparison.b.model.model_type
        set_title(item, f"Linear CKA: {a} (rows) × {b} (columns)")
        for side, count in (("left", cka.shape[0]), ("bottom", cka.shape[1])):
            set_ticks(item.getAxis(side), [[(i + 0.5, str(i)) for i in range(count)]])
        self.readout.setText(f"{comparison.alignment.describe()} {HOVER_HINT}")
        self._mark_selection()

    def _mark_selection(self) -> None:
        comparison = self._compare.model_comparison
        if comparison is None:
            return
        # Row/column 0 is the embedding output, so encoder layer l is row l + 1.
        place_outline(self._outline, self._compare.b.layer + 1, self._compare.a.layer + 1, 1, 1)

    def _on_cell_hovered(self, row: int, col: int) -> None:
        comparison = self._compare.model_comparison
        if comparison is None or row < 0:
            return
        value = float(comparison.layer_cka_ab[row, col])
        self.readout.setText(f"A {layer_name(row)} ↔ B {layer_name(col)}: linear CKA {value:.3f}")

    def _on_cell_clicked(self, row: int, col: int, _modifiers: object) -> None:
        if self._compare.model_comparison is None:
            return
        self._compare.set_layers(max(row - 1, 0), max(col - 1, 0))
