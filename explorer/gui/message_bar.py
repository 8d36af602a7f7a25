"""An inline banner for hints, notices and errors: never modal, so the window stays usable."""

from __future__ import annotations

from enum import StrEnum

from PySide6.QtWidgets import (
    QHBoxLayout,
    QLabel,
    QMainWindow,
    QProgressBar,
    QToolButton,
    QWidget,
)


class Level(StrEnum):
    """How loud a message is; the value is the stylesheet property."""

    INFO = "info"
    WARNING = "warning"
    ERROR = "error"


_COLORS = {
    Level.INFO: ("#1f3b57", "#dbeafe"),
    Level.WARNING: ("#5a3c00", "#fff1c2"),
    Level.ERROR: ("#6b1010", "#ffd9d9"),
}


class MessageBar(QWidget):
    """Shows one message at a time; the close button hides it."""

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
        foreground, background = _COLORS[level]
        self.setStyleSheet(
            f"MessageBar, QLabel {{ color: {foreground}; background: {background}; }}"
        )
        self.setAutoFillBackground(True)
        self.level = level
        self.label.setText(text)
        self.setVisible(True)

    def clear(self) -> None:
        """Hide the banner."""
        self.level = None
        self.label.clear()
        self.setVisible(False)

    def text(self) -> str:
        """The message on show ('' when hidden)."""
        return self.label.text() if self.level is not None else ""


def add_model_status(window: QMainWindow, text: str) -> tuple[QLabel, QProgressBar]:
    """The status bar's model label and a busy bar (hidden until work is in flight)."""
    label = QLabel(text)
    progress = QProgressBar()
    progress.setRange(0, 0)
    progress.setMaximumWidth(160)
    progress.setVisible(False)
    window.statusBar().addPermanentWidget(label)
    window.statusBar().addPermanentWidget(progress)
    return label, progress
