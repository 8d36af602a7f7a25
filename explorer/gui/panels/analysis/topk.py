"""Top-k for the selected token: where it attends most, and which tokens attend to it most.

Both lists read the same matrix as the attention heatmap (selected layer and head, pooling
and lens), so they change with every selection; clicking an entry selects that token.
"""

from __future__ import annotations

from collections.abc import Sequence

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QAbstractItemView,
    QGridLayout,
    QHeaderView,
    QLabel,
    QSpinBox,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from explorer.core.analysis.blocks import ALL
from explorer.core.analysis.topk import attended_by, attends_to
from explorer.gui.panels.analysis.common import (
    ShowAware,
    bind_option,
    displayed_attention,
    hidden_query_notice,
    lens_notice,
    on_screen,
    titled,
    where_label,
)
from explorer.gui.state.explorer_state import ExplorerState

DEFAULT_K = 5
TOKEN_ROLE = Qt.ItemDataRole.UserRole


def _ranked_table() -> QTableWidget:
    table = QTableWidget(0, 3)
    table.setHorizontalHeaderLabels(["#", "token", "weight"])
    table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
    table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
    table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
    table.verticalHeader().setVisible(False)
    header = table.horizontalHeader()
    header.setSectionResizeMode(0, QHeaderView.ResizeMode.ResizeToContents)
    header.setSectionResizeMode(1, QHeaderView.ResizeMode.Stretch)
    header.setSectionResizeMode(2, QHeaderView.ResizeMode.ResizeToContents)
    return table


class TopKPanel(ShowAware):
    """Two ranked lists for the selected token, live with the selection and the lens."""

    def __init__(self, state: ExplorerState, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._state = state
        self._lens = state.lens
        self.title = QLabel()
        self.title.setWordWrap(True)
        self.k_spin = QSpinBox()
        self.k_spin.setRange(1, 30)
        self.k_spin.setValue(DEFAULT_K)
        self.k_spin.setPrefix("top ")
        self.k_spin.setToolTip("How many tokens each list shows")
        self.message = QLabel()
        self.message.setWordWrap(True)
        self.attends_table = _ranked_table()
        self.attended_table = _ranked_table()
        grid = QGridLayout()
        grid.addWidget(QLabel("Attends most to (its row)"), 0, 0)
        grid.addWidget(QLabel("Attended most by (its column)"), 0, 1)
        grid.addWidget(self.attends_table, 1, 0)
        grid.addWidget(self.attended_table, 1, 1)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.addWidget(self.title)
        layout.addWidget(self.k_spin)
        layout.addWidget(self.message)
        layout.addLayout(grid, 1)

        self.k_spin.valueChanged.connect(self.refresh)
        bind_option(
            state.panel_options,
            "topk.k",
            self.k_spin.value,
            lambda k: self.k_spin.setValue(int(k)),
            self.k_spin.valueChanged,
            lambda k: isinstance(k, int) and not isinstance(k, bool),
        )
        for table in (self.attends_table, self.attended_table):
            table.cellClicked.connect(lambda row, _col, t=table: self._on_entry_clicked(t, row))
        for signal in (state.result_changed, state.layer_changed, state.head_changed):
            signal.connect(self.refresh)
        state.token_changed.connect(self.refresh)
        self._lens.changed.connect(self.refresh)
        self.refresh()

    def entries(self, which: str) -> list[tuple[str, float]]:
        """(label, weight) rows of ``attends`` or ``attended`` (tests and screen readers)."""
        table = self.attends_table if which == "attends" else self.attended_table
        return [
            (table.item(r, 1).text(), float(table.item(r, 2).text()))
            for r in range(table.rowCount())
        ]

    def refresh(self, *_: object) -> None:
        """Re-rank for the current token, layer, head and lens (only when on screen)."""
        if not on_screen(self):
            return  # a buried tab: ranked again when it is raised
        state, lens = self._state, self._lens
        view = displayed_attention(state, lens)
        if view is None or state.token < 0:
            self._fill(self.attends_table, [], [], ())
            self._fill(self.attended_table, [], [], ())
            self.title.setText("No result yet." if view is None else "Select a token.")
            self.message.setText("")
            return
        row = int(view.row_of_token[state.token])
        k = self.k_spin.value()
        where = where_label(state.layer, state.head, lens.head_pool, lens.mean_layers)
        self.title.setText(titled(f'"{view.labels[row]}" · {where}', lens.settings))
        to_idx, to_val = attends_to(view.matrix, row, k)
        by_idx, by_val = attended_by(view.matrix, row, k)
        self._fill(self.attends_table, to_idx, to_val, view.labels, view.token_of_row)
        self._fill(self.attended_table, by_idx, by_val, view.labels, view.token_of_row)
        result = state.result
        notice = lens_notice(result, lens.settings) or hidden_query_notice(
            result, state.token, lens.settings
        )
        empty = [name for name, idx in (("row", to_idx), ("column", by_idx)) if len(idx) == 0]
        if not notice and empty and lens.settings.block != ALL:
            notice = (
                f"{lens.settings.block} keeps only queries in "
                f"{lens.settings.block[0]} attending to keys in {lens.settings.block[-1]}: "
                f'nothing is left in the {" or the ".join(empty)} of "{view.labels[row]}".'
            )
        self.message.setText(notice)
        self.message.setVisible(bool(notice))

    def _fill(
        self,
        table: QTableWidget,
        indices: Sequence[int],
        values: Sequence[float],
        labels: Sequence[str],
        token_of_row: Sequence[int] = (),
    ) -> None:
        table.setRowCount(len(indices))
        for rank, (index, value) in enumerate(zip(indices, values, strict=True)):
            cells = (str(rank + 1), str(labels[index]), f"{value:.3f}")
            for col, text in enumerate(cells):
                item = QTableWidgetItem(text)
                item.setData(TOKEN_ROLE, int(token_of_row[index]))
                if col != 1:
                    item.setTextAlignment(Qt.AlignmentFlag.AlignRight)
                table.setItem(rank, col, item)

    def _on_entry_clicked(self, table: QTableWidget, row: int) -> None:
        item = table.item(row, 0)
        if item is not None:
            self._state.set_token(int(item.data(TOKEN_ROLE)))
