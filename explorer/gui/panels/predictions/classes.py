"""Labels: a sequence's class probabilities as named bars; a label per token as a table."""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtWidgets import QVBoxLayout, QWidget

from explorer.gui.panels.analysis.common import wrapped_label
from explorer.gui.panels.plotting.plots import set_ticks, settle
from explorer.gui.panels.predictions.parts import fill_rows, read_only_table, still_plot
from explorer.gui.state.explorer_state import ExplorerState

BAR_COLOUR = "#1f5fa8"
TOP_COLOUR = "#d9822b"


class ClassesPage(QWidget):
    """Every label's probability (sigmoid for multi-label; the score for regression)."""

    def __init__(self, state: ExplorerState, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._state = state
        self.verdict = wrapped_label()
        self.plot = still_plot()
        item = self.plot.getPlotItem()
        item.invertY(True)
        item.setLabel("bottom", "probability")
        self.bars = pg.BarGraphItem(x0=[], y=[], height=0.7, width=[], brushes=[])
        item.addItem(self.bars)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.verdict)
        layout.addWidget(self.plot, 1)

    def refresh(self) -> None:
        """Bars of the result's class probabilities, the best one named above them."""
        result = self._state.result
        predictions = result.predictions if result is not None else None
        if predictions is None or predictions.class_logits is None:
            return
        labels = predictions.labels
        if predictions.class_probs is None:  # regression: one score, no probabilities
            score = float(predictions.class_logits[0])
            self.verdict.setText(f"<b>score {score:.4f}</b> (a regression head)")
            self.plot.setVisible(False)
            return
        self.plot.setVisible(True)
        probs = predictions.class_probs
        best = int(np.argmax(probs))
        kind = (
            "multi-label: each label on its own (sigmoid)"
            if (predictions.problem == "multi_label_classification")
            else "softmax over the labels"
        )
        self.verdict.setText(
            f"<b>{labels[best]}</b> · p = {float(probs[best]):.3f} <small>({kind})</small>"
        )
        count = probs.shape[0]
        brushes = [pg.mkBrush(TOP_COLOUR if i == best else BAR_COLOUR) for i in range(count)]
        self.bars.setOpts(
            x0=np.zeros(count), y=np.arange(count), width=probs, height=0.7, brushes=brushes
        )
        item = self.plot.getPlotItem()
        item.setXRange(0, 1, padding=0.02)
        item.setYRange(-0.5, count - 0.5, padding=0)
        set_ticks(item.getAxis("left"), [[(i, labels[i]) for i in range(count)]])
        settle(item)


class TokenLabelsPage(QWidget):
    """Each token's label and probability; a row click selects that token everywhere."""

    def __init__(self, state: ExplorerState, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._state = state
        self.summary = wrapped_label()
        self.table = read_only_table(["#", "token", "label", "p"], stretch=1)
        self._filled_for: object = None  # the result whose rows the table holds
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.summary)
        layout.addWidget(self.table, 1)
        self.table.itemSelectionChanged.connect(self._on_row_chosen)

    def refresh(self) -> None:
        """Rows of the result's token labels; the selected token's row selected."""
        result = self._state.result
        predictions = result.predictions if result is not None else None
        if result is None or predictions is None or predictions.token_class_probs is None:
            return
        labels = predictions.token_labels()
        self.table.blockSignals(True)
        if result is not self._filled_for:  # the rows change with the result only
            self._filled_for = result
            fill_rows(
                self.table,
                [
                    [str(i), str(result.tokens[i]), label, f"{prob:.3f}"]
                    for i, (label, prob) in enumerate(labels)
                ],
            )
        rows = labels
        token = self._state.token
        if 0 <= token < len(rows):
            self.table.selectRow(token)
        self.table.blockSignals(False)
        spans = sum(1 for label, _ in labels if label not in ("O", "0"))
        self.summary.setText(f"{spans} of {len(rows)} tokens carry a label other than O")

    def _on_row_chosen(self) -> None:
        rows = self.table.selectionModel().selectedRows()
        if rows:
            self._state.set_token(rows[0].row())
