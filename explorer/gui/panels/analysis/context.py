"""One word across many sentences: how its vector changes with context, layer by layer.

The word and the sentences are the panel's own input (one sentence a line, prefilled from
sentences A and B or an example set); the worker runs them (explorer.core.context) when asked.
The cosine matrix follows the selected layer (the output of that layer, so 0 is never the
embeddings), the curves show every layer, and the PCA map draws each sentence's occurrence
as a trajectory from the embeddings (a square) to the last layer.
"""

from __future__ import annotations

import re
from itertools import combinations
from typing import Any

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QEvent, QSize
from PySide6.QtGui import QPalette, QResizeEvent
from PySide6.QtWidgets import (
    QComboBox,
    QFrame,
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPlainTextEdit,
    QPushButton,
    QScrollArea,
    QSizePolicy,
    QVBoxLayout,
    QWidget,
)

from explorer.core.context import CONTEXT_ANALYSIS, EXAMPLE_SETS, ContextResult
from explorer.core.wording import counted
from explorer.gui.panels.analysis.common import ShowAware, wrapped_label
from explorer.gui.panels.analysis.hidden_layer import selected_hidden_layer
from explorer.gui.panels.plotting.page_or_message import PageOrMessage
from explorer.gui.panels.plotting.plots import (
    ATTENTION_COLORMAP,
    as_image,
    cell_texts,
    colour_key,
    fit_minimum_width,
    make_heatmap_plot,
    number_cells,
    plot_widget,
    set_ticks,
    set_title,
)
from explorer.gui.state.explorer_state import AnalysisFailure, ExplorerState

