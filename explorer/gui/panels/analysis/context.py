"""One word across many sentences: how its vector changes with context, layer by layer.

The word and the sentences are the panel's own input (one sentence a line, prefilled from
sentences A and B or an example set); the worker runs them (explorer.core.context) when asked.
The cosine matrix follows the selected layer (the output of that layer, so 0 is never the
embeddings), the curves show every layer, and the PCA map draws each sentence's occurrence
as a trajectory from the embeddings (a square) to the last layer.
"""

from __future__ import annotations

from itertools import combinations
from typing import Any

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QComboBox,
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPlainTextEdit,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from explorer.core.context import CONTEXT_ANALYSIS, EXAMPLE_SETS, ContextResult
from explorer.gui.panels.analysis.common import ShowAware, wrapped_label
from explorer.gui.panels.analysis.hidden_layer import selected_hidden_layer
from explorer.gui.panels.plotting.plots import (
    ATTENTION_COLORMAP,
    as_image,
    colour_key,
    make_heatmap_plot,
    number_cells,
    plot_widget,
    set_title,
)
from explorer.gui.state.explorer_state import AnalysisFailure, ExplorerState

MAX_PAIR_CURVES = 15
SENTENCE_COLORS = (
    "#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd",
    "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22", "#17becf",
)  # fmt: skip
HINT = "Name a word, list sentences that contain it (one a line), then Compare."
COMPUTING = "Running every sentence …"


