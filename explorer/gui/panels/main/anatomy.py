"""Model anatomy: every named parameter with its shape and size, grouped as the lecture draws BERT.

The table comes with ModelInfo (filled once at load time), so this panel never touches the
model. Choosing an encoder group, by mouse or arrow keys, selects that layer everywhere.
"""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtGui import QBrush, QColor, QFont
from PySide6.QtWidgets import (
    QAbstractItemView,
    QFormLayout,
    QGroupBox,
    QHeaderView,
    QLabel,
    QTreeWidget,
    QTreeWidgetItem,
    QVBoxLayout,
    QWidget,
)

from explorer.core.anatomy import build_anatomy, config_summary, format_shape, shape_symbols
from explorer.gui.state.explorer_state import ExplorerState

COLUMNS = ("parameter", "shape", "values")
LAYER_ROLE = Qt.ItemDataRole.UserRole
SELECTED_BACKGROUND = "#ffcf4d"
RIGHT = Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter
NO_MODEL_TEXT = "No model loaded yet."
NO_TABLE_TEXT = "This model's parameter table is not available (it was loaded without one)."


class AnatomyPanel(QWidget):
    """Config summary, totals, and a tree of parameter groups; encoder groups select layers."""

    def __init__(self, state: ExplorerState, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._state = state
        self._rebuilding = False

        self.config_box = QGroupBox("Configuration")
        self.config_form = QFormLayout(self.config_box)
        self.totals = QLabel(NO_MODEL_TEXT)
        self.totals.setWordWrap(True)
        self.totals.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        bold = QFont(self.totals.font())
        bold.setBold(True)
        self.totals.setFont(bold)
        self.tree = QTreeWidget()
        self.tree.setColumnCount(len(COLUMNS))
        self.tree.setHeaderLabels(list(COLUMNS))
        self.tree.setAlternatingRowColors(True)
        self.tree.setUniformRowHeights(True)
        self.tree.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.tree.setAccessibleName("Named parameters by group")
        header = self.tree.header()
        header.setStretchLastSection(False)
        # Names whole, scrolling sideways in a narrow dock: stretched, the name column took
        # what the numbers left and every group read "…" in the default layout.
        header.setSectionResizeMode(0, QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(1, QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(2, QHeaderView.ResizeMode.ResizeToContents)
        hint = QLabel("Click an encoder (or use the arrow keys) to select that layer everywhere.")
        hint.setWordWrap(True)

        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.addWidget(self.config_box)
        layout.addWidget(self.totals)
        layout.addWidget(hint)
        layout.addWidget(self.tree, 1)

        self.tree.currentItemChanged.connect(self._on_current_item_changed)
        self.tree.itemClicked.connect(self._on_item_clicked)
        state.model_changed.connect(self._on_model_changed)
        state.layer_changed.connect(self._on_layer_changed)
        self._on_model_changed()

    # --- read-outs for tests and the lecture -----------------------------------------------
    def group_items(self) -> list[QTreeWidgetItem]:
        """The top-level group rows, in lecture order."""
        return [self.tree.topLevelItem(i) for i in range(self.tree.topLevelItemCount())]

    def encoder_item(self, layer: int) -> QTreeWidgetItem | None:
        """The group row of encoder layer ``layer`` (0-based)."""
        for item in self.group_items():
            if item.data(0, LAYER_ROLE) == layer:
                return item
        return None

    def config_rows(self) -> dict[str, str]:
        """The configuration summary as shown: label → value."""
        rows = {}
        for row in range(self.config_form.rowCount()):
            label = self.config_form.itemAt(row, QFormLayout.ItemRole.LabelRole)
            field = self.config_form.itemAt(row, QFormLayout.ItemRole.FieldRole)
            if label is not None and field is not None:
                rows[label.widget().text().rstrip(":")] = field.widget().text()
        return rows

    # --- state → view ----------------------------------------------------------------------
    def _on_model_changed(self) -> None:
        info = self._state.model_info
        self._rebuilding = True
        try:
            self.tree.clear()
            while self.config_form.rowCount():
                self.config_form.removeRow(0)
            if info is None:
                self.totals.setText(NO_MODEL_TEXT)
                return
            for label, value in config_summary(info):
                field = QLabel(value)
                field.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
                self.config_form.addRow(f"{label}:", field)
            if not info.parameters:
                self.totals.setText(NO_TABLE_TEXT)
                return
            anatomy = build_anatomy(info.parameters, info.num_layers)
            self.totals.setText(
                f"{anatomy.tensors} named parameters · {anatomy.values:,} values "
                f"({anatomy.values / 1e6:.1f} M)"
            )
            for group in anatomy.groups:
                share = 100 * group.values / anatomy.values if anatomy.values else 0.0
                title = group.title
                if group.key == "pooler" and not info.has_pooler:
                    title += ", not trained in this checkpoint"
                item = QTreeWidgetItem([title, f"{len(group.rows)} tensors", f"{group.values:,}"])
                item.setData(0, LAYER_ROLE, group.layer)
                item.setToolTip(0, f"{share:.1f} % of all values")
                item.setTextAlignment(2, RIGHT)
                for row in group.rows:
                    symbols = shape_symbols(row.shape, info)
                    shape = format_shape(row.shape) + (f"  ({symbols})" if symbols else "")
                    child = QTreeWidgetItem([row.short_name, shape, f"{row.values:,}"])
                    child.setData(0, LAYER_ROLE, group.layer)
                    child.setToolTip(0, row.name)
                    child.setTextAlignment(2, RIGHT)
                    item.addChild(child)
                self.tree.addTopLevelItem(item)
                # The few embedding and pooler rows are the lecture's point; encoders stay folded.
                item.setExpanded(group.layer < 0)
        finally:
            self._rebuilding = False
        self._on_layer_changed(self._state.layer)

    def _on_layer_changed(self, layer: int) -> None:
        """Mark the selected layer's group and bring it into view unless the user is in it."""
        for item in self.group_items():
            selected = item.data(0, LAYER_ROLE) == layer
            font = item.font(0)
            font.setBold(selected)
            for column in range(len(COLUMNS)):
                item.setFont(column, font)
                item.setBackground(
                    column, QBrush(QColor(SELECTED_BACKGROUND)) if selected else QBrush()
                )
                item.setForeground(column, QBrush(QColor("black")) if selected else QBrush())
        current = self.tree.currentItem()
        target = self.encoder_item(layer)
        if target is not None and (current is None or current.data(0, LAYER_ROLE) != layer):
            self.tree.scrollToItem(target)

    # --- view → state ----------------------------------------------------------------------
    def _on_current_item_changed(
        self, current: QTreeWidgetItem | None, _previous: QTreeWidgetItem | None
    ) -> None:
        if self._rebuilding or current is None:
            return
        self._select_layer_of(current)

    def _on_item_clicked(self, item: QTreeWidgetItem, _column: int) -> None:
        self._select_layer_of(item)

    def _select_layer_of(self, item: QTreeWidgetItem) -> None:
        layer = item.data(0, LAYER_ROLE)
        if isinstance(layer, int) and layer >= 0:
            self._state.set_layer(layer)
