"""The body both difference heatmaps of the compare window share.

A diverging B − A heatmap with two selection outlines over a selectable caption, or a sentence
in its place when there is nothing to subtract. Tick labels are redone whenever the cell size
on screen changes, and hover and click go to the subclass.
"""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QLabel, QWidget

from explorer.gui.panels.compare.common import DIFF_COLORMAP
from explorer.gui.panels.plotting.page_or_message import PageOrMessage, panel_layout
from explorer.gui.panels.plotting.plots import make_heatmap_plot, outline_item
from explorer.gui.state.compare_state import CompareState


class DifferenceHeatmapPanel(QWidget):
    """Subclasses provide ``_draw_ticks``, ``_on_cell_hovered`` and ``_on_cell_clicked``."""

    def __init__(
        self,
        compare: CompareState,
        bar_label: str,
        caption: str = "",
        *,
        square: bool = False,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self._compare = compare
        self.heatmap, self.image, self.colorbar = make_heatmap_plot(
            DIFF_COLORMAP, (-1.0, 1.0), bar_label, square=square
        )
        plot = self.heatmap.getPlotItem()
        self._outlines = (outline_item(plot), outline_item(plot))
        self.caption = QLabel(caption)
        self.caption.setWordWrap(True)
        self.caption.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.stack = PageOrMessage(self.heatmap, self.caption)
        self.message = self.stack.message
        panel_layout(self, self.stack)
        # Which labels fit depends on the cell size on screen: redo them when it changes.
        plot.getViewBox().sigResized.connect(self._draw_ticks)
        plot.getViewBox().sigRangeChanged.connect(self._draw_ticks)
        self.image.cell_hovered.connect(self._on_cell_hovered)
        self.image.cell_clicked.connect(self._on_cell_clicked)

    @property
    def shows_message(self) -> bool:
        """True when the panel explains instead of drawing."""
        return self.stack.shows_message

    def _draw_ticks(self, *_: object) -> None:
        raise NotImplementedError

    def _on_cell_hovered(self, row: int, col: int) -> None:
        raise NotImplementedError

    def _on_cell_clicked(self, row: int, col: int, modifiers: object) -> None:
        raise NotImplementedError
