"""Norm-based attention (Kobayashi et al. 2020): ‖α f(x)‖, what arrives, per head or summed.

The worker computes every layer once per result, only when this view is visible (it needs
the model's weights and, at 512 tokens, a second or so). Per head, the head controls apply
(one head, mean or max of heads, mean of layers); "summed" shows ‖Σ_h α_ij^h f_h(x_j)‖.
"""

from __future__ import annotations

from PySide6.QtWidgets import QCheckBox, QWidget

from explorer.core.analysis.aggregate import aggregate_heads, aggregate_layers
from explorer.core.analysis.lens import apply_lens
from explorer.core.analysis.norm_based import NormAttention
from explorer.gui.panels.analysis.common import (
    HeadControls,
    LensedAnalysisPanel,
    bind_option,
    lens_notice,
    titled,
    where_label,
)
from explorer.gui.panels.analysis.widgets import LensedHeatmap, upper_bound
from explorer.gui.state.explorer_state import ExplorerState

NORM_COLORMAP = "magma"
EXPLANATION = (
    "Norm-based attention: a head moves α_ij·f(x_j) into position i, with f(x) = (x W_V + b_V) "
    "W_O; a big weight on a small vector moves little. Colours are ‖α f‖ (hidden-space "
    "norms, not probabilities). Kobayashi et al. 2020."
)


class NormPanel(LensedAnalysisPanel):
    """‖α f‖ for the selected head choice, or ‖Σ_h α f‖ over all heads."""

    def __init__(self, state: ExplorerState, parent: QWidget | None = None) -> None:
        super().__init__(state, parent)
        self.controls = HeadControls(state)
        self.summed_check = QCheckBox("Summed over heads ‖Σ_h α f‖")
        self.summed_check.setChecked(True)
        self.summed_check.setToolTip(
            "On: the norm of the heads' vectors added together (what the layer adds). "
            "Off: one head's ‖α f‖, or the heads pooled as chosen."
        )
        self.heatmap = LensedHeatmap(state, "‖αf‖", NORM_COLORMAP)
        controls: list[QWidget] = [self.controls, self.summed_check]
        also_on = (self.summed_check.toggled, state.head_changed)
        self._set_up("norm_attention", controls, self.heatmap, EXPLANATION, also_on)
        bind_option(
            state.panel_options,
            "norm_attention.summed",
            self.summed_check.isChecked,
            lambda summed: self.summed_check.setChecked(bool(summed)),
            self.summed_check.toggled,
            lambda summed: isinstance(summed, bool),
        )

    def refresh(self, *_: object) -> None:
        """Ask for the norms of the result on show (drawn at once when already here)."""
        if self._state.result is None:
            self._on_demand.want(None)
            self.heatmap.clear("No result yet.")
            self._show_message("")
            return
        self._on_demand.want({})

    def _on_status(self, text: str) -> None:
        """Computing or failed: what is on show belongs to an older result, so clear it."""
        self._show_message(text)
        self.heatmap.clear("")

    def _draw(self, norms: NormAttention) -> None:
        state, lens = self._state, self._lens
        result = state.result
        if result is None or norms.summed.shape[-1] != result.num_tokens:
            return
        summed = self.summed_check.isChecked()
        self.controls.head_combo.setEnabled(not summed)
        if summed:
            matrix = aggregate_layers(norms.summed, state.layer, lens.mean_layers)
            layers = "mean of layers" if lens.mean_layers else f"layer {state.layer + 1}"
            where = f"{layers} · summed over heads"
        else:
            matrix = aggregate_heads(
                norms.per_head, state.layer, state.head, lens.head_pool, lens.mean_layers
            )
            where = where_label(state.layer, state.head, lens.head_pool, lens.mean_layers)
        view = apply_lens(matrix, result, lens.settings)
        title = titled(f"‖αf‖ · {where}", lens.settings)
        self.heatmap.show_view(view, title, where, (0.0, upper_bound(view.matrix)))
        self._show_message(lens_notice(result, lens.settings))
