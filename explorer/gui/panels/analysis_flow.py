"""Attention flow (Abnar & Zuidema 2020): max flow from each input token into the selected one.

The output position is the selected token after the selected layer. Each change asks the
worker again (one max-flow problem per input token, about a second at 40 tokens); a reply
for an older (layer, token) is ignored, so only the newest request is ever drawn.
"""

from __future__ import annotations

from PySide6.QtWidgets import QWidget

from explorer.core.analysis.flow import FlowResult, flow_unavailable_reason
from explorer.core.analysis.lens import apply_lens_row
from explorer.gui.panels.analysis_common import (
    LensBar,
    LensOptions,
    OnDemand,
    ShowAware,
    analysis_layout,
    hidden_query_notice,
    lens_notice,
    titled,
    wrapped_label,
)
from explorer.gui.panels.analysis_widgets import TokenBars, upper_bound
from explorer.gui.state import ExplorerState

EXPLANATION = (
    "Flow: the layers form a graph whose edges carry the residual-augmented head-mean "
    "attention as capacities; each bar is the maximum flow from that input token into the "
    "selected token after the selected layer (networkx). Abnar & Zuidema 2020."
)


class FlowPanel(ShowAware):
    """Bars of max flow into the selected token; says why when the input is too long."""

    def __init__(self, state: ExplorerState, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._state = state
        self._lens = LensOptions.of(state)
        self.lens_bar = LensBar(state)
        self.message = wrapped_label()
        self.bars = TokenBars("max flow")
        analysis_layout(self, [self.lens_bar, self.message], self.bars, EXPLANATION)

        self._flow = OnDemand(state, "flow", self, self._draw, self._on_status)
        state.result_changed.connect(self.refresh)
        state.layer_changed.connect(self.refresh)
        state.token_changed.connect(self.refresh)
        self._lens.changed.connect(self.refresh)
        self.refresh()

    @property
    def message_text(self) -> str:
        """What the panel says above the bars ('' when nothing)."""
        return self.message.text() if self.message.isVisibleTo(self) else ""

    def refresh(self, *_: object) -> None:
        """Ask for the flow into the selected (layer, token), unless it cannot be offered."""
        result, token = self._state.result, self._state.token
        if result is None:
            self._flow.want(None)
            self.bars.clear("No result yet.")
            self._show_message("")
            return
        reason = flow_unavailable_reason(result.num_tokens)
        self.bars.setVisible(reason is None)
        if reason is not None:
            self._flow.want(None)
            self.bars.clear("")
            self._show_message(reason)
            return
        if token < 0:
            self._flow.want(None)
            self.bars.clear("")
            self._show_message("Select a token: flow is computed into the selected token.")
            return
        self._flow.want({"layer": self._state.layer, "position": token})

    def _show_message(self, text: str) -> None:
        self.message.setText(text)
        self.message.setVisible(bool(text))

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
        self._show_message(notice)