MAX_PAIR_CURVES = 15
MAX_CELL_VALUES = 8  # sentences up to which each cosine is written in its cell
SENTENCE_COLORS = (
    "#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd",
    "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22", "#17becf",
)  # fmt: skip
HINT = "Name a word, list sentences that contain it (one a line), then Compare."
COMPUTING = "Running every sentence …"
PLACEHOLDER = "Press Compare to draw the word's cosines, its curves and the PCA map."
NOTHING_DRAWN = "Nothing to draw: correct the word or the sentences above, then Compare again."
TOO_FEW = "Give a word and at least two sentences that contain it."
PLOT_MIN_HEIGHT = 220  # a short dock scrolls rather than squeezing a plot (and its colour bar)
# The summary curves are drawn in the text colour with their own line styles, so that no
# colour of the per-pair palette (which is every colour of SENTENCE_COLORS) can be mistaken
# for them; the pairs are thin and solid.
# Dash patterns are in pen widths: dots and long dashes stay apart even in a small plot,
# where Qt's DotLine and DashLine at width 2 look alike.
SUMMARY_STYLES: dict[str, tuple[int, list[float] | None, str]] = {
    "self-similarity": (3, None, "━━"),
    "anisotropy (baseline)": (2, [1.0, 2.0], "┅┅"),
    "adjusted": (2, [5.0, 2.5], "╍╍"),
}


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
        lines = self.sentences_edit.fontMetrics().lineSpacing() * 4  # the plots need the rest
        self.sentences_edit.setMaximumHeight(lines + 12)
        self.examples = QComboBox()
        # Its long entries made it wide enough to squeeze the word field to a few letters
        # at lecture font sizes; the popup still shows them whole.
        self.examples.setSizeAdjustPolicy(
            QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon
        )
        self.examples.setMinimumContentsLength(12)
        self.examples.addItem("Examples …", None)
        for name in EXAMPLE_SETS:
            self.examples.addItem(name, name)
        self.from_inputs = QPushButton("From A and B")
        self.from_inputs.setToolTip("Fill the list with sentences A and B and the selected token")
        self.run_button = QPushButton("Compare")
        self.message = wrapped_label(HINT)

        # Cells fill the plot: square cells left a blank band beside a wide plot.
        self.cosine_plot, self.cosine_image, self.cosine_bar = make_heatmap_plot(
            ATTENTION_COLORMAP, (-1.0, 1.0), "cosine"
        )
        cosine = self.cosine_plot.getPlotItem()
        cosine.setLabel("left", "sentence")
        cosine.setLabel("bottom", "sentence")
        self.cell_values: list[pg.TextItem] = []  # each cosine written in its cell (few sentences)
        self.curves_plot = plot_widget()
        curves = self.curves_plot.getPlotItem()
        curves.setLabel("bottom", "layer (0 = embeddings)")
        curves.setLabel("left", "cosine")
        self.self_curve = curves.plot(name="self-similarity")
        self.baseline_curve = curves.plot(name="anisotropy")
        self.adjusted_curve = curves.plot(name="adjusted")
        for curve in self._summary_curves():
            curve.setZValue(5)  # over the pairs
        self.pair_curves: list[pg.PlotDataItem] = []
        self.layer_line = pg.InfiniteLine(angle=90, pen=pg.mkPen("#ff5050"))
        curves.addItem(self.layer_line)
        set_title(curves, "Self-similarity and pair cosines")
        self.curves_key = _Caption(_curves_key(0))
        self.pca_plot = plot_widget()
        self.pca_plot.getPlotItem().setLabel("bottom", "PC 1")
        self.pca_plot.getPlotItem().setLabel("left", "PC 2")
        set_title(self.pca_plot.getPlotItem(), "PCA of every occurrence at every layer")
        self.sentences_key = _Caption()  # which colour is which sentence
        self.trajectories: list[pg.PlotDataItem] = []
        for plot in (self.cosine_plot, self.curves_plot, self.pca_plot):
            plot.setMinimumHeight(PLOT_MIN_HEIGHT)
            # The plots share what the dock has (their size hints, 480 px tall, made the
            # scroll area three times as tall as the dock even when the minimums fitted).
            plot.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Ignored)
        self._pen_summary_curves()

        inputs = QHBoxLayout()
        inputs.addWidget(QLabel("Word"))
        inputs.addWidget(self.word_edit, 1)
        inputs.addWidget(self.examples)
        inputs.addWidget(self.from_inputs)
        inputs.addWidget(self.run_button)
        figures = QWidget()
        plots = QGridLayout(figures)
        plots.setContentsMargins(0, 0, 0, 0)
        plots.addWidget(self.cosine_plot, 0, 0)
        plots.addWidget(_stacked(self.curves_plot, self.curves_key), 0, 1)
        plots.addWidget(_stacked(self.pca_plot, self.sentences_key), 1, 0, 1, 2)
        scroller = QScrollArea()
        scroller.setWidgetResizable(True)
        scroller.setFrameShape(QFrame.Shape.NoFrame)
        scroller.setWidget(figures)
        # Until a comparison succeeds the plots give way to a sentence: empty axes with
        # default ranges said nothing, and a failed comparison's old plots were stale.
        self.body = PageOrMessage(scroller, message=PLACEHOLDER)
        self.body.show_message()
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.addLayout(inputs)
        layout.addWidget(self.sentences_edit)
        layout.addWidget(self.message)
        layout.addWidget(self.body, 1)

        self.examples.activated.connect(self._on_example_activated)
        self.from_inputs.clicked.connect(self.fill_from_inputs)
        self.run_button.clicked.connect(self.compare)
        self.word_edit.returnPressed.connect(self.compare)
        state.layer_changed.connect(self._draw_layer)
        self.cosine_image.cell_hovered.connect(self._on_cell_hovered)
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
        """Sentences A and B of the result on show; the selected token's word as the word.

        Without a word token selected the fields are left as they are and the message says
        what to select: keeping the old word silently paired it with the new sentences.
        """
        result = self._state.result
        if result is None:
            self.message.setText("Run sentences A and B first to take the word from them.")
            return
        token = self._state.token
        if not 0 <= token < result.num_tokens:
            self.message.setText("Select a word token in A or B to take the word from A and B.")
            return
        if result.special_tokens_mask[token]:
            self.message.setText(
                f"Select a word token (not {result.tokens[token]}) to take the word from A and B."
            )
            return
        sentences = [s for s in (result.text, result.pair) if s and s.strip()]
        same_word = (result.word_ids == result.word_ids[token]) & (
            result.sequence_ids == result.sequence_ids[token]
        )
        pieces = np.flatnonzero(same_word)
        sentence = result.sentence_of(token) or ""
        word = sentence[result.offsets[pieces[0], 0] : result.offsets[pieces[-1], 1]]
        self.set_inputs(word, sentences)
        missing = [
            name
            for name, text in (("A", result.text), ("B", result.pair))
            if text and text.strip() and not _mentions(text, word)
        ]
        if len(sentences) < 2 or missing:
            where = f"only in sentence {'B' if missing == ['A'] else 'A'}" if missing else ""
            self.message.setText(
                f"{word!r} is {where or 'in one sentence only'}: add sentences that contain it, "
                "one a line, then Compare."
            )
        else:
            self.message.setText(HINT)

    def compare(self) -> None:
        """Ask the worker for the context measures of the word in the listed sentences."""
        params = {"word": self.word_edit.text().strip(), "sentences": self.sentences}
        if not params["word"] or len(params["sentences"]) < 2:
            self.show_error(TOO_FEW)
            return
        self._asked = params
        self.message.setText(COMPUTING)
        if self.body.shows_message:  # no "press Compare" while it runs
            self.body.show_message(COMPUTING)
        self._state.request_analysis(CONTEXT_ANALYSIS, **params)

    # --- output -------------------------------------------------------------------------
    def _on_analysis_changed(self, name: str) -> None:
        stored = self._state.analysis(name) if name == CONTEXT_ANALYSIS else None
        if stored is None or self._asked is None:
            return
        params, payload = stored
        if isinstance(payload, AnalysisFailure):
            self.show_error(payload.message)
        elif params == self._asked:
            self.show_context(payload)

    def show_error(self, text: str) -> None:
        """Say what went wrong and clear every plot, so none is left from an earlier word."""
        self.message.setText(text)
        self._context = None
        self.cosine_image.clear()
        cosine = self.cosine_plot.getPlotItem()
        for side in ("left", "bottom"):
            set_ticks(cosine.getAxis(side), [[]])
        set_title(cosine, "Cosine")
        for curve in self._summary_curves():
            curve.setData([], [])
        self._remove(self.curves_plot, self.pair_curves)
        self._remove(self.pca_plot, self.trajectories)
        self.sentences_key.clear()
        self.body.show_message(NOTHING_DRAWN)

    def show_context(self, context: ContextResult) -> None:
        """Draw a context result (every plot)."""
        self._context = context
        self.body.show_page()
        n, layers = context.states.shape[:2]
        self.message.setText(
            f"'{context.word}' in {counted(n, 'sentence')} · self-similarity "
            f"{context.self_similarity[0]:.2f} (embeddings) → {context.self_similarity[-1]:.2f} "
            f"(last layer), anisotropy {context.anisotropy[-1]:.2f}"
            + "".join(f"\nNote: {note}" for note in context.notes)
        )
        xs = np.arange(layers, dtype=np.float32)
        self.self_curve.setData(xs, context.self_similarity)
        self.baseline_curve.setData(xs, context.anisotropy)
        self.adjusted_curve.setData(xs, context.adjusted_self_similarity)
        curves = self.curves_plot.getPlotItem()
        self._remove(self.curves_plot, self.pair_curves)
        self.curves_key.setText(_curves_key(n * (n - 1) // 2))
        for i, j in list(combinations(range(n), 2))[:MAX_PAIR_CURVES]:
            pen = pg.mkPen(SENTENCE_COLORS[j % len(SENTENCE_COLORS)], width=1)
            self.pair_curves.append(curves.plot(xs, context.cosine[:, i, j], pen=pen))
        pca = self.pca_plot.getPlotItem()
        self._remove(self.pca_plot, self.trajectories)
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
            + (
                f" · colours repeat every {len(SENTENCE_COLORS)} sentences"
                if n > len(SENTENCE_COLORS)
                else ""
            )
        )
        number_cells(self.cosine_plot.getPlotItem(), n, n)
        self._place_cell_values(n)
        self._draw_layer()

    def _cosine_title(self, layer: int, cell: tuple[int, int] | None = None) -> str:
        """The map's title; with a hovered cell, its sentences and cosine (any number of them)."""
        title = f"Cosine, layer {layer}"
        if cell is None or self._context is None:
            return title
        row, col = cell
        return f"{title} · {row + 1} × {col + 1}: {self._context.cosine[layer, row, col]:.3f}"

    def _on_cell_hovered(self, row: int, col: int) -> None:
        if self._context is None:
            return
        layer = selected_hidden_layer(self._state.layer, self._context.cosine.shape[0])
        cell = (row, col) if row >= 0 else None
        set_title(self.cosine_plot.getPlotItem(), self._cosine_title(layer, cell))

    def _cosine_levels(self) -> tuple[float, float]:
        """From the lowest cosine at any layer (down to a tenth) to 1, the same at every layer.

        Occurrences of one word are mostly above 0.5; on a fixed −1…1 scale every cell is
        one yellow. One scale for all layers keeps a step through the layers comparable.
        """
        assert self._context is not None
        lowest = float(np.nanmin(self._context.cosine)) if self._context.cosine.size else 0.0
        low = max(-1.0, np.floor(lowest * 10.0) / 10.0)
        return (low if low < 1.0 else 0.9), 1.0

    def _place_cell_values(self, n: int) -> None:
        self._remove(self.cosine_plot, self.cell_values)
        if n > MAX_CELL_VALUES:
            return
        self.cell_values = cell_texts(self.cosine_plot.getPlotItem(), n, n)

    def _draw_layer(self, *_: object) -> None:
        if self._context is None:
            return
        layer = selected_hidden_layer(self._state.layer, self._context.cosine.shape[0])
        matrix = self._context.cosine[layer]
        levels = self._cosine_levels()
        self.cosine_image.setImage(as_image(matrix), levels=levels)
        self.cosine_bar.setLevels(levels)
        if self.cell_values:
            low, high = levels
            for index, text in enumerate(self.cell_values):
                value = float(matrix.flat[index])
                text.setText(f"{value:.2f}")
                # Dark text on the light (high) end of viridis, light text on the dark end.
                text.setColor("k" if (value - low) / (high - low) > 0.6 else "w")
        set_title(self.cosine_plot.getPlotItem(), self._cosine_title(layer))
        self.layer_line.setValue(layer)
        for plot in (self.cosine_plot, self.curves_plot, self.pca_plot):
            fit_minimum_width(plot)

    # --- look ---------------------------------------------------------------------------
    def _summary_curves(self) -> tuple[pg.PlotDataItem, ...]:
        return (self.self_curve, self.baseline_curve, self.adjusted_curve)

    def _pen_summary_curves(self) -> None:
        """Draw the summary curves in the text colour of the theme on show."""
        colour = self.palette().color(QPalette.ColorRole.WindowText)
        for curve, (width, dashes, _) in zip(
            self._summary_curves(), SUMMARY_STYLES.values(), strict=True
        ):
            curve.setPen(pg.mkPen(colour, width=width, dash=dashes))

    def changeEvent(self, event: QEvent) -> None:
        """Qt API: a new palette (a theme switch) recolours the summary curves."""
        if event.type() == QEvent.Type.PaletteChange and hasattr(self, "adjusted_curve"):
            self._pen_summary_curves()  # (not while __init__ has yet to make the curves)
        super().changeEvent(event)

    @staticmethod
    def _remove(plot: pg.PlotWidget, items: list[pg.PlotDataItem]) -> None:
        """Take ``items`` off ``plot`` and empty the list."""
        for item in items:
            plot.getPlotItem().removeItem(item)
        items.clear()


def _curves_key(pairs: int) -> str:
    """The curves' key; it says when only the first pairs are drawn."""
    drawn = (
        f"the first {MAX_PAIR_CURVES} of {pairs} pairs" if pairs > MAX_PAIR_CURVES else "each pair"
    )
    return (
        "   ".join(f"{glyph}\u00a0{name}" for name, (_, _, glyph) in SUMMARY_STYLES.items())
        + f" · thin: {drawn}, in the colour of its second sentence"
    )


def _mentions(text: str, word: str) -> bool:
    """Whether ``text`` holds ``word`` as a whole word, case-insensitively.

    A quick check before Compare; the worker's match also folds accents as the tokenizer does.
    """
    return re.search(rf"(?<!\w){re.escape(word.casefold())}(?!\w)", text.casefold()) is not None


class _Caption(QLabel):
    """A word-wrapped caption whose minimum height is what its text needs at its width.

    A wrapped QLabel's minimum is one line, so a short dock's layout let the plot above
    draw over the rest of the caption.
    """

    def __init__(self, text: str = "") -> None:
        super().__init__(text)
        self.setWordWrap(True)

    def minimumSizeHint(self) -> QSize:
        """Qt API: as tall as the wrapped text at the present width."""
        hint = super().minimumSizeHint()
        return QSize(hint.width(), max(hint.height(), self.heightForWidth(self.width())))

    def resizeEvent(self, event: QResizeEvent) -> None:
        """Qt API: a new width may need another number of lines."""
        super().resizeEvent(event)
        if event.oldSize().width() != event.size().width():
            self.updateGeometry()


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
