"""Head importance (Michel et al. 2019) as a layers × heads grid, and knocking heads out.

Importance is |∂F/∂ξ_h|, the gradient of the target F to a gate on each head's output,
computed in the worker from one backward pass. Clicking a head switches it off (ξ = 0);
Shift+click switches its whole layer. The knocked-out heads live on the shared state (a
session saves them); the window runs the input again without them, so every panel and the
prediction follow.
"""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QHBoxLayout,
    QLabel,
    QListWidget,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from explorer.core.why.attribution import HEAD_IMPORTANCE, Explanation
from explorer.gui.panels.analysis.common import wrapped_label
from explorer.gui.panels.plotting.plots import (
    finite_top,
    make_head_grid,
    set_title,
    show_head_values,
)
from explorer.gui.panels.why.common import TARGET_OPTION, WhyPanel, attribution_target
from explorer.gui.state.explorer_state import ExplorerState
from explorer.gui.state.knock_outs import (
    KNOCK_OUT_KEY,
    knocked_out,
    set_knocked_out,
    toggle,
)

EXPLANATION = (
    "Importance of each head: |∂F/∂ξ_h|, with a gate ξ_h = 1 on the head's output before W_O "
    "(Michel et al. 2019); F is the Attribution tab's target. Click a head to knock it out "
    "(ξ = 0), Shift+click to knock out its whole layer; click again to bring it back."
)


class HeadImportancePanel(WhyPanel):
    """The importance grid with the knocked-out heads crossed, their list and Restore all."""

    def __init__(self, state: ExplorerState, parent: QWidget | None = None) -> None:
        super().__init__(state, parent)
        self._options = state.panel_options
        self.grid, self.image, self.colorbar = make_head_grid(
            "|∂F/∂ξ|", "Click a head to knock it out; Shift+click for its whole layer"
        )
        plot = self.grid.getPlotItem()
        self.crosses = pg.ScatterPlotItem(
            symbol="x", size=14, pen=pg.mkPen("r", width=2), brush=pg.mkBrush("r")
        )
        plot.addItem(self.crosses)
        self.readout = QLabel()
        self.readout.setWordWrap(True)
        self.knocked_list = QListWidget()
        self.knocked_list.setMaximumHeight(90)
        self.restore_button = QPushButton("Restore all")
        self.restore_button.setToolTip("Bring every knocked-out head back")
        self.restore_button.clicked.connect(self._on_restore_clicked)

        side = QVBoxLayout()
        side.addWidget(QLabel("Knocked out"))
        side.addWidget(self.knocked_list, 1)
        side.addWidget(self.restore_button)
        row = QHBoxLayout()
        row.addWidget(self.grid, 3)
        row.addLayout(side, 1)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.addWidget(self.message)
        layout.addLayout(row, 1)
        layout.addWidget(self.readout)
        layout.addWidget(wrapped_label(EXPLANATION))

        self._ask_for(HEAD_IMPORTANCE)
        self.image.cell_clicked.connect(self._on_cell_clicked)
        self.image.cell_hovered.connect(self._on_cell_hovered)
        self._options.changed.connect(self._on_option_changed)
        state.token_changed.connect(self.refresh)  # a selected mask may be the target
        self._importance: np.ndarray | None = None
        self.refresh()
        self._show_knocked_out()

    def _params(self) -> dict[str, object]:
        return {"target": attribution_target(self._state)}

    def _clear(self) -> None:
        self._importance = None
        self.image.clear()
        # No empty axes (±0.4) or the last model's head numbers: the message says why.
        self.grid.setVisible(False)

    def _draw(self, found: Explanation) -> None:
        importance = found.head_importance
        self._importance = importance
        top = finite_top(importance)
        self.grid.setVisible(True)
        show_head_values(self.grid, self.image, self.colorbar, importance, (0.0, top))
        set_title(self.grid.getPlotItem(), f"{found.target}: F = {found.target_value:.4g}")
        self._show_knocked_out()

    def _on_option_changed(self, key: str) -> None:
        if key == KNOCK_OUT_KEY:
            self._show_knocked_out()
        elif key == TARGET_OPTION:
            self.refresh()

    def _show_knocked_out(self) -> None:
        heads = knocked_out(self._options)
        self.crosses.setData(
            x=[head + 0.5 for _, head in heads], y=[layer + 0.5 for layer, _ in heads]
        )
        self.knocked_list.clear()
        for layer, head in heads:
            self.knocked_list.addItem(f"layer {layer + 1}, head {head + 1}")
        self.restore_button.setEnabled(bool(heads))

    def _on_cell_clicked(self, layer: int, head: int, modifiers: object) -> None:
        whole_layer = bool(modifiers & Qt.KeyboardModifier.ShiftModifier)  # type: ignore[operator]
        heads = (
            [(layer, h) for h in range(self._state.num_heads)] if whole_layer else [(layer, head)]
        )
        toggle(self._options, heads)

    def _on_cell_hovered(self, layer: int, head: int) -> None:
        if self._importance is None or layer < 0:
            self.readout.setText("")
            return
        off = " (knocked out)" if (layer, head) in knocked_out(self._options) else ""
        value = float(self._importance[layer, head])
        self.readout.setText(f"layer {layer + 1}, head {head + 1}: |∂F/∂ξ| = {value:.4g}{off}")

    def _on_restore_clicked(self) -> None:
        set_knocked_out(self._options, [])
