"""Per-head statistics (Clark et al. 2019): a layers × heads grid and a sortable table.

The grid is coloured by one chosen statistic and lettered with each head's pattern label;
clicking a cell (or a table row) selects that layer and head everywhere.
"""

from __future__ import annotations

import math

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QItemSelectionModel, Qt
from PySide6.QtGui import QStandardItem, QStandardItemModel
from PySide6.QtWidgets import (
    QAbstractItemView,
    QComboBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QSplitter,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from explorer.core.analysis.head_stats import PATTERNS, STATISTICS, HeadStats, role_labels
from explorer.gui.panels.analysis.common import OnDemand, ShowAware, bind_option
from explorer.gui.panels.plotting.plots import (
    ATTENTION_COLORMAP,
    cell_texts,
    finite_top,
    make_head_grid,
    number_head_grid,
    outline_item,
    place_outline,
    set_title,
    show_head_values,
)
from explorer.gui.state.explorer_state import MEAN_OF_HEADS, ExplorerState

PATTERN = "pattern"
PATTERN_COLORS = ("#6a3d9a", "#1f78b4", "#33a02c", "#bdbdbd")  # vertical, diagonal, block, het.
PATTERN_LETTERS = {name: name[0].upper() for name in PATTERNS}
SHARES = frozenset(STATISTICS) - {"entropy", "distance"}
LEGEND = "Letters: " + " · ".join(f"{PATTERN_LETTERS[p]} {p}" for p in PATTERNS)
RULES = (
    "Pattern label, first rule that holds: vertical if [CLS] + [SEP] + punctuation ≥ 0.5 or "
    "one key gets ≥ 0.5; diagonal if previous + self + next ≥ 0.5; block (pairs only) if "
    "≥ 0.8 stays in the query's own sentence; heterogeneous otherwise."
)
SORT_ROLE = Qt.ItemDataRole.UserRole
LAYER_ROLE = Qt.ItemDataRole.UserRole + 1
HEAD_ROLE = Qt.ItemDataRole.UserRole + 2
COLUMNS = ("layer", "head", PATTERN, *STATISTICS)


def stat_levels(name: str, values: np.ndarray, num_tokens: int) -> tuple[float, float]:
    """Fixed, comparable colour levels: shares 0–1, entropy 0–log T, distance 0–max."""
    if name in SHARES:
        return 0.0, 1.0
    if name == "entropy":
        return 0.0, max(math.log(max(num_tokens, 2)), 1e-6)
    if name == PATTERN:
        return 0.0, float(len(PATTERNS) - 1)
    return 0.0, finite_top(values)


def pattern_codes(pattern: np.ndarray) -> np.ndarray:
    """The pattern labels as 0 … 3 (the order of PATTERNS), float32 for the image."""
    codes = np.zeros(pattern.shape, dtype=np.float32)
    for code, name in enumerate(PATTERNS):
        codes[pattern == name] = code
    return codes


class HeadStatsPanel(ShowAware):
    """Grid of every head coloured by a statistic, and the same numbers as a sortable table."""

    def __init__(self, state: ExplorerState, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._state = state
        self._lens = state.lens
        self._stats: HeadStats | None = None
        self._letters: list[pg.TextItem] = []
        self.stat_combo = QComboBox()
        for key, label in STATISTICS.items():
            self.stat_combo.addItem(label, key)
        self.stat_combo.addItem("pattern label", PATTERN)
        self.stat_combo.setToolTip("The statistic that colours the grid")
        self.message = QLabel()
        self.message.setWordWrap(True)
        self.legend = QLabel(LEGEND)
        self.legend.setWordWrap(True)  # one long line set the window's minimum width
        self.legend.setToolTip(RULES)
        self.readout = QLabel("Hover over a head to read its statistics; click to select it.")
        self.readout.setWordWrap(True)
        self.readout.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)

        self.grid, self.image, self.colorbar = make_head_grid(
            STATISTICS["entropy"], "Click a head to select it in every panel"
        )
        self._outline = outline_item(self.grid.getPlotItem())

        self.model = QStandardItemModel(0, len(COLUMNS))
        self.model.setHorizontalHeaderLabels(
            [STATISTICS.get(c, c) for c in COLUMNS]  # type: ignore[arg-type]
        )
        self.model.setSortRole(SORT_ROLE)
        self.table = QTableView()
        self.table.setModel(self.model)
        self.table.setSortingEnabled(True)
        self.table.sortByColumn(0, Qt.SortOrder.AscendingOrder)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.table.verticalHeader().setVisible(False)
        self.table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)

        top = QHBoxLayout()
        top.addWidget(QLabel("Colour by"))
        top.addWidget(self.stat_combo)
        top.addWidget(self.legend)
        top.addStretch(1)
        upper = QWidget()
        upper_layout = QVBoxLayout(upper)
        upper_layout.setContentsMargins(0, 0, 0, 0)
        upper_layout.addWidget(self.grid, 1)
        upper_layout.addWidget(self.readout)
        splitter = QSplitter(Qt.Orientation.Vertical)
        splitter.addWidget(upper)
        splitter.addWidget(self.table)
        splitter.setStretchFactor(0, 3)
        splitter.setStretchFactor(1, 2)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.addLayout(top)
        layout.addWidget(self.message)
        layout.addWidget(splitter, 1)

        self._request = OnDemand(state, "head_stats", self, self._on_stats, self._on_status)
        self.stat_combo.currentIndexChanged.connect(self._draw_grid)
        bind_option(
            state.panel_options,
            "head_stats.statistic",
            lambda: self.statistic,
            lambda key: self.set_statistic(str(key)),
            self.stat_combo.currentIndexChanged,
            lambda key: isinstance(key, str) and self.stat_combo.findData(key) >= 0,
        )
        self.image.cell_hovered.connect(self._on_cell_hovered)
        self.image.cell_clicked.connect(self._on_cell_clicked)
        self.table.selectionModel().selectionChanged.connect(self._on_table_selection)
        state.result_changed.connect(self.refresh)
        state.layer_changed.connect(self._mark_selection)
        state.head_changed.connect(self._mark_selection)
        self.refresh()

    @property
    def statistic(self) -> str:
        """The key of the statistic that colours the grid."""
        return str(self.stat_combo.currentData())

    def set_statistic(self, key: str) -> None:
        """Colour the grid by ``key`` (a STATISTICS key or ``pattern``)."""
        self.stat_combo.setCurrentIndex(self.stat_combo.findData(key))

    def refresh(self) -> None:
        """Ask for the statistics of the result on show (drawn at once when already here)."""
        if self._state.result is None:
            self._request.want(None)
            self._clear()
            self._show_message("No result yet.")
            return
        self._request.want({})

    # --- drawing ---------------------------------------------------------------------------
    def _show_message(self, text: str) -> None:
        self.message.setText(text)
        self.message.setVisible(bool(text))

    def _on_status(self, text: str) -> None:
        self._clear()
        self._show_message(text)

    def _clear(self) -> None:
        self._stats = None
        self.image.clear()
        self._outline.setVisible(False)
        for letter in self._letters:
            letter.setText("")
        self.model.setRowCount(0)

    def labels(self) -> dict[str, str]:
        """Each statistic's name, [CLS] and [SEP] spelt as the loaded family does (<s>, </s>)."""
        info = self._state.model_info
        return role_labels(info.special_tokens) if info is not None else dict(STATISTICS)

    def _name_statistics(self) -> None:
        labels = self.labels()
        for index in range(self.stat_combo.count()):
            key = self.stat_combo.itemData(index)
            if key in labels:
                self.stat_combo.setItemText(index, labels[key])
        self.model.setHorizontalHeaderLabels([labels.get(c, c) for c in COLUMNS])

    def _on_stats(self, stats: HeadStats) -> None:
        self._stats = stats
        self._name_statistics()
        self._show_message("")
        self._ensure_letters(*stats.pattern.shape)
        self._fill_table(stats)
        self._draw_grid()

    def _ensure_letters(self, layers: int, heads: int) -> None:
        """One TextItem per head, made when the model's shape changes, then only re-texted."""
        plot = self.grid.getPlotItem()
        if len(self._letters) != layers * heads:
            for letter in self._letters:
                plot.removeItem(letter)
            self._letters = cell_texts(plot, layers, heads)
        number_head_grid(plot, layers, heads)

    def grid_values(self) -> np.ndarray | None:
        """The (L, H) values that colour the grid now."""
        stats = self._stats
        if stats is None:
            return None
        key = self.statistic
        return pattern_codes(stats.pattern) if key == PATTERN else stats.values[key]

    def _draw_grid(self, *_: object) -> None:
        stats, result = self._stats, self._state.result
        values = self.grid_values()
        if stats is None or result is None or values is None:
            return
        key = self.statistic
        levels = stat_levels(key, values, result.num_tokens)
        if key == PATTERN:
            colormap = pg.ColorMap(np.linspace(0.0, 1.0, len(PATTERNS)), PATTERN_COLORS)
        else:
            colormap = pg.colormap.get(ATTENTION_COLORMAP)
        self.colorbar.setColorMap(colormap)
        self.colorbar.setVisible(key != PATTERN)
        show_head_values(self.grid, self.image, self.colorbar, values, levels)
        low, high = levels
        heads = values.shape[1]
        for index, letter in enumerate(self._letters):
            layer, head = divmod(index, heads)
            level = (float(values[layer, head]) - low) / (high - low) if high > low else 0.0
            letter.setColor("k" if key != PATTERN and level > 0.6 else "w")
            letter.setText(PATTERN_LETTERS[str(stats.pattern[layer, head])])
        label = self.labels().get(key, "pattern label")
        self.colorbar.getAxis("left").setLabel(label)
        set_title(self.grid.getPlotItem(), f"Every head, coloured by {label}")
        self._mark_selection()

    def _fill_table(self, stats: HeadStats) -> None:
        self.table.setSortingEnabled(False)
        layers, heads = stats.pattern.shape
        self.model.setRowCount(0)
        for layer in range(layers):
            for head in range(heads):
                cells: list[QStandardItem] = []
                for column in COLUMNS:
                    if column == "layer":
                        text, key = str(layer + 1), layer
                    elif column == "head":
                        text, key = str(head + 1), head
                    elif column == PATTERN:
                        text = key = str(stats.pattern[layer, head])
                    else:
                        value = float(stats.values[column][layer, head])
                        text, key = f"{value:.3f}", value
                    item = QStandardItem(text)
                    item.setData(key, SORT_ROLE)
                    item.setData(layer, LAYER_ROLE)
                    item.setData(head, HEAD_ROLE)
                    cells.append(item)
                self.model.appendRow(cells)
        self.table.setSortingEnabled(True)

    def table_rows(self) -> list[tuple[int, int]]:
        """(layer, head) of each table row in the order shown (0-based)."""
        return [self._row_head(r) for r in range(self.model.rowCount())]

    def _row_head(self, row: int) -> tuple[int, int]:
        item = self.model.item(row, 0)
        return int(item.data(LAYER_ROLE)), int(item.data(HEAD_ROLE))

    # --- selection --------------------------------------------------------------------------
    def _mark_selection(self, *_: object) -> None:
        values = self.grid_values()
        if values is None:
            return
        heads = values.shape[1]
        layer, head = self._state.layer, self._state.head
        if head == MEAN_OF_HEADS:
            place_outline(self._outline, 0, layer, heads, 1)
        else:
            place_outline(self._outline, head, layer, 1, 1)
        selection = self.table.selectionModel()
        selection.blockSignals(True)
        selection.clearSelection()
        for row in range(self.model.rowCount()):
            if self._row_head(row) == (layer, head):
                flags = (
                    QItemSelectionModel.SelectionFlag.ClearAndSelect
                    | QItemSelectionModel.SelectionFlag.Rows
                )
                selection.select(self.model.index(row, 0), flags)
                self.table.scrollTo(self.model.index(row, 0))
                break
        selection.blockSignals(False)
        self.table.viewport().update()

    def _on_cell_hovered(self, row: int, col: int) -> None:
        stats = self._stats
        if stats is None or row < 0:
            return
        parts = [f"layer {row + 1} · head {col + 1} · {stats.pattern[row, col]}"]
        parts += [f"{label} {stats.values[k][row, col]:.3f}" for k, label in self.labels().items()]
        self.readout.setText(" · ".join(parts))

    def _on_cell_clicked(self, row: int, col: int, _modifiers: object) -> None:
        self._select(row, col)

    def _on_table_selection(self, *_: object) -> None:
        rows = self.table.selectionModel().selectedRows()
        if rows:
            self._select(*self._row_head(rows[0].row()))

    def _select(self, layer: int, head: int) -> None:
        self._lens.set_mean_layers(False)
        self._state.set_layer(layer)
        self._state.set_head(head)
