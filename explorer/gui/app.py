"""Create the QApplication, show the window first, and run the event loop."""

from __future__ import annotations

import os
import sys
from pathlib import Path

from PySide6.QtGui import QIcon
from PySide6.QtWidgets import QApplication

from explorer.core.sources import ModelSource
from explorer.gui.state.settings import APPLICATION, ORGANIZATION
from explorer.gui.windows.main_window import MainWindow
from explorer.gui.worker.model_worker import running_worker_threads
from explorer.resources import resource_path


def make_application(argv: list[str] | None = None) -> QApplication:
    """The one QApplication, named so QSettings has a stable home."""
    app = QApplication.instance() or QApplication(argv if argv is not None else sys.argv[:1])
    app.setOrganizationName(ORGANIZATION)
    app.setApplicationName(APPLICATION)
    app.setWindowIcon(QIcon(str(resource_path("icons/app.svg"))))
    return app  # type: ignore[return-value]


def run_gui(
    source: ModelSource | None, text: str | None, pair: str | None, session: Path | None = None
) -> int:
    """Open the window while the worker loads the model; the panels follow the model.

    ``None`` for source or text restores what the previous session used.
    """
    app = make_application()
    # A session restores the panels' own options, so it needs them at once.
    window = MainWindow(source=source, text=text, pair=pair, panels_after_load=session is None)
    window.show()
    if session is not None:
        window.sessions.open(session)
    return exit_code_after(app.exec())


def exit_code_after(code: int) -> int:
    """Return the exit code, or end the process now if a worker is still mid-computation.

    Letting Python tear down a QThread that is still running aborts the process; a torch
    forward pass cannot be interrupted, so the only clean way out is to skip the teardown.
    """
    if running_worker_threads():
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(code)
    return code
