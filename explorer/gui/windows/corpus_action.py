"""File → Analyse a corpus…: the menu entry, without importing the window until it is used.

The main window builds its menus before its plots (first paint comes first), and the Corpus
window brings pyqtgraph, so it is imported when the entry is chosen.

A closed Corpus window is only hidden and its run goes on; the main window's close waits for
the run to stop (``hold_close_for_corpus_run``) without blocking, so the run writes its
checkpoint and the next Run resumes it.
"""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import Qt
from PySide6.QtGui import QAction, QCloseEvent
from PySide6.QtWidgets import QMainWindow, QWidget

from explorer.gui.controllers.corpus_run import CorpusRunner
from explorer.gui.state.explorer_state import ExplorerState

STOP_TIMEOUT_MS = 60_000  # a batch of long segments on a slow CPU, then the checkpoint
STOPPING = "Stopping the corpus run (its checkpoint is being written) … the window closes then."


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


def hold_close_for_corpus_run(
    window: QMainWindow, event: QCloseEvent, say: Callable[[str], None]
) -> bool:
    """Whether ``window`` waits for its corpus run before it closes (``event`` is then ignored).

    The run is cancelled, not killed: the child checkpoints after its batch, then ``window``
    closes again by itself (a child that has not stopped after ``STOP_TIMEOUT_MS`` is killed).
    Nothing blocks meanwhile. ``say`` tells the user why the window is still there.
    """
    runners = [runner for runner in window.findChildren(CorpusRunner) if runner.running]
    if not runners:
        return False
    event.ignore()
    for runner in runners:
        runner.ended.connect(window.close, Qt.ConnectionType.UniqueConnection)
        if not runner.stopping:
            runner.cancel()
            runner.kill_after(STOP_TIMEOUT_MS)
    say(STOPPING)
    return True
