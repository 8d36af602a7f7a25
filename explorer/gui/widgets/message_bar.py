"""An inline banner for hints, notices and errors: never modal, so the window stays usable."""

from __future__ import annotations

import functools
from enum import StrEnum

from PySide6.QtCore import QTimer, Signal
from PySide6.QtWidgets import (
    QHBoxLayout,
    QLabel,
    QStatusBar,
    QToolButton,
    QWidget,
)

from explorer.resources import resource_path


class Level(StrEnum):
    """How loud a message is; the value is the stylesheet property."""

    INFO = "info"
    WARNING = "warning"
    ERROR = "error"


class MessageBar(QWidget):
    """Shows one message at a time; the close button hides it."""

    shown_changed = Signal(bool)
    """The banner appeared (True) or went away (False).

    A widget inside a QToolBar is shown and hidden through its action (Qt's documentation
    for QToolBar.addWidget): whoever places the bar in a toolbar connects this to the
    action's setVisible. Without that the banner stayed an empty strip.
    """

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.label = QLabel()
        self.label.setWordWrap(True)
        self.close_button = QToolButton()
        self.close_button.setText("✕")
        self.close_button.setToolTip("Dismiss")
        layout = QHBoxLayout(self)
        layout.setContentsMargins(8, 4, 8, 4)
        layout.addWidget(self.label, 1)
        layout.addWidget(self.close_button)
        self.close_button.clicked.connect(self.clear)
        self.level: Level | None = None
        self.setVisible(False)

    def show_message(self, text: str, level: Level = Level.INFO) -> None:
        """Replace the current message."""
        self.setProperty("level", level.value)
        self.level = level
        self.restyle()
        self.setAutoFillBackground(True)
        self.label.setText(text)
        self.setVisible(True)
        self.shown_changed.emit(True)

    def restyle(self) -> None:
        """Style the banner for its level in the application's current font and palette.

        Call it after changing them: a widget with a style sheet keeps the font it was
        polished with.
        """
        if self.level is None:
            return
        self.setStyleSheet("")  # a new sheet polishes the banner and its label again
        self.setStyleSheet(banner_style_sheet())

    def clear(self) -> None:
        """Hide the banner."""
        self.level = None
        self.label.clear()
        self.setVisible(False)
        self.shown_changed.emit(False)

    def text(self) -> str:
        """The message on show ('' when hidden)."""
        return self.label.text() if self.level is not None else ""


@functools.cache
def banner_style_sheet() -> str:
    """The shipped style sheet: the banner's colours for each level."""
    return resource_path("style.qss").read_text(encoding="utf-8")


BUSY_DELAY_MS = 300


class BusyIndicator(QLabel):
    """A still "Working…" in the status bar, shown only once work has run for a moment.

    Still, because an animated busy bar repaints many times a second and takes CPU from the
    forward pass on a small machine; delayed, so that quick results (most edits) never make
    the status bar flicker.
    """

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__("⏳ Working…", parent)
        self.setToolTip("The model is loading or running; results appear when it is done.")
        self.setVisible(False)
        self._delay = QTimer(self)
        self._delay.setSingleShot(True)
        self._delay.setInterval(BUSY_DELAY_MS)
        self._delay.timeout.connect(self.show)

    @property
    def showing_soon(self) -> bool:
        """True while the delay before showing runs."""
        return self._delay.isActive()

    def set_busy(self, busy: bool) -> None:
        """Show after BUSY_DELAY_MS of work; hide as soon as the work is done."""
        if busy:
            if not self.isVisible() and not self._delay.isActive():
                self._delay.start()
        else:
            self._delay.stop()
            if self.isVisible():
                self.hide()


def add_model_status(status_bar: QStatusBar, text: str) -> tuple[QLabel, BusyIndicator]:
    """The status bar's model label and a busy indicator (hidden until work takes a while)."""
    label = QLabel(text)
    label.setContentsMargins(6, 0, 6, 0)
    busy = BusyIndicator()
    busy.setContentsMargins(6, 0, 6, 0)
    status_bar.addPermanentWidget(label)
    status_bar.addPermanentWidget(busy)
    return label, busy