class ContextPanel(ShowAware):
    """The word's cosine matrix, Ethayarajh's curves and the PCA trajectories."""

    def __init__(self, state: ExplorerState, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._state = state
        self._asked: dict[str, Any] | None = None
        self._context: ContextResult | None = None

        self.word_edit = QLineEdit()
        self.word_edit.setPlaceholderText("word")
        self.word_edit.setToolTip("The word to follow (case-insensitive, whole words)")
        self.sentences_edit = QPlainTextEdit()
        self.sentences_edit.setPlaceholderText("One sentence a line, each containing the word")
        self.sentences_edit.setMaximumHeight(110)
        self.examples = QComboBox()
        self.examples.addItem("Examples …", None)
        for name in EXAMPLE_SETS:
            self.examples.addItem(name, name)
        self.from_inputs = QPushButton("From A and B")
        self.from_inputs.setToolTip("Fill the list with sentences A and B and the selected token")
        self.run_button = QPushButton("Compare")
        self.message = wrapped_label(HINT)

        self.cosine_plot, self.cosine_image, self.cosine_bar = make_heatmap_plot(
            ATTENTION_COLORMAP, (-1.0, 1.0), "cosine", square=True
        )
        self.curves_plot = plot_widget()
        curves = self.curves_plot.getPlotItem()
        curves.setLabel("bottom", "layer (0 = embeddings)")
        self.self_curve = curves.plot(pen=pg.mkPen("#d62728", width=2), name="self-similarity")
        self.baseline_curve = curves.plot(pen=pg.mkPen("#7f7f7f", width=2), name="anisotropy")
        self.adjusted_curve = curves.plot(
            pen=pg.mkPen("#1f77b4", width=2, style=Qt.PenStyle.DashLine),
            name="adjusted",
        )
        self.pair_curves: list[pg.PlotDataItem] = []
        self.layer_line = pg.InfiniteLine(angle=90, pen=pg.mkPen("#ff5050"))
        curves.addItem(self.layer_line)
        set_title(curves, "Self-similarity and each pair's cosine")
        self.curves_key = wrapped_label(
            colour_key(
                ("#d62728", "self-similarity"),
                ("#7f7f7f", "anisotropy (baseline)"),
                ("#1f77b4", "adjusted (dashed)"),
            )
            + " · thin: each pair, in the colour of its second sentence"
        )
        self.pca_plot = plot_widget()
        set_title(self.pca_plot.getPlotItem(), "PCA of every occurrence at every layer")
        self.sentences_key = wrapped_label()  # which colour is which sentence
        self.trajectories: list[pg.PlotDataItem] = []

        inputs = QHBoxLayout()
        inputs.addWidget(QLabel("Word"))
        inputs.addWidget(self.word_edit, 1)
        inputs.addWidget(self.examples)
        inputs.addWidget(self.from_inputs)
        inputs.addWidget(self.run_button)
        plots = QGridLayout()
        plots.addWidget(self.cosine_plot, 0, 0)
        plots.addWidget(_stacked(self.curves_plot, self.curves_key), 0, 1)
        plots.addWidget(_stacked(self.pca_plot, self.sentences_key), 1, 0, 1, 2)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.addLayout(inputs)
        layout.addWidget(self.sentences_edit)
        layout.addWidget(self.message)
        layout.addLayout(plots, 1)

        self.examples.activated.connect(self._on_example_activated)
        self.from_inputs.clicked.connect(self.fill_from_inputs)
        self.run_button.clicked.connect(self.compare)
        self.word_edit.returnPressed.connect(self.compare)
        state.layer_changed.connect(self._draw_layer)
        state.analysis_changed.connect(self._on_analysis_changed)
        self.set_inputs(*next(iter(EXAMPLE_SETS.values())))  # something to compare at once

    # --- input --------------------------------------------------------------------------
    @property
    def sentences(self) -> tuple[str, ...]:
        """The non-blank lines of the list."""
        lines = self.sentences_edit.toPlainText().splitlines()
        return tuple(line.strip() for line in lines if line.strip())

    def set_inputs(self, word: str, sentences: tuple[str, ...] | list[str]) -> None:
        """Fill the word and the list (an example set, a test)."""
        self.word_edit.setText(word)
        self.sentences_edit.setPlainText("\n".join(sentences))

    def _on_example_activated(self, index: int) -> None:
        name = self.examples.itemData(index)
        if name is not None:
            word, sentences = EXAMPLE_SETS[name]
            self.set_inputs(word, sentences)
        self.examples.setCurrentIndex(0)

    def fill_from_inputs(self) -> None:
        """Sentences A and B of the result on show; the selected token's word as the word."""
        result = self._state.result
        if result is None:
            return
        sentences = [s for s in (result.text, result.pair) if s and s.strip()]
        token = self._state.token
        word = self.word_edit.text()
        if 0 <= token < result.num_tokens and not result.special_tokens_mask[token]:
            same_word = (result.word_ids == result.word_ids[token]) & (
                result.sequence_ids == result.sequence_ids[token]
            )
            pieces = np.flatnonzero(same_word)
            sentence = result.sentence_of(token) or ""
            word = sentence[result.offsets[pieces[0], 0] : result.offsets[pieces[-1], 1]]
        self.set_inputs(word, sentences)

    def compare(self) -> None:
        """Ask the worker for the context measures of the word in the listed sentences."""
        params = {"word": self.word_edit.text().strip(), "sentences": self.sentences}
        if not params["word"] or len(params["sentences"]) < 2:
            self.message.setText("Give a word and at least two sentences that contain it.")
            return
        self._asked = params
        self.message.setText(COMPUTING)
        self._state.request_analysis(CONTEXT_ANALYSIS, **params)

    # --- output -------------------------------------------------------------------------
    def _on_analysis_changed(self, name: str) -> None:
        stored = self._state.analysis(name) if name == CONTEXT_ANALYSIS else None
        if stored is None or self._asked is None:
            return
        params, payload = stored
        if isinstance(payload, AnalysisFailure):
            self.message.setText(payload.message)
        elif params == self._asked:
            self.show_context(payload)

    def show_context(self, context: ContextResult) -> None:
        """Draw a context result (every plot)."""
        self._context = context
        n, layers = context.states.shape[:2]
        self.message.setText(
            f"'{context.word}' in {n} sentences · self-similarity "
            f"{context.self_similarity[0]:.2f} (embeddings) → {context.self_similarity[-1]:.2f} "
            f"(last layer), anisotropy {context.anisotropy[-1]:.2f}"
        )
        xs = np.arange(layers, dtype=np.float32)
        self.self_curve.setData(xs, context.self_similarity)
        self.baseline_curve.setData(xs, context.anisotropy)
        self.adjusted_curve.setData(xs, context.adjusted_self_similarity)
        curves = self.curves_plot.getPlotItem()
        for item in self.pair_curves:
            curves.removeItem(item)
        self.pair_curves = []
        for i, j in list(combinations(range(n), 2))[:MAX_PAIR_CURVES]:
            pen = pg.mkPen(SENTENCE_COLORS[j % len(SENTENCE_COLORS)], width=1)
            self.pair_curves.append(curves.plot(xs, context.cosine[:, i, j], pen=pen))
        pca = self.pca_plot.getPlotItem()
        for item in self.trajectories:
            pca.removeItem(item)
        self.trajectories = []
        for i in range(n):
            color = SENTENCE_COLORS[i % len(SENTENCE_COLORS)]
            path = context.pca[i]
            self.trajectories.append(
                pca.plot(
                    path[:, 0],
                    path[:, 1],
                    pen=pg.mkPen(color, width=2),
                    symbol="o",
                    symbolSize=5,
                    symbolBrush=color,
                )
            )
            self.trajectories.append(
                pca.plot(path[:1, 0], path[:1, 1], pen=None, symbol="s", symbolBrush=color)
            )
        self.sentences_key.setText(
            colour_key(
                *(
                    (SENTENCE_COLORS[i % len(SENTENCE_COLORS)], f"{i + 1} {_short(sentence)}")
                    for i, sentence in enumerate(context.sentences)
                )
            )
            + " · a square marks the embeddings"
        )
        number_cells(self.cosine_plot.getPlotItem(), n, n)
        self._draw_layer()

    def _draw_layer(self, *_: object) -> None:
        if self._context is None:
            return
        layer = selected_hidden_layer(self._state.layer, self._context.cosine.shape[0])
        self.cosine_image.setImage(as_image(self._context.cosine[layer]), levels=(-1.0, 1.0))
        set_title(self.cosine_plot.getPlotItem(), f"Cosine between occurrences, layer {layer}")
        self.layer_line.setValue(layer)


def _stacked(plot: QWidget, caption: QWidget) -> QWidget:
    """A plot with its caption underneath."""
    box = QWidget()
    layout = QVBoxLayout(box)
    layout.setContentsMargins(0, 0, 0, 0)
    layout.addWidget(plot, 1)
    layout.addWidget(caption)
    return box


def _short(sentence: str, width: int = 32) -> str:
    """A sentence cut to ``width`` characters for a key."""
    return sentence if len(sentence) <= width else sentence[: width - 1].rstrip() + "…"
