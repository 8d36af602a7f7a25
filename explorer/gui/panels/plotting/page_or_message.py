"""A panel body that shows its content, or instead a centred sentence saying why it cannot."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QLabel, QStackedWidget, QVBoxLayout, QWidget


class PageOrMessage(QStackedWidget):
    """Page 0 holds the widgets (the first one stretches); page 1 is ``message``."""

    def __init__(self, *widgets: QWidget, message: str = "") -> None:
        super().__init__()
        page = QWidget()
        layout = QVBoxLayout(page)
        layout.setContentsMargins(0, 0, 0, 0)
        for position, widget in enumerate(widgets):
            layout.addWidget(widget, 1 if position == 0 else 0)
        self.message = QLabel(message)
        self.message.setObjectName("panel-notice")
        self.message.setWordWrap(True)
        self.message.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.message.setMargin(16)
        self.addWidget(page)
        self.addWidget(self.message)

    @property
    def shows_message(self) -> bool:
        """True while the message stands in for the content."""
        return self.currentWidget() is self.message

    def show_message(self, text: str | None = None) -> None:
        """Explain instead of drawing (``text`` None keeps the current sentence)."""
        if text is not None:
            self.message.setText(text)
        self.setCurrentWidget(self.message)

    def show_page(self) -> None:
        """Show the content again."""
        self.setCurrentIndex(0)


def panel_layout(owner: QWidget, body: QWidget) -> None:
    """Fill ``owner`` edge to edge with ``body``."""
    layout = QVBoxLayout(owner)
    layout.setContentsMargins(0, 0, 0, 0)
    layout.addWidget(body)
