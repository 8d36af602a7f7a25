"""Cosine similarity of A and B over layers: the [CLS] state and the selected aligned token.

Where the curves fall below 1 is where the model starts to treat the two inputs differently;
the pooled vectors' cosine (one number, no layers) is written above the plot.
"""

from __future__ import annotations

import html

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QLabel, QVBoxLayout, QWidget

from explorer.core.compare import Comparison
from explorer.gui.panels.plotting.plots import plot_widget
from explorer.gui.state.compare_state import CompareState

CLS_COLOR = "#7a7a7a"
TOKEN_COLOR = "#c0392b"
CLS_PEN = pg.mkPen(CLS_COLOR, width=2, style=Qt.PenStyle.DashLine)
TOKEN_PEN = pg.mkPen(TOKEN_COLOR, width=2.5)
NO_POOLER = "This model has no trained pooler, so there is no pooled cosine."


def pooled_text(comparison: Comparison) -> str:
    """The pooled cosine, or why there is none."""
    if comparison.pooled_cosine is None:
        return NO_POOLER
    return f"cos(pooled A, pooled B) = {comparison.pooled_cosine:.4f}"


def _key(color: str, dashed: bool) -> str:
    line = "- -" if dashed else "—"
    return f'<span style="color:{color}; font-weight:bold">{line}</span>'


def token_text(comparison: Comparison, token_a: int, layer: int) -> str:
    """The curves' key with their values at the selected layer (rich text: it is the legend)."""
    alignment = comparison.alignment
    column = alignment.column_of(token_a)
    first = html.escape(str(comparison.a.tokens[0]))
    where = f"layer {layer + 1}"
    cls = f"{_key(CLS_COLOR, True)} {first} {float(comparison.cls_cosine[layer + 1]):.4f}"
    if token_a < 0:
        return f"{where}: {cls} · select a token to add its curve"
    if column < 0:
        token = html.escape(str(comparison.a.tokens[token_a]))
        return (
            f'{where}: {cls} · "{token}" (A #{token_a}) has no identical token in B, so it '
            "has no curve"
        )
    label = html.escape(alignment.labels()[column])
    value = float(comparison.token_cosine[layer + 1, column])
    return f'{where}: {cls} · {_key(TOKEN_COLOR, False)} "{label}" {value:.4f}'


class CompareSimilarityPanel(QWidget):
    """Two curves over layers (0 = embeddings) with the selected layer marked."""

    def __init__(self, compare: CompareState, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._compare = compare
        self.summary = QLabel()
        self.summary.setWordWrap(True)
        self.summary.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.plot = plot_widget()
        item = self.plot.getPlotItem()
        item.setLabel("bottom", "layer (0 = embeddings)")
        item.setLabel("left", "cos(h_A, h_B)")
        item.setMenuEnabled(False)
        item.hideButtons()
        item.showGrid(x=True, y=True, alpha=0.3)
        self.cls_curve = item.plot(
            [], [], pen=CLS_PEN, symbol="s", symbolSize=6, symbolBrush=CLS_COLOR, symbolPen=None
        )
        self.token_curve = item.plot(
            [], [], pen=TOKEN_PEN, symbol="o", symbolSize=7, symbolBrush=TOKEN_COLOR, symbolPen=None
        )
        self.layer_line = pg.InfiniteLine(angle=90, movable=False, pen=pg.mkPen("#1f5fa8"))
        item.addItem(self.layer_line)
        self.caption = QLabel()
        self.caption.setWordWrap(True)
        self.caption.setTextFormat(Qt.TextFormat.RichText)

        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.summary)
        layout.addWidget(self.plot, 1)
        layout.addWidget(self.caption)

        compare.comparison_changed.connect(self._on_comparison_changed)
        compare.selection_changed.connect(self._on_selection_changed)
        self._on_comparison_changed()

    def _on_comparison_changed(self) -> None:
        comparison = self._compare.comparison
        if comparison is None:
            self.cls_curve.setData([], [])
            self.token_curve.setData([], [])
            self.layer_line.setVisible(False)
            self.summary.setText(self._compare.message)
            self.caption.setText("")
            return
        self.summary.setText(pooled_text(comparison))
        layers = comparison.cls_cosine.shape[0]
        self.cls_curve.setData(np.arange(layers), comparison.cls_cosine)
        axis = self.plot.getPlotItem().getAxis("bottom")
        axis.setTicks([[(r, "emb" if r == 0 else str(r)) for r in range(layers)]])
        self._on_selection_changed()

    def _on_selection_changed(self) -> None:
        comparison = self._compare.comparison
        if comparison is None:
            return
        token, layer = self._compare.a.token, self._compare.a.layer
        column = comparison.alignment.column_of(token)
        layers = comparison.cls_cosine.shape[0]
        if column >= 0:
            self.token_curve.setData(np.arange(layers), comparison.token_cosine[:, column])
        else:
            self.token_curve.setData([], [])
        shown = [comparison.cls_cosine] + (
            [comparison.token_cosine[:, column]] if column >= 0 else []
        )
        low = float(min(values.min() for values in shown))
        self.plot.getPlotItem().setYRange(min(low - 0.05, 0.9), 1.04, padding=0)
        self.layer_line.setValue(layer + 1)
        self.layer_line.setVisible(True)
        self.caption.setText(token_text(comparison, token, layer))
