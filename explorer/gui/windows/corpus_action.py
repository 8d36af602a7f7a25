"""File → Analyse a corpus…: the menu entry, without importing the window until it is used.

The main window builds its menus before its plots (first paint comes first), and the Corpus
window brings pyqtgraph, so it is imported when the entry is chosen.
"""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtGui import QAction
from PySide6.QtWidgets import QMainWindow, QWidget

from explorer.gui.state.explorer_state import ExplorerState


def add_corpus_action(
    window: QMainWindow,
    state: ExplorerState,
    menu: QWidget,
    style: Callable[[QWidget], None],
) -> QAction:
    """Add the entry to ``menu``: one Corpus window per main window, on its state.

    ``style`` gives the new window the main window's look (theme, font scale).
    """
    action = QAction("Analyse a &corpus…", window)
    action.setStatusTip("Head and layer statistics over a text file, one segment a line")
    opened: list[QMainWindow] = []

    def open_window(_checked: bool = False) -> None:
        if not opened:
            from explorer.gui.windows.corpus_window import CorpusWindow

            opened.append(CorpusWindow(state, window))
            style(opened[0])
        opened[0].show()
        opened[0].raise_()

    action.triggered.connect(open_window)
    menu.addAction(action)
    return action
