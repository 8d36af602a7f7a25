"""Knocking heads out from the attention overview: Alt+click a head, Alt+Shift+click a layer.

A plain click on the overview selects a head (the attention panel's own job); with Alt held
the same click also switches that head off, or back on, on the shared state. The window then
runs the input again, as for a click in the head-importance grid.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from PySide6.QtCore import Qt

from explorer.core.views import mosaic_cell
from explorer.gui.state.knock_outs import toggle

if TYPE_CHECKING:
    from explorer.gui.windows.main_window import MainWindow


def knock_out_from_overview(window: MainWindow) -> None:
    """Let Alt+click on the overview's tiles knock heads (Alt+Shift: layers) out."""
    image = window.attention_panel.overview_image
    image.cell_clicked.connect(
        lambda row, col, modifiers: _on_tile_clicked(window, row, col, modifiers)
    )


def _on_tile_clicked(window: MainWindow, row: int, col: int, modifiers: object) -> None:
    held = Qt.KeyboardModifier(modifiers)  # type: ignore[call-overload]
    result = window.state.result
    if result is None or not held & Qt.KeyboardModifier.AltModifier:
        return
    cell = mosaic_cell(row, col, result.num_tokens)
    if held & Qt.KeyboardModifier.ShiftModifier:
        heads = [(cell.layer, head) for head in range(result.num_heads)]
    else:
        heads = [(cell.layer, cell.head)]
    toggle(window.state.panel_options, heads)
