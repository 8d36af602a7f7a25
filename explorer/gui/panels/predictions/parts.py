"""What the prediction pages share: read-only tables, still plots, a column of widgets."""

from __future__ import annotations

from collections.abc import Sequence

import pyqtgraph as pg
from PySide6.QtWidgets import (
    QAbstractItemView,
    QHeaderView,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from explorer.core.predictions import TopTokens
from explorer.gui.panels.plotting.plots import plot_widget


def read_only_table(headers: Sequence[str], stretch: int = 1) -> QTableWidget:
    """A table of rows the user selects but never edits; column ``stretch`` takes the room."""
    table = QTableWidget(0, len(headers))
    table.setHorizontalHeaderLabels(list(headers))
    table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
    table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
    table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
    table.verticalHeader().setVisible(False)
    header = table.horizontalHeader()
    header.setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
    header.setSectionResizeMode(stretch, QHeaderView.ResizeMode.Stretch)
    return table


def fill_rows(table: QTableWidget, rows: Sequence[Sequence[str]]) -> None:
    """Replace the table's rows with ``rows`` of text."""
    table.setRowCount(len(rows))
    for r, row in enumerate(rows):
        for c, text in enumerate(row):
            table.setItem(r, c, QTableWidgetItem(text))


def top_rows(top: TopTokens, row: int) -> list[list[str]]:
    """One position's top tokens as (rank, token, id, probability) rows."""
    return [
        [str(rank + 1), str(token), str(int(token_id)), f"{float(prob):.4f}"]
        for rank, (token, token_id, prob) in enumerate(
            zip(top.tokens[row], top.ids[row], top.probs[row], strict=True)
        )
    ]


def top_line(top: TopTokens, row: int, count: int = 10) -> str:
    """'paris 0.41 · london 0.12 · …' for the masks table."""
    return " · ".join(
        f"{token} {float(prob):.2f}"
        for token, prob in zip(top.tokens[row][:count], top.probs[row][:count], strict=True)
    )


STILL_PLOT_MIN_HEIGHT = 110


def still_plot(labelled_axes: bool = False) -> pg.PlotWidget:
    """A plot the mouse does not pan or zoom (the pages set their ranges), no menu."""
    widget = plot_widget(labelled_axes)
    item = widget.getPlotItem()
    item.setMenuEnabled(False)
    item.hideButtons()
    item.getViewBox().setMouseEnabled(x=False, y=False)
    widget.setMinimumHeight(STILL_PLOT_MIN_HEIGHT)  # readable even in a short dock
    return widget


def curves(
    plot: pg.PlotWidget, *styles: tuple[str, str, int], legend: bool = True
) -> list[pg.PlotCurveItem]:
    """One curve per (colour, legend name, width), under a legend unless told otherwise."""
    item = plot.getPlotItem()
    if legend:
        item.addLegend(offset=(-10, 10))
    made = []
    for colour, name, width in styles:
        curve = pg.PlotCurveItem(pen=pg.mkPen(colour, width=width), name=name)
        item.addItem(curve)
        made.append(curve)
    return made


def column(owner: QWidget, *widgets: QWidget, stretch: QWidget | None = None) -> None:
    """Lay ``widgets`` out top to bottom without margins; ``stretch`` takes the spare room."""
    layout = QVBoxLayout(owner)
    layout.setContentsMargins(0, 0, 0, 0)
    for widget in widgets:
        layout.addWidget(widget, 1 if widget is stretch else 0)
