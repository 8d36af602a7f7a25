"""Tokens panel: index, token, id, token type, character span and flags, one row a token."""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import (
    QAbstractTableModel,
    QItemSelection,
    QItemSelectionModel,
    QModelIndex,
    QModelRoleDataSpan,
    QPersistentModelIndex,
    QPoint,
    Qt,
)
from PySide6.QtGui import QColor
from PySide6.QtWidgets import (
    QAbstractItemView,
    QHeaderView,
    QLabel,
    QMenu,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from explorer.core.results import InferenceResult
from explorer.core.tokenization import WORDPIECE, token_spans
from explorer.gui.state.explorer_state import ExplorerState

COLUMNS = ("#", "token", "id", "type", "span", "text", "flags", "label")
LABEL_COLUMN = COLUMNS.index("label")  # a token-classification head's label; hidden otherwise
NO_TYPE = "—"
NO_TYPE_HEADER = "type: none"  # the column's title for a family without token types
UNK_COLOR = QColor(230, 120, 0)
SPECIAL_COLOR = QColor(120, 120, 160)

_Index = QModelIndex | QPersistentModelIndex


def table_rows(result: InferenceResult) -> list[tuple[str, ...]]:
    """Every cell's text, built once per result (numpy → Python in bulk, not per cell)."""
    ids = result.input_ids.tolist()
    # A family without token types (DistilBERT, GPT-2, DeBERTa-v3) gets no made-up zeros.
    types = result.token_type_ids.tolist() if result.model.has_token_types else None
    offsets = result.offsets.tolist()
    special = result.special_tokens_mask.tolist()
    unknown = result.unk_mask.tolist()
    sequences = result.sequence_ids.tolist()
    tokens = [str(t) for t in result.tokens.tolist()]
    labels = _token_labels(result)
    # Byte-level BPE and SentencePiece mark a word's first piece (Ġ, ▁), not the others.
    marks_starts = result.model.tokenizer_kind != WORDPIECE
    spans = token_spans(result) if marks_starts else ()
    rows = []
    for row, token in enumerate(tokens):
        start, end = offsets[row]
        if special[row]:
            span, text = "—", ""
        else:
            sentence = result.text if sequences[row] == 0 else result.pair
            span = f"{'A' if sequences[row] == 0 else 'B'} {start}–{end}"
            text = sentence[start:end] if sentence is not None else ""
        flags = []
        if special[row]:
            flags.append("special")
        if unknown[row]:
            flags.append("UNK")
        if token.startswith("##"):
            flags.append("##cont")
        elif marks_starts and spans[row].continuation:
            flags.append("cont")  # a later piece of its word
        kind = str(types[row]) if types is not None else NO_TYPE
        label = labels[row] if labels else ""
        rows.append((str(row), token, str(ids[row]), kind, span, text, " ".join(flags), label))
    return rows


def _token_labels(result: InferenceResult) -> list[str]:
    """'B-PER 0.97' per token when the model has a token-classification head, else []."""
    predictions = result.predictions
    labels = predictions.token_labels() if predictions is not None else []
    return [f"{label} {prob:.2f}" for label, prob in labels]


_DISPLAY = Qt.ItemDataRole.DisplayRole.value
_FOREGROUND = Qt.ItemDataRole.ForegroundRole.value
_ALIGN = Qt.ItemDataRole.TextAlignmentRole.value
_RIGHT = int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
_ALIGNMENT = tuple(_RIGHT if name in ("#", "id", "type") else None for name in COLUMNS)


class TokenTableModel(QAbstractTableModel):
    """Rows of the state's result, as text built once per result (Qt asks for cells a lot)."""

    def __init__(self, state: ExplorerState) -> None:
        super().__init__()
        self._state = state
        self._rows: list[tuple[str, ...]] = []
        self._colors: list[QColor | None] = []
        state.result_changed.connect(self._on_result_changed)
        self._on_result_changed()

    def _on_result_changed(self) -> None:
        self.beginResetModel()
        result = self._state.result
        self._rows = table_rows(result) if result is not None else []
        if result is None:
            self._colors = []
        else:
            self._colors = [
                UNK_COLOR if unk else SPECIAL_COLOR if special else None
                for unk, special in zip(
                    result.unk_mask.tolist(), result.special_tokens_mask.tolist(), strict=True
                )
            ]
        self.endResetModel()

    @property
    def rows(self) -> list[tuple[str, ...]]:
        """The cell texts on show, one tuple a token."""
        return self._rows

    def rowCount(self, parent: _Index = QModelIndex()) -> int:  # noqa: B008
        """Qt API: one row a token."""
        return 0 if parent.isValid() else len(self._rows)

    def columnCount(self, parent: _Index = QModelIndex()) -> int:  # noqa: B008
        """Qt API: the fixed columns."""
        return 0 if parent.isValid() else len(COLUMNS)

    def headerData(
        self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole
    ) -> Any:
        """Qt API: column titles."""
        if orientation != Qt.Orientation.Horizontal:
            return None
        result = self._state.result
        no_types = result is not None and not result.model.has_token_types
        if role == Qt.ItemDataRole.DisplayRole:
            return NO_TYPE_HEADER if no_types and COLUMNS[section] == "type" else COLUMNS[section]
        if role == Qt.ItemDataRole.ToolTipRole and no_types and COLUMNS[section] == "type":
            return f"{result.model.model_type} has no token types (segment ids)"
        return None

    def _value(self, row: int, column: int, role: int) -> str | QColor | int | None:
        """A cell for ``role``: its text, colour for special and unknown tokens, alignment."""
        if role == _DISPLAY:
            return self._rows[row][column]
        if role == _FOREGROUND:
            return self._colors[row]
        if role == _ALIGN:
            return _ALIGNMENT[column]
        return None

    def data(self, index: _Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        """Qt API: one role of a cell."""
        return self._value(index.row(), index.column(), int(role))

    def multiData(self, index: _Index, roleDataSpan: QModelRoleDataSpan) -> None:
        """Qt API: all the roles of a cell in one call.

        The delegate asks for seven roles per painted cell; one call from C++ instead of seven
        matters with a screenful of rows.
        """
        row, column = index.row(), index.column()
        text, color, alignment = self._rows[row][column], self._colors[row], _ALIGNMENT[column]
        for entry in roleDataSpan:
            role = entry.role()
            if role == _DISPLAY:
                entry.setData(text)
            elif role == _FOREGROUND and color is not None:
                entry.setData(color)
            elif role == _ALIGN and alignment is not None:
                entry.setData(alignment)
            else:
                entry.clearData()


class TokensPanel(QWidget):
    """The token table; selecting a row selects that token everywhere."""

    def __init__(self, state: ExplorerState, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._state = state
        self._model = TokenTableModel(state)
        self.table = QTableView()
        self.table.setWordWrap(False)  # tokens are short; wrapped layout doubled the paint time
        self.table.setModel(self._model)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.verticalHeader().setVisible(False)
        # Widths come from the longest texts once per result (_fit_columns): ResizeToContents
        # would ask the model for every cell of every row, which takes ~0.1 s at 512 tokens.
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.ResizeMode.Interactive)
        header.setStretchLastSection(True)
        self.table.verticalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Fixed)
        self.summary = QLabel()
        self.summary.setWordWrap(True)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.summary)
        layout.addWidget(self.table)

        self.table.selectionModel().selectionChanged.connect(self._on_table_selection_changed)
        self.table.setContextMenuPolicy(Qt.ContextMenuPolicy.CustomContextMenu)
        self.table.customContextMenuRequested.connect(self._on_context_menu)
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
        self.table.setColumnHidden(LABEL_COLUMN, not _token_labels(result))
        self._fit_columns()
        self._on_token_changed(self._state.token)

    def _fit_columns(self) -> None:
        """Size each column to its widest text (a few font measurements, not a full scan)."""
        metrics = self.table.fontMetrics()
        header_metrics = self.table.horizontalHeader().fontMetrics()
        padding = 2 * metrics.averageCharWidth() + 6
        rows = self._model.rows
        for column, title in enumerate(COLUMNS[:-1]):
            texts = [row[column] for row in rows]
            longest = sorted(texts, key=len, reverse=True)[:8]  # proportional font: try a few
            width = max([metrics.horizontalAdvance(t) for t in longest], default=0)
            width = max(width, header_metrics.horizontalAdvance(title) + 4) + padding
            self.table.horizontalHeader().resizeSection(column, width)

    def _on_token_changed(self, token: int) -> None:
        selection = self.table.selectionModel()
        if token < 0 or token >= self._model.rowCount():
            selection.clearSelection()
            return
        index = self._model.index(token, 0)
        rows = QItemSelection(index, self._model.index(token, len(COLUMNS) - 1))
        selection.select(rows, QItemSelectionModel.SelectionFlag.ClearAndSelect)
        self.table.scrollTo(index)

    def context_menu(self, row: int) -> QMenu:
        """Row ``row``'s menu: mask that token, then the panel's own entries (exports)."""
        menu = QMenu(self)
        mask = menu.addAction("Mask this token and run (M)")
        result = self._state.result
        info = result.model if result is not None else None
        mask.setEnabled(
            info is not None
            and bool(info.mask_token)
            and result is not None
            and not bool(result.special_tokens_mask[row])
        )
        if info is not None and not info.mask_token:
            mask.setToolTip("This model has no masked-LM head")
        mask.triggered.connect(lambda: self._state.request_mask(row))
        if self.actions():
            menu.addSeparator()
            menu.addActions(self.actions())
        return menu

    def _on_context_menu(self, position: QPoint) -> None:
        row = self.table.rowAt(position.y())
        if row < 0:
            return
        self._state.set_token(row)
        self.context_menu(row).exec(self.table.viewport().mapToGlobal(position))

    def _on_table_selection_changed(self, *_: object) -> None:
        rows = self.table.selectionModel().selectedRows()
        if rows:
            self._state.set_token(rows[0].row())
