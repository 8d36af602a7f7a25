"""How one attention weight is computed, in eight steps read left to right.

For the selected layer, head and query token: q_i, every key, q_i ⊙ k_j, the scaled scores
with the mask, the softmax (the attention heatmap's row), the values, Σ_j α_ij v_j and the
head's contribution after W_O. The worker recomputes them from the layer's input and its own
modules (nothing is stored in the result). Keys are columns in every key-indexed step, so a
selected key j (click any key column) is highlighted in all of them at once.
"""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtWidgets import QGraphicsScene, QLabel, QVBoxLayout, QWidget

from explorer.core.why.qkv import WALK_THROUGH, WalkThrough
from explorer.gui.panels.analysis.common import wrapped_label
from explorer.gui.panels.plotting.plots import MASKED_TEXT, CellImageItem, as_image, set_title
from explorer.gui.panels.why.common import WhyPanel
from explorer.gui.state.explorer_state import MEAN_OF_HEADS, ExplorerState

KEY_OPTION = "walk_through.key"
STEPS = (  # short titles: eight plots share one row of a dock
    ("q", "1 q_i"),
    ("keys", "2 k_j"),
    ("products", "3 q⊙k"),
    ("scores", "4 score"),
    ("weights", "5 α_ij"),
    ("values", "6 v_j"),
    ("mixed", "7 Σαv"),
    ("output", "8 W_O"),
)
KEY_STEPS = ("keys", "products", "scores", "weights", "values")
BARS = ("scores", "weights")
DIVERGING = "CET-D1"
EXPLANATION = (
    "1 the query q_i; 2 every key k_j; 3 q_i ⊙ k_j; 4 the score q_i·k_j/√d plus the mask "
    "(zero: no padding; −∞ on a causal model's later keys, drawn as no bar); 5 the softmax "
    "α_ij; 6 the values v_j; 7 Σ_j α_ij v_j; 8 the head's contribution after W_O (its norm in "
    "the title). Columns are keys j. Step 5 equals the attention heatmap's row for this query; "
    "step 8's per-key norms ‖α_ij v_j W_O^h‖ are the norm-based view's numbers. Click a key "
    "column to follow one key through every step."
)


def _symmetric(values: np.ndarray) -> tuple[float, float]:
    finite = values[np.isfinite(values)]
    top = float(np.abs(finite).max()) if finite.size else 1.0
    top = top if top > 0 else 1.0
    return -top, top


