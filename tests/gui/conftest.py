"""GUI fixtures: a main window on the tiny model, with its first load finished."""

from __future__ import annotations

import pytest

from explorer.core.sources import ModelSource
from explorer.gui.windows.main_window import MainWindow

TIMEOUT_MS = 60_000


def wait_for_result(qtbot, window: MainWindow, text: str):
    """Wait until the window shows the result for ``text`` (sentence A)."""
    with qtbot.waitSignal(
        window.controller.result_ready,
        timeout=TIMEOUT_MS,
        check_params_cb=lambda outcome: outcome.result.text == text,
    ):
        pass
    return window.state.result


@pytest.fixture
def window(qtbot, tiny_model_dir) -> MainWindow:
    """A shown main window on the tiny random BERT, model loaded, inputs empty."""
    main = MainWindow(source=ModelSource.parse(str(tiny_model_dir)), text="")
    qtbot.addWidget(main)
    with qtbot.waitSignal(main.controller.model_loaded, timeout=TIMEOUT_MS):
        main.show()
    return main


def axis_draw_specs(axis, generate=None) -> tuple:
    """What ``axis`` draws (line, ticks, label rects and texts), in its own frame.

    ``generate`` replaces the axis's own generateDrawSpecs (to compare with pyqtgraph's).
    """
    from PySide6.QtGui import QPainter, QPicture

    picture = QPicture()
    painter = QPainter(picture)
    try:
        return (generate or axis.generateDrawSpecs)(painter)
    finally:
        painter.end()


def show_panels(qtbot, *panels, width: int = 500, height: int = 420) -> None:
    """Show each panel at one size and wait until the last is on screen."""
    for panel in panels:
        qtbot.addWidget(panel)
        panel.resize(width, height)
        panel.show()
    qtbot.waitExposed(panels[-1])
