"""What the Why tabs share: one on-demand analysis, a message line, signed colours."""

from __future__ import annotations

from typing import Any

import numpy as np
from PySide6.QtWidgets import QWidget

from explorer.core.heads.choice import MLM_KINDS
from explorer.gui.panels.analysis.common import OnDemand, ShowAware, wrapped_label
from explorer.gui.state.explorer_state import ExplorerState

POSITIVE = (214, 39, 40)  # red: the token raises F
NEGATIVE = (31, 95, 168)  # blue: the token lowers F


class WhyPanel(ShowAware):
    """A tab that shows one analysis of the result on show, asked for while it is visible.

    Subclasses build their view, then call ``_ask_for(name)``; they give ``_params()`` (the
    request, or a string saying why there is none) and ``_draw(payload)``.
    """

    def __init__(self, state: ExplorerState, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._state = state
        self.message = wrapped_label()

    def _ask_for(self, name: str) -> None:
        self._request = OnDemand(self._state, name, self, self._on_payload, self._on_status)
        self._state.result_changed.connect(self.refresh)

    def refresh(self) -> None:
        """Ask for the analysis the view needs now (drawn at once when already here)."""
        params = self._params() if self._state.result is not None else "No result yet."
        if isinstance(params, str):
            self._request.want(None)
            self._on_status(params)
            return
        self._request.want(params)

    def _on_payload(self, payload: Any) -> None:
        self.message.setVisible(False)
        self._draw(payload)

    def _on_status(self, text: str) -> None:
        self._clear()
        self.message.setText(text)
        self.message.setVisible(bool(text))

    def _params(self) -> dict[str, Any] | str:
        return {}

    def _draw(self, payload: Any) -> None:
        """Show a payload (subclasses)."""

    def _clear(self) -> None:
        """Show nothing (subclasses)."""


TARGET_OPTION = "attribution.target"


def attribution_target(state: ExplorerState) -> str:
    """The target F both Why tabs explain: the one typed, else the selected mask, else ''.

    '' lets the core take the first row of its table that fits the head and the input; a
    masked-LM head explains the mask the user selected when the selection is on one.
    """
    typed = str(state.panel_options.get(TARGET_OPTION, "")).strip()
    result, token = state.result, state.token
    if typed or result is None or not 0 <= token < result.num_tokens:
        return typed
    info = result.model
    if info.head in MLM_KINDS and int(result.input_ids[token]) == info.mask_token_id:
        return f"mask:{token}"
    return ""


def signed_colors(values: np.ndarray, alpha_max: int = 200) -> list[tuple[int, int, int, int]]:
    """Red for positive, blue for negative, opacity ∝ |value| / max |value|."""
    top = float(np.max(np.abs(values))) if values.size else 0.0
    scale = top if top > 0 and np.isfinite(top) else 1.0
    colors = []
    for value in values.tolist():
        base = POSITIVE if value >= 0 else NEGATIVE
        strength = min(abs(value) / scale, 1.0) if np.isfinite(value) else 0.0
        colors.append((*base, round(alpha_max * strength)))
    return colors