class WalkThroughPanel(WhyPanel):
    """The eight steps of one head's attention for the selected query token."""

    def __init__(self, state: ExplorerState, parent: QWidget | None = None) -> None:
        super().__init__(state, parent)
        self._steps: WalkThrough | None = None
        self.layout_widget = pg.GraphicsLayoutWidget()
        # Its items move on every selection: no spatial index (as plot_widget() does).
        self.layout_widget.scene().setItemIndexMethod(QGraphicsScene.ItemIndexMethod.NoIndex)
        self.plots: dict[str, pg.PlotItem] = {}
        self.images: dict[str, CellImageItem] = {}
        self.bars: dict[str, pg.BarGraphItem] = {}
        self.highlights: dict[str, pg.LinearRegionItem] = {}
        colormap = pg.colormap.get(DIVERGING)
        for column, (key, title) in enumerate(STEPS):
            plot = self.layout_widget.addPlot(row=0, col=column)
            plot.setMenuEnabled(False)
            plot.hideButtons()
            plot.getViewBox().setMouseEnabled(x=False, y=False)
            plot.getViewBox().setDefaultPadding(0.0)
            set_title(plot, title)
            if column > 0 and key not in BARS:  # step 1's dimension axis serves every image
                plot.hideAxis("left")
            if key not in KEY_STEPS:
                plot.hideAxis("bottom")
            self.plots[key] = plot
            if key in BARS:
                bars = pg.BarGraphItem(x=[], height=[], width=0.8, brush="#1f5fa8")
                plot.addItem(bars)
                self.bars[key] = bars
            else:
                plot.invertY(True)
                image = CellImageItem(axisOrder="row-major")
                image.setColorMap(colormap)
                plot.addItem(image)
                self.images[key] = image
                image.cell_clicked.connect(self._on_cell_clicked)
            if key in KEY_STEPS:
                region = pg.LinearRegionItem(values=(0, 1), movable=False)
                region.setVisible(False)
                plot.addItem(region, ignoreBounds=True)
                self.highlights[key] = region
        self.layout_widget.ci.layout.setHorizontalSpacing(2)
        self.layout_widget.setMinimumWidth(0)
        self.readout = QLabel()
        self.readout.setWordWrap(True)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.addWidget(self.message)
        layout.addWidget(self.layout_widget, 1)
        layout.addWidget(self.readout)
        layout.addWidget(wrapped_label(EXPLANATION))
        self._ask_for(WALK_THROUGH)
        for signal in (state.layer_changed, state.head_changed, state.token_changed):
            signal.connect(self.refresh)
        state.panel_options.changed.connect(self._on_option_changed)

    @property
    def key(self) -> int:
        """The selected key column (-1: none)."""
        value = self._state.panel_options.get(KEY_OPTION, -1)
        return int(value) if isinstance(value, int) else -1

    def _params(self) -> dict[str, int] | str:
        state = self._state
        if state.head == MEAN_OF_HEADS:
            return "The walk-through follows one head: choose a head (not the mean of heads)."
        return {"layer": state.layer, "head": state.head, "query": max(state.token, 0)}

    def _clear(self) -> None:
        self._steps = None
        for image in self.images.values():
            image.clear()
        for bars in self.bars.values():
            bars.setOpts(x=[], height=[])
        for region in self.highlights.values():
            region.setVisible(False)
        self.readout.setText("")

    def _draw(self, steps: WalkThrough) -> None:
        self._steps = steps
        columns = {
            "q": steps.q[:, None],
            "keys": steps.keys.T,
            "products": steps.products.T,
            "values": steps.values.T,
            "mixed": steps.mixed[:, None],
            "output": steps.output[:, None],
        }
        for key, matrix in columns.items():
            self.images[key].setImage(as_image(matrix), levels=_symmetric(matrix))
        count = steps.weights.shape[0]
        centres = np.arange(count) + 0.5
        shown = np.where(np.isfinite(steps.scores), steps.scores, 0.0)  # −∞: masked, no bar
        self.bars["scores"].setOpts(x=centres, height=shown, width=0.8)
        self.bars["weights"].setOpts(x=centres, height=steps.weights, width=0.8)
        norm = float(np.linalg.norm(steps.output))
        off = " (knocked out)" if steps.knocked_out else ""
        set_title(self.plots["output"], f"8 ‖·‖={norm:.3g}{off}")
        self._show_key()

    def _on_cell_clicked(self, _row: int, col: int, _modifiers: object) -> None:
        if self._steps is not None and self.sender() in (
            self.images[k] for k in ("keys", "products", "values")
        ):
            self._state.panel_options.set(KEY_OPTION, int(col))

    def _on_option_changed(self, key: str) -> None:
        if key == KEY_OPTION:
            self._show_key()

    def _show_key(self) -> None:
        steps, key = self._steps, self.key
        visible = steps is not None and 0 <= key < steps.weights.shape[0]
        for region in self.highlights.values():
            region.setVisible(visible)
            if visible:
                region.setRegion((key, key + 1))
        if not visible or steps is None:
            self.readout.setText("Click a key column to follow it through the steps.")
            return
        result = self._state.result
        name = str(result.tokens[key]) if result is not None and key < result.num_tokens else ""
        contribution = float(np.linalg.norm(steps.contributions[key]))
        if np.isneginf(steps.mask[key]):
            self.readout.setText(f'key {key} "{name}": {MASKED_TEXT} (mask −∞, α = 0)')
            return
        self.readout.setText(
            f'key {key} "{name}": q·k/√d + mask = {steps.scores[key]:.4g}, '
            f"α = {steps.weights[key]:.4g}, ‖α v W_O‖ = {contribution:.4g}"
        )
