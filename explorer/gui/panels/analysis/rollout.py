"""Attention rollout (Abnar & Zuidema 2020): how much of each input token reaches each position.

The worker computes every layer's rollout once per result; this panel shows the map up to
the selected layer and, below it, the [CLS] row as bars (what the classifier token gathers).
"""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QSplitter, QWidget

from explorer.core.analysis.lens import apply_lens, apply_lens_row
from explorer.core.analysis.rollout import causal_note, summary_position
from explorer.gui.panels.analysis.common import (
    LensedAnalysisPanel,
    hidden_query_notice,
    lens_notice,
    titled,
)
from explorer.gui.panels.analysis.widgets import LensedHeatmap, TokenBars, upper_bound
from explorer.gui.state.explorer_state import ExplorerState

EXPLANATION = (
    "Rollout: per layer Â = row-normalize(0.5·mean of heads + 0.5·I) (the residual), "
    "multiplied from layer 1 up. Row i: how much of each input token reaches position i "
    "(rows sum to 1). Abnar & Zuidema 2020."
)


class RolloutPanel(LensedAnalysisPanel):
    """Rollout through the selected layer, and the [CLS] row as bars."""

    def __init__(self, state: ExplorerState, parent: QWidget | None = None) -> None:
        super().__init__(state, parent)
        self.heatmap = LensedHeatmap(state, "rollout")
        self.bars = TokenBars("rollout")
        splitter = QSplitter(Qt.Orientation.Vertical)
        splitter.addWidget(self.heatmap)
        splitter.addWidget(self.bars)
        splitter.setStretchFactor(0, 3)
        splitter.setStretchFactor(1, 1)
        self._set_up("rollout", [], splitter, EXPLANATION)
        state.token_changed.connect(self._on_token_changed)

    def refresh(self) -> None:
        """Ask for the rollout of the result on show (drawn at once when already here)."""
        if self._state.result is None:
            self._on_demand.want(None)
            self.heatmap.clear("No result yet.")
            self.bars.clear("")
            self._show_message("")
            return
        self._on_demand.want({})

    def _on_token_changed(self, _token: int) -> None:
        stored = self._state.analysis("rollout")
        if stored is not None and isinstance(stored[1], np.ndarray):
            self._draw_bars(stored[1])  # the heatmap marks the token itself

    def _on_status(self, text: str) -> None:
        """Computing or failed: what is on show belongs to an older result, so clear it."""
        self._show_message(text)
        self.heatmap.clear("")
        self.bars.clear("")

    def _draw(self, rollout: np.ndarray) -> None:
        result, settings = self._state.result, self._lens.settings
        if result is None or rollout.shape[-1] != result.num_tokens:
            return
        layer = min(self._state.layer, rollout.shape[0] - 1)
        matrix = rollout[layer]
        view = apply_lens(matrix, result, settings)
        title = titled(f"Rollout through layer {layer + 1}", settings)
        self.heatmap.show_view(
            view, title, f"rollout to layer {layer + 1}", (0.0, upper_bound(view.matrix))
        )
        self._draw_bars(rollout)
        position = summary_position(result)
        notice = lens_notice(result, settings) or hidden_query_notice(result, position, settings)
        self._show_message(" ".join(t for t in (causal_note(result, "rollout"), notice) if t))

    def _draw_bars(self, rollout: np.ndarray) -> None:
        result, settings = self._state.result, self._lens.settings
        if result is None or rollout.shape[-1] != result.num_tokens:
            return
        layer = min(self._state.layer, rollout.shape[0] - 1)
        position = summary_position(result)  # [CLS], or a causal model's last token
        row = apply_lens_row(rollout[layer, position], position, result, settings)
        name = str(result.tokens[position])
        self.bars.show_row(
            row,
            self._state.token,
            titled(f'What "{name}" gathers from each input token, layer {layer + 1}', settings),
            upper_bound(row.values),
        )
