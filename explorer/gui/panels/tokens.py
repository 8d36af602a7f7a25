"""Tokens panel: index, token, id, token type, character span and flags, one row a token."""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import (
    QAbstractTableModel,
    QItemSelection,
    QItemSelectionModel,
    QModelIndex,
    QPersistentModelIndex,
    Qt,
)
from PySide6.QtGui import QColor
from PySide6.QtWidgets import (
    QAbstractItemView,
    QHeaderView,
    QLabel,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from explorer.core.results import InferenceResult
from explorer.gui.state import ExplorerState

COLUMNS = ("#", "token", "id", "type", "span", "text", "flags")
UNK_COLOR = QColor(230, 120, 0)
SPECIAL_COLOR = QColor(120, 120, 160)

_Index = QModelIndex | QPersistentModelIndex


def token_flags(result: InferenceResult, row: int) -> str:
    """Short flags: special tokens, unknown pieces and word-piece continuations."""
    flags = []
    if result.special_tokens_mask[row]:
        flags.append("special")
    if result.unk_mask[row]:
        flags.append("UNK")
    if str(result.tokens[row]).startswith("##"):
        flags.append("##cont")
    return " ".join(flags)


def token_span_text(result: InferenceResult, row: int) -> str:
    """The characters a token came from, or '' for special tokens."""
    sentence = result.sentence_of(row)
    if sentence is None:
        return ""
    start, end = (int(v) for v in result.offsets[row])
    return sentence[start:end]


class TokenTableModel(QAbstractTableModel):
    """Reads rows straight from the state's result; holds nothing of its own."""

    def __init__(self, state: ExplorerState) -> None:
        super().__init__()
        self._state = state
        state.result_changed.connect(self._on_result_changed)

    def _on_result_changed(self) -> None:
        self.beginResetModel()
        self.endResetModel()

    def rowCount(self, parent: _Index = QModelIndex()) -> int:  # noqa: B008
        """Qt API: one row a token."""
        result = self._state.result
        return 0 if parent.isValid() or result is None else result.num_tokens

    def columnCount(self, parent: _Index = QModelIndex()) -> int:  # noqa: B008
        """Qt API: the fixed columns."""
        return 0 if parent.isValid() else len(COLUMNS)

    def headerData(
        self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole
    ) -> Any:
        """Qt API: column titles."""
        if role == Qt.ItemDataRole.DisplayRole and orientation == Qt.Orientation.Horizontal:
            return COLUMNS[section]
        return None

    def data(self, index: _Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        """Qt API: the cell text, with colour for special and unknown tokens."""
        result = self._state.result
        if result is None or not index.isValid():
            return None
        row, column = index.row(), index.column()
        if role == Qt.ItemDataRole.DisplayRole:
            return self._display(result, row, COLUMNS[column])
        if role == Qt.ItemDataRole.ForegroundRole:
            if result.unk_mask[row]:
                return UNK_COLOR
            if result.special_tokens_mask[row]:
                return SPECIAL_COLOR
        if role == Qt.ItemDataRole.TextAlignmentRole and COLUMNS[column] in ("#", "id", "type"):
            return int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        return None

    @staticmethod
    def _display(result: InferenceResult, row: int, column: str) -> str:
        if column == "#":
            return str(row)
        if column == "token":
            return str(result.tokens[row])
        if column == "id":
            return str(int(result.input_ids[row]))
        if column == "type":
            return str(int(result.token_type_ids[row]))
        if column == "span":
            if result.special_tokens_mask[row]:
                return "—"
            start, end = (int(v) for v in result.offsets[row])
            sentence = "A" if result.sequence_ids[row] == 0 else "B"
            return f"{sentence} {start}–{end}"
        if column == "text":
            return token_span_text(result, row)
        return token_flags(result, row)


class TokensPanel(QWidget):
    """The token table; selecting a row selects that token everywhere."""

    def __init__(self, state: ExplorerState, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._state = state
        self._model = TokenTableModel(state)
        self.table = QTableView()
        self.table.setModel(self._model)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.verticalHeader().setVisible(False)
        self.table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        self.table.horizontalHeader().setStretchLastSection(True)
        self.summary = QLabel()
        self.summary.setWordWrap(True)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.summary)
        layout.addWidget(self.table)

        self.table.selectionModel().selectionChanged.connect(self._on_table_selection_changed)
        state.result_changed.connect(self._on_result_changed)
        state.token_changed.connect(self._on_token_changed)
        self._on_result_changed()

    def _on_result_changed(self) -> None:
        result = self._state.result
        if result is None:
            self.summary.setText("No tokens yet.")
            return
        unknown = int(result.unk_mask.sum())
        text = f"{result.num_tokens} tokens"
        if unknown:
            text += f" · {unknown} [UNK]"
        if result.truncated:
            text += f" · truncated, {result.tokens_dropped} dropped"
        self.summary.setText(text)
        self._on_token_changed(self._state.token)

    def _on_token_changed(self, token: int) -> None:
        selection = self.table.selectionModel()
        if token < 0 or token >= self._model.rowCount():
            selection.clearSelection()
            return
        index = self._model.index(token, 0)
        rows = QItemSelection(index, self._model.index(token, len(COLUMNS) - 1))
        selection.select(rows, QItemSelectionModel.SelectionFlag.ClearAndSelect)
        self.table.scrollTo(index)

    def _on_table_selection_changed(self, *_: object) -> None:
        rows = self.table.selectionModel().selectedRows()
        if rows:
            self._state.set_token(rows[0].row())
