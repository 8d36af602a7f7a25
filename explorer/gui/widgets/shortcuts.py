"""Lecture mode: keyboard stepping, full screen, one panel filling the window, font scale, theme.

Every shortcut is a QAction in the Navigate or View menu, so the Help → Shortcuts dialog can
list them from one place and they work whichever panel has focus.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from PySide6.QtCore import QObject, Qt
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import (
    QApplication,
    QDialog,
    QDialogButtonBox,
    QDockWidget,
    QMainWindow,
    QTableWidget,
    QTableWidgetItem,
    QToolBar,
    QVBoxLayout,
    QWidget,
)

from explorer.gui.state.explorer_state import ExplorerState

FONT_STEP = 1.15


@dataclass(frozen=True)
class ShortcutSpec:
    """One keyboard command: menu, label, keys and what it does."""

    menu: str
    label: str
    keys: tuple[str, ...]
    handler: Callable[[], None]


def stepping_shortcuts(state: ExplorerState) -> list[ShortcutSpec]:
    """The keyboard stepping every window offers: layers, heads and tokens."""
    menu = "&Navigate"
    return [
        ShortcutSpec(menu, "Next layer", ("PgDown",), lambda: state.step_layer(+1)),
        ShortcutSpec(menu, "Previous layer", ("PgUp",), lambda: state.step_layer(-1)),
        ShortcutSpec(menu, "Next head", ("Alt+Right",), lambda: state.step_head(+1)),
        ShortcutSpec(menu, "Previous head", ("Alt+Left",), lambda: state.step_head(-1)),
        ShortcutSpec(menu, "Next token", ("Alt+Down",), lambda: state.step_token(+1)),
        ShortcutSpec(menu, "Previous token", ("Alt+Up",), lambda: state.step_token(-1)),
    ]


def make_action(parent: QObject, spec: ShortcutSpec) -> QAction:
    """A QAction carrying all of the spec's key sequences, active anywhere in the window."""
    action = QAction(spec.label, parent)
    action.setShortcuts([QKeySequence(k) for k in spec.keys])
    action.setShortcutContext(Qt.ShortcutContext.WindowShortcut)
    action.triggered.connect(spec.handler)
    return action


def shortcut_rows(actions: list[QAction]) -> list[tuple[str, str]]:
    """(keys, command) rows for the shortcuts dialog, in menu order."""
    rows = []
    for action in actions:
        keys = ", ".join(
            seq.toString(QKeySequence.SequenceFormat.NativeText) for seq in action.shortcuts()
        )
        if keys:
            rows.append((keys, action.text().replace("&", "")))
    return rows


class ShortcutsDialog(QDialog):
    """Help → Shortcuts: every keyboard command, read from the actions themselves."""

    def __init__(self, actions: list[QAction], parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Keyboard shortcuts")
        rows = shortcut_rows(actions)
        self.table = QTableWidget(len(rows), 2)
        self.table.setHorizontalHeaderLabels(["Keys", "Command"])
        self.table.verticalHeader().setVisible(False)
        self.table.setEditTriggers(QTableWidget.EditTrigger.NoEditTriggers)
        for row, (keys, label) in enumerate(rows):
            self.table.setItem(row, 0, QTableWidgetItem(keys))
            self.table.setItem(row, 1, QTableWidgetItem(label))
        self.table.resizeColumnsToContents()
        self.table.horizontalHeader().setStretchLastSection(True)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addWidget(self.table)
        layout.addWidget(buttons)
        self.resize(520, 480)


class PanelFocus:
    """Makes one dock fill the window and puts everything back on the second press."""

    def __init__(self, window: QMainWindow, docks: dict[str, QDockWidget], fallback: str) -> None:
        self._window = window
        self._docks = docks
        self._fallback = fallback
        self._hidden: list[QWidget] = []
        self.focused: str | None = None

    def _dock_with_focus(self) -> str:
        widget = QApplication.focusWidget()
        for key, dock in self._docks.items():
            if widget is not None and dock.isAncestorOf(widget) and dock.isVisible():
                return key
        return self._fallback

    def toggle(self, key: str | None = None) -> None:
        """Fill the window with ``key`` (default: the panel with focus), or restore."""
        if self.focused is not None:
            for widget in self._hidden:
                widget.setVisible(True)
            self._hidden = []
            self.focused = None
            return
        key = key or self._dock_with_focus()
        target = self._docks[key]
        others: list[QWidget] = [d for k, d in self._docks.items() if k != key and d.isVisible()]
        others += [b for b in self._window.findChildren(QToolBar) if b.isVisible()]
        for widget in others:
            widget.setVisible(False)
        target.setVisible(True)
        target.raise_()
        self._hidden = others
        self.focused = key
