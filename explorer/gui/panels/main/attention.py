"""Attention panel: one labelled query × key heatmap and the layers × heads overview mosaic.

The heatmap shows the selected layer and head (or the heads pooled, or the mean over layers)
through the shared lens (pair block, words, hidden special tokens); a small table totals the
four sentence-pair blocks of what is on show.

While a pass runs, both show its layers as they are done (``state.progress``): the overview
fills row by row, and the heatmap paints as soon as the selected layer is there, saying
"Computing layer 7 of 12…" over the previous picture until then.
"""

from __future__ import annotations

import weakref
from typing import Any

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QRectF, Qt
from PySide6.QtGui import QFont
from PySide6.QtWidgets import (
    QAbstractItemView,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QSplitter,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from explorer.core.analysis.blocks import ALL, BLOCK_MOSAIC, parse_block
from explorer.core.analysis.lens import LensedMatrix
from explorer.core.analysis.words import word_groups
from explorer.core.results import InferenceResult
from explorer.core.tokenization import display_token
from explorer.core.views import DisplayViews, mosaic_cell
from explorer.gui.panels.analysis.common import (
    HeadControls,
    LensBar,
    displayed_attention,
    head_choice_label,
    layers_needed,
    lens_notice,
    progress_attention,
    titled,
    where_label,
)
from explorer.gui.panels.plotting.plots import (
    ATTENTION_COLORMAP,
    MASKED_TEXT,
    as_image,
    causal_mask,
    causal_mosaic_mask,
    label_axis,
    make_heatmap_plot,
    outline_item,
    pixels_per_unit,
    place_outline,
    set_ticks,
    set_title,
    set_token_ticks,
    settle,
)
from explorer.gui.state.explorer_state import MEAN_OF_HEADS, AnalysisFailure, ExplorerState

HOVER_HINT = "Hover over the heatmap to read a weight."
OVERVIEW_TITLE = "All layers × heads (click to select)"
PENDING_OPACITY = 0.35  # the unfiltered overview, faded while a block's mosaic is made
BLOCK_TABLE_TIP = (
    "Total attention weight in each sentence-pair block of the map on show (the sum of its "
    "cells) and its share of all the weight. [CLS] and the first [SEP] count as A, the last "
    "[SEP] as B, so the four blocks add up to the whole."
)


def computing_text(layer: int, layers: int) -> str:
    """What a view says while the layer it shows is being computed (1-based)."""
    return f"Computing layer {layer + 1} of {layers}…"


def head_label(head: int) -> str:
    """How a head is named in read-outs ("head 7", 1-based, or "mean of heads")."""
    return head_choice_label(head)


def attention_readout(where: str, labels: tuple[str, ...], query: int, key: int, value: float):
    """The hover text: ``layer 3 · head 7 · "loves" → "day" = 0.123`` (1-based names)."""
    return f'{where} · "{labels[query]}" → "{labels[key]}" = {value:.3f}'


def token_rows(result: InferenceResult, words: bool) -> tuple[tuple[str, ...], np.ndarray]:
    """(labels, row of each token) of the heatmap's rows, without recomputing the matrix."""
    if words:
        groups = word_groups(result)
        return groups.labels, groups.group_of_token
    kind = result.model.tokenizer_kind  # Ġ and ▁ read as ␣, bytes as their characters
    return tuple(display_token(str(t), kind) for t in result.tokens), np.arange(result.num_tokens)


class AttentionPanel(QWidget):
    """Shows the selected layer/head; the overview selects layer and head by click."""

    def __init__(self, state: ExplorerState, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._state = state
        self._lens = state.lens
        self.controls = HeadControls(state)
        self.layer_combo = self.controls.layer_combo
        self.head_combo = self.controls.head_combo
        self.lens_bar = LensBar(state)
        self.notice = QLabel()
        self.notice.setWordWrap(True)
        self.notice.setObjectName("panel-notice")
        self.notice.setVisible(False)
        self.readout = QLabel(HOVER_HINT)
        self.readout.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.readout.setWordWrap(True)

        self.heatmap, self.image, self.colorbar = make_heatmap_plot(
            ATTENTION_COLORMAP, (0.0, 1.0), "attention", square=True
        )
        plot = self.heatmap.getPlotItem()
        plot.setLabel("left", "query (attends from)")
        plot.setLabel("bottom", "key (attends to)")
        plot.getAxis("bottom").setStyle(autoExpandTextSpace=True)
        self.heatmap.setToolTip("Click: select the row's token · Shift+click: the column's token")
        self._row_outline = outline_item(plot)
        self._col_outline = outline_item(plot)

        self.block_table = QTableWidget(2, 2)
        self.block_table.setHorizontalHeaderLabels(["to A", "to B"])
        self.block_table.setVerticalHeaderLabels(["from A", "from B"])
        self.block_table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.block_table.setSelectionMode(QAbstractItemView.SelectionMode.NoSelection)
        self.block_table.setToolTip(BLOCK_TABLE_TIP)
        self.block_table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Stretch)
        self.block_table.verticalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Stretch)
        self.block_table.setMaximumHeight(84)
        self.block_table.setMaximumWidth(300)  # "511.9 (97%)" at 512 tokens, not clipped
        for row in range(2):
            for col in range(2):
                item = QTableWidgetItem("—")
                item.setTextAlignment(Qt.AlignmentFlag.AlignCenter)
                self.block_table.setItem(row, col, item)

        self.overview, self.overview_image, _ = make_heatmap_plot(
            ATTENTION_COLORMAP, (0.0, 1.0), "max"
        )
        overview_plot = self.overview.getPlotItem()
        overview_plot.setLabel("left", "layer")
        overview_plot.setLabel("bottom", "head")
        overview_plot.setTitle(OVERVIEW_TITLE)
        self.overview.setToolTip("Every head of every layer; click a tile to show it")
        self._tile_outline = outline_item(overview_plot)
        self._grid = pg.PlotDataItem(pen=pg.mkPen((255, 255, 255, 90), width=1), connect="pairs")
        overview_plot.addItem(self._grid)
        self._overview_shape: tuple[int, int] | None = None  # (layers, heads) the grid shows
        self._overview_axes_shown: tuple[int | float, ...] | None = None
        self._hovered: tuple[int, int] | None = None  # the heatmap cell under the pointer
        self._asked_block: str | None = None  # the block mosaic asked of the worker
        self._failed_block: str | None = None  # the block whose mosaic could not be made
        # What the images show now, so that the same picture is not made twice (the final
        # result shares the arrays of the layers shown while it was being computed).
        self._overview_drawn: tuple[Any, ...] | None = None
        self._matrix_drawn: tuple[Any, ...] | None = None
        self._progress_seen: weakref.ref[Any] | None = None
        self._waiting_for_layer = False  # the heatmap says "Computing layer …"

        below = QHBoxLayout()
        below.addWidget(self.readout, 1)
        below.addWidget(self.block_table)
        left = QWidget()
        left_layout = QVBoxLayout(left)
        left_layout.setContentsMargins(0, 0, 0, 0)
        left_layout.addWidget(self.controls)
        left_layout.addWidget(self.lens_bar)
        left_layout.addWidget(self.notice)
        left_layout.addWidget(self.heatmap, 1)
        left_layout.addLayout(below)
        splitter = QSplitter(Qt.Orientation.Vertical)
        splitter.addWidget(left)
        splitter.addWidget(self.overview)
        splitter.setStretchFactor(0, 3)
        splitter.setStretchFactor(1, 1)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(splitter)

        plot.getViewBox().sigResized.connect(self._draw_token_marks)
        overview_plot.getViewBox().sigResized.connect(self._draw_overview_axes)
        plot.getViewBox().sigRangeChanged.connect(self._draw_token_marks)  # after auto-range
        self.image.cell_hovered.connect(self._on_cell_hovered)
        self.image.cell_clicked.connect(self._on_cell_clicked)
        self.overview_image.cell_hovered.connect(self._on_tile_hovered)
        self.overview_image.cell_clicked.connect(self._on_tile_clicked)
        state.result_changed.connect(self._on_result_changed)
        state.progress_changed.connect(self._on_progress_changed)
        state.layer_changed.connect(self._on_layer_changed)
        state.head_changed.connect(self._on_head_changed)
        state.token_changed.connect(self._on_token_changed)
        self._lens.changed.connect(self._on_lens_changed)
        state.analysis_changed.connect(self._on_analysis_changed)
        self._on_result_changed()

    # --- what is on show -----------------------------------------------------------------
    def current_view(self) -> LensedMatrix | None:
        """The matrix on show with its row labels (the lens applied).

        While a pass runs, its layers' (None until the selected layer is done).
        """
        if self._state.progress is not None:
            return progress_attention(self._state, self._lens)
        return displayed_attention(self._state, self._lens)

    def _shown(self) -> tuple[InferenceResult | None, DisplayViews | None, int]:
        """The result the panel draws, its views and how many of its layers may be read.

        The result being computed when there is one (only below ``state.attention_ready``:
        the weights and mosaic tiles of a layer are written before the rest of it).
        """
        progress = self._state.progress
        if progress is not None:
            return progress.result, progress.views, self._state.attention_ready
        result = self._state.result
        return result, self._state.views, result.num_layers if result is not None else 0

    def _where(self) -> str:
        return where_label(
            self._state.layer, self._state.head, self._lens.head_pool, self._lens.mean_layers
        )

    # --- state → view --------------------------------------------------------------------
    def _on_result_changed(self) -> None:
        self._asked_block = self._failed_block = None
        self._progress_seen = None
        result, views = self._state.result, self._state.views
        if result is None or views is None:
            self._clear()
            return
        self._draw_overview()
        self._draw_overview_axes()
        self._draw_matrix()
        self._draw_tile_mark()

    def _on_progress_changed(self) -> None:
        """More layers of the pass under way: new overview rows, the selected layer once done."""
        progress = self._state.progress
        if progress is None:  # the pass failed: the result on show is what there is
            self._on_result_changed()
            return
        first = self._progress_seen is None or self._progress_seen() is not progress
        self._progress_seen = weakref.ref(progress)
        self._draw_overview()
        if first:
            self._draw_overview_axes()
            self._draw_tile_mark()
        if first or self._waiting_for_layer:
            self._draw_matrix()

    def _clear(self) -> None:
        """Nothing to show: no image, and no labels, numbers or titles left from the last one."""
        self._overview_drawn = self._matrix_drawn = None
        self._waiting_for_layer = False
        self.image.clear()
        self.overview_image.clear()
        self._grid.setData([], [])
        for outline in (self._row_outline, self._col_outline, self._tile_outline):
            outline.setVisible(False)
        for plot in (self.heatmap.getPlotItem(), self.overview.getPlotItem()):
            for side in ("left", "bottom"):
                set_ticks(plot.getAxis(side), [[]])
        self._overview_shape = self._overview_axes_shown = None
        set_title(self.heatmap.getPlotItem(), "")
        for row in range(2):
            for col in range(2):
                self.block_table.item(row, col).setText("—")
        self._hovered = None
        self.readout.setText("No result yet.")
        self._show_notice("")

    def _on_layer_changed(self, _layer: int) -> None:
        self._draw_matrix()
        self._draw_tile_mark()
        self._draw_overview_axes()

    def _on_head_changed(self, _head: int) -> None:
        self._draw_matrix()
        self._draw_tile_mark()
        self._draw_overview_axes()

    def _on_token_changed(self, _token: int) -> None:
        self._draw_token_marks()

    def _on_lens_changed(self) -> None:
        if self._shown()[0] is None:
            return
        self._draw_overview()
        self._draw_matrix()
        self._draw_tile_mark()
        self._draw_overview_axes()

    def _show_notice(self, text: str) -> None:
        self.notice.setText(text)
        self.notice.setVisible(bool(text))

    def _draw_matrix(self) -> None:
        view = self.current_view()
        result, views, _ready = self._shown()
        self._waiting_for_layer = view is None and self._state.progress is not None
        if self._waiting_for_layer:
            # The previous picture stays, faded, under what is being computed.
            assert result is not None
            needed = layers_needed(self._state, self._lens)  # the selected one, or the last
            set_title(self.heatmap.getPlotItem(), computing_text(needed - 1, result.num_layers))
            self.image.setOpacity(PENDING_OPACITY)
            return
        if view is None or result is None:
            return
        self.image.setOpacity(1.0)
        lens = self._lens
        drawn = (
            weakref.ref(views) if views is not None else None,
            self._state.layer,
            self._state.head,
            lens.settings,
            lens.head_pool,
            lens.mean_layers,
        )
        if drawn != self._matrix_drawn:  # the same picture is not made again
            self._matrix_drawn = drawn
            matrix = as_image(view.matrix)
            causal = result.model.causal
            square = matrix.ndim == 2 and matrix.shape[0] == matrix.shape[1]
            self.image.set_mask(causal_mask(matrix.shape[0]) if causal and square else None)
            self.image.setImage(matrix, levels=(0.0, 1.0), autoLevels=False)
        title = self._where()
        set_title(self.heatmap.getPlotItem(), titled(title[0].upper() + title[1:], lens.settings))
        self._show_notice(lens_notice(result, lens.settings))
        self._draw_block_table(view)
        self._show_readout(view)
        settle(self.heatmap.getPlotItem())
        self._draw_token_marks()

    def _draw_block_table(self, view: LensedMatrix) -> None:
        totals = view.totals
        whole = float(totals.sum())
        has_pair = bool((view.segments == 1).any())
        chosen = parse_block(self._lens.settings.block)
        for row in range(2):
            for col in range(2):
                item = self.block_table.item(row, col)
                if not has_pair and (row or col):
                    item.setText("—")
                else:
                    share = float(totals[row, col]) / whole if whole > 0 else 0.0
                    item.setText(f"{totals[row, col]:.1f} ({share:.0%})")
                font = QFont(item.font())
                font.setBold(chosen == (row, col))
                item.setFont(font)

    def block_table_texts(self) -> list[list[str]]:
        """The table's cells, row by row (tests and screen readers)."""
        return [[self.block_table.item(r, c).text() for c in range(2)] for r in range(2)]

    def _draw_token_marks(self, *_: object) -> None:
        result = self._shown()[0]
        if result is None:
            return
        labels, row_of_token = token_rows(result, self._lens.settings.words)
        count, token = len(labels), min(self._state.token, result.num_tokens - 1)
        row = int(row_of_token[token]) if token >= 0 else -1
        if row >= 0:
            place_outline(self._row_outline, 0, row, count, 1)
            place_outline(self._col_outline, row, 0, 1, count)
        set_token_ticks(self.heatmap.getPlotItem(), labels, row)

    def _draw_overview(self) -> None:
        """The mosaic of every head, with the pair block applied (the raw weights otherwise).

        The raw mosaic comes with the result; a block's mosaic is asked of the worker (made on
        the GUI thread it cost a (L, H, T, T) temporary, 151 MB at base size and 512 tokens,
        on every lens change). Until it is here the overview shows this sentence's unfiltered
        mosaic, faded, and its title says so. That is the least surprising wait: the previous
        image may be of another sentence, or look filtered by the wrong block, and an empty
        overview would flash at every keystroke while a block is chosen.
        """
        result, views, ready = self._shown()
        if result is None or views is None:
            return
        block = self._lens.settings.block
        mosaic, pending = views.mosaic, ""
        if block != ALL and self._state.progress is not None:
            pending = f"unfiltered until {block} is ready"  # asked of the final result
        elif block != ALL:
            unasked = self._asked_block != block and self._failed_block != block
            if unasked and self._block_mosaic(block) is None:
                self._asked_block = block
                self._state.request_analysis(BLOCK_MOSAIC, block=block)  # may answer at once
            filtered = self._block_mosaic(block)
            if filtered is not None:
                mosaic = filtered
            elif self._failed_block == block:
                pending = f"unfiltered: {block} could not be applied"
            else:
                pending = f"unfiltered until {block} is ready"
        # The layers done so far, row by row (the grid keeps the view's range to every layer).
        mosaic = mosaic[: ready * views.mosaic_tile] if ready < result.num_layers else mosaic
        drawn = (weakref.ref(views), ready, pending) if block == ALL else None
        if drawn is None or drawn != self._overview_drawn:  # not the same picture again
            self._overview_drawn = drawn
            causal = result.model.causal  # each tile's later keys: masked, as in the heatmap
            self.overview_image.set_mask(
                causal_mosaic_mask(
                    ready,
                    result.num_heads,
                    result.num_tokens,
                    views.mosaic_factor,
                    views.mosaic_tile,
                )
                if causal
                else None
            )
            self.overview_image.setImage(mosaic, levels=(0.0, 1.0), autoLevels=False)
            self.overview_image.setOpacity(PENDING_OPACITY if pending else 1.0)
            # One unit per tile whatever the sentence length, so the view range, axes and grid
            # of the overview only change with the model (no axis redraw per sentence).
            self.overview_image.setRect(QRectF(0, 0, result.num_heads, ready))
        suffix = f" · {pending}" if pending else (f" · {block} only" if block != ALL else "")
        set_title(self.overview.getPlotItem(), f"{OVERVIEW_TITLE}{suffix}")
        settle(self.overview.getPlotItem())

    def _block_mosaic(self, block: str) -> np.ndarray | None:
        """The worker's mosaic of ``block`` for the result on show, if it is here."""
        stored = self._state.analysis(BLOCK_MOSAIC)
        if stored is None or stored[0] != {"block": block}:
            return None
        payload, views = stored[1], self._state.views
        fits = isinstance(payload, np.ndarray) and views is not None
        return payload if fits and payload.shape == views.mosaic.shape else None

    def _on_analysis_changed(self, name: str) -> None:
        if name != BLOCK_MOSAIC or self._state.result is None:
            return
        stored = self._state.analysis(name)
        if stored is not None and isinstance(stored[1], AnalysisFailure):
            # The same block of the same result would fail again: a new result asks anew.
            self._failed_block, self._asked_block = self._asked_block, None
        if self._lens.settings.block != ALL:
            self._draw_overview()

    def _draw_overview_axes(self, *_: object) -> None:
        """Layer and head numbers, as many as fit; the selected layer's and head's always show.

        A small overview of a deep model has no room for every layer number (at 6 layers in
        45 px they overlapped): the thinned axes follow the view's size and the selection.
        """
        result = self._shown()[0]
        if result is None:
            return
        plot = self.overview.getPlotItem()
        x_size, y_size = plot.getViewBox().viewPixelSize()
        layers, heads = result.num_layers, result.num_heads
        layer = -1 if self._lens.mean_layers else self._state.layer
        shown = (layers, heads, layer, self._state.head, round(x_size, 9), round(y_size, 9))
        if shown == self._overview_axes_shown:
            return  # setTicks redraws the whole axis: only when the labels change
        self._overview_axes_shown = shown
        layer_numbers = [str(i + 1) for i in range(layers)]
        head_numbers = [str(i + 1) for i in range(heads)]
        label_axis(plot.getAxis("left"), layer_numbers, layer, pixels_per_unit(y_size))
        label_axis(plot.getAxis("bottom"), head_numbers, self._state.head, pixels_per_unit(x_size))
        if self._overview_shape == (layers, heads):
            return
        self._overview_shape = (layers, heads)
        xs, ys = [], []
        for i in range(1, layers):
            xs += [0, heads]
            ys += [i, i]
        for j in range(1, heads):
            xs += [j, j]
            ys += [0, layers]
        self._grid.setData(xs, ys)

    def _draw_tile_mark(self) -> None:
        result, views, _ready = self._shown()
        if views is None or result is None:
            return
        layer, head = self._state.layer, self._state.head
        top, rows = (0, result.num_layers) if self._lens.mean_layers else (layer, 1)
        if head == MEAN_OF_HEADS:
            place_outline(self._tile_outline, 0, top, result.num_heads, rows)
        else:
            place_outline(self._tile_outline, head, top, 1, rows)

    # --- view → state --------------------------------------------------------------------
    def _on_cell_hovered(self, row: int, col: int) -> None:
        self._hovered = (row, col) if row >= 0 else None
        self._show_readout()

    def _show_readout(self, view: LensedMatrix | None = None) -> None:
        """The hovered cell's weight in the matrix on show now (or the hint, off the map).

        Also called when the layer, head or lens changes under a still pointer: the read-out
        then follows the new matrix instead of naming the old one.
        """
        view = view or self.current_view()
        if view is None:
            return
        cell = self._hovered
        if cell is None or cell[0] >= view.matrix.shape[0] or cell[1] >= view.matrix.shape[1]:
            self.readout.setText(HOVER_HINT)
            return
        row, col = cell
        if self.image.is_masked(row, col):
            where = f'{self._where()} · "{view.labels[row]}" → "{view.labels[col]}"'
            self.readout.setText(f"{where}: {MASKED_TEXT}")
            return
        value = float(view.matrix[row, col])
        self.readout.setText(attention_readout(self._where(), view.labels, row, col, value))

    def _on_cell_clicked(self, row: int, col: int, modifiers: object) -> None:
        shift = bool(modifiers & Qt.KeyboardModifier.ShiftModifier)  # type: ignore[operator]
        result = self._shown()[0]
        if result is None:
            return
        _, row_of_token = token_rows(result, self._lens.settings.words)
        picked = col if shift else row
        tokens = np.flatnonzero(row_of_token == picked)
        if tokens.size:
            self._state.set_token(int(tokens[0]))

    def _on_tile_hovered(self, row: int, col: int) -> None:
        result = self._shown()[0]
        if result is None or row < 0:
            return
        cell = mosaic_cell(row, col, result.num_tokens)
        self.overview.setToolTip(f"layer {cell.layer + 1} · head {cell.head + 1} (click to show)")

    def _on_tile_clicked(self, row: int, col: int, _modifiers: object) -> None:
        result = self._shown()[0]
        if result is None:
            return
        cell = mosaic_cell(row, col, result.num_tokens)
        self._lens.set_mean_layers(False)
        self._state.set_layer(cell.layer)
        self._state.set_head(cell.head)
