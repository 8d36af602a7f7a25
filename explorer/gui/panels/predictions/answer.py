"""Question answering: the best span highlighted in B with its score, start/end curves."""

from __future__ import annotations

import html

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QWidget

from explorer.gui.panels.analysis.common import wrapped_label
from explorer.gui.panels.plotting.plots import label_axis, pixels_per_unit, settle
from explorer.gui.panels.predictions.parts import column, curves, still_plot
from explorer.gui.state.explorer_state import ExplorerState

START_COLOUR, END_COLOUR = "#1f5fa8", "#d9822b"


class AnswerPage(QWidget):
    """A is the question and B the context; the answer is the best span inside B."""

    def __init__(self, state: ExplorerState, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._state = state
        self.answer = wrapped_label()
        self.context = wrapped_label()
        self.plot = still_plot(labelled_axes=True)
        self.start_curve, self.end_curve = curves(
            self.plot, (START_COLOUR, "start", 2), (END_COLOUR, "end", 2)
        )
        dashed = pg.mkPen("#888888", style=Qt.PenStyle.DashLine)
        self.marker = pg.InfiniteLine(angle=90, pen=dashed)
        self.plot.getPlotItem().addItem(self.marker)
        column(self, self.answer, self.context, self.plot, stretch=self.plot)

    def refresh(self) -> None:
        """The answer text, B with the span marked, and both probability curves."""
        result = self._state.result
        predictions = result.predictions if result is not None else None
        if result is None or predictions is None or predictions.qa_start_probs is None:
            return
        answer = predictions.answer
        if result.pair is None:
            self.context.setText("Type the context in B: A is the question.")
        if answer is None:
            self.answer.setText("No span of the context fits (start ≤ end, at most 30 tokens).")
        else:
            self.answer.setText(
                f"<span style='font-size:150%'><b>{html.escape(answer.text)}</b></span> "
                f"· score p<sub>start</sub>·p<sub>end</sub> = {answer.score:.3f}"
            )
            context = result.pair if result.pair is not None else result.text
            first, last = int(result.offsets[answer.start, 0]), int(result.offsets[answer.end, 1])
            marked = (
                f"<span style='background:#ffd27f'><b>{html.escape(context[first:last])}</b></span>"
            )
            self.context.setText(
                html.escape(context[:first]) + marked + html.escape(context[last:])
            )
        x = np.arange(result.num_tokens) + 0.5
        self.start_curve.setData(x, predictions.qa_start_probs)
        self.end_curve.setData(x, predictions.qa_end_probs)
        self.marker.setValue(self._state.token + 0.5)
        item = self.plot.getPlotItem()
        item.setXRange(0, result.num_tokens, padding=0)
        top = float(max(predictions.qa_start_probs.max(), predictions.qa_end_probs.max(), 1e-6))
        item.setYRange(0, top * 1.05, padding=0)
        settle(item)
        labels = [str(t) for t in result.tokens]
        x_size = item.getViewBox().viewPixelSize()[0]
        label_axis(item.getAxis("bottom"), labels, self._state.token, pixels_per_unit(x_size))
