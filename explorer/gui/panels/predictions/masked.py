"""Masked words: the selected position's top 10, every mask's best tokens, next sentence."""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QLabel, QPushButton, QSplitter, QWidget

from explorer.core.heads.analyses import MLM_TOP
from explorer.core.heads.choice import CAUSAL_LM, NEXT_SENTENCE, PRETRAINING
from explorer.core.predictions import TopTokens
from explorer.gui.panels.analysis.common import OnDemand, wrapped_label
from explorer.gui.panels.predictions.parts import (
    column,
    fill_rows,
    read_only_table,
    top_line,
    top_rows,
)
from explorer.gui.state.explorer_state import ExplorerState


class MaskedPage(QWidget):
    """The masked-LM head's view, linked to the selected token."""

    def __init__(self, state: ExplorerState, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._state = state
        self.title = wrapped_label()
        self.selected_table = read_only_table(["#", "token", "id", "p"])
        self.mask_button = QPushButton("Mask this token (M)")
        self.mask_button.setToolTip(
            "Replace the selected token by the mask token and run again (Ctrl+Z restores it)"
        )
        self.mask_button.clicked.connect(lambda: state.request_mask(state.token))
        self.masks_title = QLabel("Every mask in the text")
        self.masks_table = read_only_table(["token", "best predictions"])
        self.next_sentence = wrapped_label()
        selected, masks = QWidget(), QWidget()
        column(
            selected, self.title, self.selected_table, self.mask_button, stretch=self.selected_table
        )
        column(masks, self.masks_title, self.masks_table, stretch=self.masks_table)
        # Side by side: the tab often sits in a short dock, where stacked tables showed a row.
        splitter = QSplitter(Qt.Orientation.Horizontal)
        splitter.addWidget(selected)
        splitter.addWidget(masks)
        column(self, self.next_sentence, splitter, stretch=splitter)
        self.masks_table.itemSelectionChanged.connect(self._on_mask_row_chosen)
        self._on_demand = OnDemand(state, MLM_TOP, self, self._show_top, self.title.setText)

    def refresh(self) -> None:
        """Redraw from the state: NSP line, masks table, the selected position's top 10."""
        result = self._state.result
        if result is None or result.predictions is None:
            return
        predictions = result.predictions
        masked = predictions.masked
        self.next_sentence.setVisible(predictions.head in (PRETRAINING, NEXT_SENTENCE))
        self.next_sentence.setText(
            f"<b>P(B follows A) = {float(predictions.nsp_probs[0]):.3f}</b>"
            if predictions.nsp_probs is not None
            else "Type sentence B to see whether the model thinks it follows A."
        )
        rows = (
            [
                [f"{int(p)}", top_line(masked, row)]
                for row, p in enumerate(masked.positions.tolist())
            ]
            if masked is not None
            else []
        )
        self.masks_title.setText(
            "Every mask in the text"
            if rows
            else f"No {self._mask_name()} in the text: select a token and press M to mask it."
        )
        self.masks_table.blockSignals(True)
        fill_rows(self.masks_table, rows)
        self.masks_table.blockSignals(False)
        token = self._state.token
        causal = predictions.head == CAUSAL_LM
        for widget in (self.mask_button, self.masks_title, self.masks_table):
            widget.setVisible(not causal)  # GPT-2 has no mask token: it predicts what follows
        self.mask_button.setEnabled(token >= 0 and not bool(result.special_tokens_mask[token]))
        if token < 0:
            self._on_demand.want(None)
            return
        row = masked.at(token) if masked is not None else None
        if row is not None and masked is not None:
            self._on_demand.want(None)
            self._show(masked, row)
        else:
            self._on_demand.want({"position": token})

    def poke(self) -> None:
        """The page came on screen: send what it waits for."""
        self._on_demand.poke()

    def _mask_name(self) -> str:
        info = self._state.model_info
        return info.mask_token if info is not None and info.mask_token else "mask token"

    def _show_top(self, payload: Any) -> None:
        shown = isinstance(payload, TopTokens) and payload.positions.size
        if shown and int(payload.positions[0]) == self._state.token:
            self._show(payload, 0)

    def _show(self, top: TopTokens, row: int) -> None:
        result = self._state.result
        position = int(top.positions[row])
        token = str(result.tokens[position]) if result is not None else "?"
        causal = result is not None and result.model.head == CAUSAL_LM
        where = "after" if causal else "at"
        self.title.setText(f"Top {top.ids.shape[1]} {where} token {position} · “{token}”")
        fill_rows(self.selected_table, top_rows(top, row))

    def _on_mask_row_chosen(self) -> None:
        rows = self.masks_table.selectionModel().selectedRows()
        result = self._state.result
        if rows and result is not None and result.predictions is not None:
            masked = result.predictions.masked
            if masked is not None:
                self._state.set_token(int(masked.positions[rows[0].row()]))
