"""Pooled vector: tanh(W·h_[CLS] + b) over its dimensions, with its norm, minimum and maximum."""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QLabel, QStackedWidget, QVBoxLayout, QWidget

from explorer.gui.panels.plotting.plots import guide_lines, place_guides, plot_widget, settle
from explorer.gui.state.explorer_state import ExplorerState

POOLED_GUIDES = (-1.0, -0.5, 0.0, 0.5, 1.0)  # tanh's range

NO_POOLER_TEXT = (
    "This model has no trained pooler, so there is no pooled vector to show. "
    "(BERT's pooler is a dense layer with tanh applied to [CLS].)"
)


def pooled_summary(vector: np.ndarray) -> str:
    """One line with the vector's size, norm, minimum and maximum (or why there are none)."""
    finite = np.isfinite(vector)
    if not finite.all():
        return (
            f"{vector.shape[0]} dims · {int((~finite).sum())} are NaN or infinite "
            "(the model's numbers stopped being finite), so no norm or range is shown"
        )
    return (
        f"{vector.shape[0]} dims · ‖p‖ = {float(np.linalg.norm(vector)):.3f} · "
        f"min {float(vector.min()):+.3f} (dim {int(vector.argmin())}) · "
        f"max {float(vector.max()):+.3f} (dim {int(vector.argmax())})"
    )


class PooledPanel(QWidget):
    """Plots ``pooler_output``, or says why there is none."""

    def __init__(self, state: ExplorerState, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._state = state
        self.plot = plot_widget()
        item = self.plot.getPlotItem()
        item.setTitle("Pooled vector: tanh(W·h[CLS] + b)")
        item.setLabel("bottom", "dimension")
        item.setLabel("left", "value")
        # Fixed ranges (no auto-range pass before each paint) and cheap guide lines instead of
        # showGrid: a new result then costs one quick repaint.
        item.disableAutoRange()
        item.setYRange(-1.0, 1.0)
        item.setMenuEnabled(False)
        self.guides = guide_lines(item)
        self.curve = pg.PlotCurveItem(pen=pg.mkPen("#1f5fa8", width=1))  # no PlotDataItem layer
        item.addItem(self.curve)
        self._dimensions = 0  # the x range on show is set for this many dimensions
        self.summary = QLabel()
        self.summary.setWordWrap(True)  # one long line set the window's minimum width
        self.summary.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.message = QLabel(NO_POOLER_TEXT)
        self.message.setWordWrap(True)
        self.message.setAlignment(Qt.AlignmentFlag.AlignCenter)

        page = QWidget()
        page_layout = QVBoxLayout(page)
        page_layout.setContentsMargins(0, 0, 0, 0)
        page_layout.addWidget(self.plot, 1)
        page_layout.addWidget(self.summary)
        self.stack = QStackedWidget()
        self.stack.addWidget(page)
        self.stack.addWidget(self.message)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.stack)

        state.result_changed.connect(self._on_result_changed)
        self._on_result_changed()

    @property
    def shows_message(self) -> bool:
        """True when the panel says there is no pooler instead of plotting."""
        return self.stack.currentWidget() is self.message

    def _on_result_changed(self) -> None:
        result = self._state.result
        if result is None:
            self.curve.setData([], [])
            self.summary.setText("")
            self.stack.setCurrentIndex(0)
            return
        vector = result.pooler_output
        if vector is None:
            self.curve.setData([], [])
            self.stack.setCurrentWidget(self.message)
            return
        self.stack.setCurrentIndex(0)
        last = vector.shape[0] - 1
        if self._dimensions != vector.shape[0]:  # setXRange does its work even when unchanged
            self._dimensions = vector.shape[0]
            self.plot.getPlotItem().setXRange(0, last, padding=0.02)
            place_guides(self.guides, POOLED_GUIDES, 0, last)
        self.curve.setData(np.arange(vector.shape[0]), vector)
        settle(self.plot.getPlotItem())
        self.summary.setText(pooled_summary(vector))
