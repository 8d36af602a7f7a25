"""Sentence similarity: A and B each encoded alone and pooled, their cosine shown large."""

from __future__ import annotations

from typing import Any

import numpy as np
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QLabel, QWidget

from explorer.core.heads.analyses import SENTENCE_PAIR
from explorer.core.predictions import SentencePair
from explorer.gui.panels.analysis.common import OnDemand, wrapped_label
from explorer.gui.panels.plotting.plots import colour_key, settle
from explorer.gui.panels.predictions.parts import column, curves, still_plot
from explorer.gui.state.explorer_state import ExplorerState

A_COLOUR, B_COLOUR = "#1f5fa8", "#d9822b"
EXPLANATION = (
    "Each sentence is encoded on its own and pooled as the model's sentence-transformers "
    "configuration says, exactly as SentenceTransformer.encode does; the number is the "
    "cosine of the two embeddings. The attention panels show the pair encoded together."
)


class SimilarityPage(QWidget):
    """The cosine of A's and B's sentence embeddings, and both embeddings as curves."""

    def __init__(self, state: ExplorerState, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._state = state
        self.cosine = QLabel("–")
        self.cosine.setAlignment(Qt.AlignmentFlag.AlignCenter)
        font = self.cosine.font()
        font.setPointSizeF(font.pointSizeF() * 3.0)
        font.setBold(True)
        self.cosine.setFont(font)
        self.caption = wrapped_label()
        self.caption.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.plot = still_plot()
        self.plot.getPlotItem().setLabel("bottom", "dimension")
        self.curve_a, self.curve_b = curves(
            self.plot, (A_COLOUR, "A alone", 1), (B_COLOUR, "B alone", 1), legend=False
        )
        explanation = wrapped_label(EXPLANATION)
        column(self, self.cosine, self.caption, self.plot, explanation, stretch=self.plot)
        self._on_demand = OnDemand(state, SENTENCE_PAIR, self, self._draw, self._on_status)

    @property
    def cosine_text(self) -> str:
        """The number on show ('–' while it is computed)."""
        return self.cosine.text()

    def refresh(self) -> None:
        """Ask for A and B encoded alone (the pass encoded them together)."""
        result = self._state.result
        if result is None:
            return
        alone = result.predictions.sentence_embedding if result.predictions else None
        if result.pair is None and alone is not None:  # the pass itself was A alone
            self._on_demand.want(None)
            pooling = result.model.sentence_pooling
            self._draw(SentencePair(alone, alone, 1.0, pooling))
            return
        self._on_demand.want({"text": result.text, "pair": result.pair or ""})

    def poke(self) -> None:
        """The page came on screen: send what it waits for."""
        self._on_demand.poke()

    def _on_status(self, text: str) -> None:
        self.cosine.setText("–")
        self.caption.setText(text)

    def _draw(self, payload: Any) -> None:
        if not isinstance(payload, SentencePair):
            return
        result = self._state.result
        pooling = payload.pooling
        dims = payload.a.shape[0]
        x = np.arange(dims)
        self.curve_a.setData(x, payload.a)
        if result is not None and result.pair is not None:
            self.cosine.setText(f"{payload.cosine:.3f}")
            self.caption.setText(
                f"cosine(A, B) · {pooling} · {dims} dimensions: "
                + colour_key((A_COLOUR, "A alone"), (B_COLOUR, "B alone"))
            )
            self.curve_b.setData(x, payload.b)
        else:
            self.cosine.setText("–")
            self.caption.setText(
                f"Type sentence B to see how similar the model finds it to A ({pooling})."
            )
            self.curve_b.setData([], [])
        settle(self.plot.getPlotItem())
