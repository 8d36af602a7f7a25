"""Attention flow (Abnar & Zuidema 2020): max flow from each input token into the selected one.

The output position is the selected token after the selected layer. Each change asks the
worker again (one max-flow problem per input token, about a second at 40 tokens); a reply
for an older (layer, token) is ignored, so only the newest request is ever drawn.
"""

from __future__ import annotations

from PySide6.QtWidgets import QWidget

from explorer.core.analysis.flow import FlowResult, flow_unavailable_reason
from explorer.core.analysis.lens import apply_lens_row
from explorer.core.analysis.rollout import causal_note
from explorer.gui.panels.analysis.common import (
    LensedAnalysisPanel,
    hidden_query_notice,
    lens_notice,
    titled,
)
from explorer.gui.panels.analysis.widgets import TokenBars, upper_bound
from explorer.gui.state.explorer_state import ExplorerState

EXPLANATION = (
    "Flow: the layers form a graph whose edges carry the residual-augmented head-mean "
    "attention as capacities; each bar is the maximum flow from that input token into the "
    "selected token after the selected layer (networkx). Abnar & Zuidema 2020."
)


class FlowPanel(LensedAnalysisPanel):
    """Bars of max flow into the selected token; says why when the input is too long."""

    def __init__(self, state: ExplorerState, parent: QWidget | None = None) -> None:
        super().__init__(state, parent)
        self.bars = TokenBars("max flow")
        self._set_up("flow", [], self.bars, EXPLANATION, also_on=(state.token_changed,))

    def refresh(self, *_: object) -> None:
        """Ask for the flow into the selected (layer, token), unless it cannot be offered."""
        result, token = self._state.result, self._state.token
        if result is None:
            self._on_demand.want(None)
            self.bars.clear("No result yet.")
            self._show_message("")
            return
        reason = flow_unavailable_reason(result.num_tokens)
        self.bars.setVisible(reason is None)
        if reason is not None:
            self._on_demand.want(None)
            self.bars.clear("")
            self._show_message(reason)
            return
        if token < 0:
            self._on_demand.want(None)
            self.bars.clear("")
            self._show_message("Select a token: flow is computed into the selected token.")
            return
        self._on_demand.want({"layer": self._state.layer, "position": token})

    def _on_status(self, text: str) -> None:
        """Computing or failed: the bars on show answer an older request, so clear them."""
        self._show_message(text)
        self.bars.clear("")

    def _draw(self, flow: FlowResult) -> None:
        result, settings = self._state.result, self._lens.settings
        if result is None or flow.values.shape[0] != result.num_tokens:
            return
        row = apply_lens_row(flow.values, flow.position, result, settings)
        name = str(result.tokens[flow.position])
        title = titled(f'Max flow into "{name}" after layer {flow.layer + 1}', settings)
        self.bars.show_row(row, flow.position, title, max(1.0, upper_bound(row.values)))
        notice = lens_notice(result, settings) or hidden_query_notice(
            result, flow.position, settings
        )
        self._show_message(" ".join(t for t in (causal_note(result, "flow"), notice) if t))
