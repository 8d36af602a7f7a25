"""Options of single panels (top-k length, summed norms, the statistic that colours a grid).

They live on the shared state, not in the panels' widgets, so a session saves and restores
them without finding any widget: a panel writes its choice here and follows this object.
"""

from __future__ import annotations

from collections.abc import Mapping

from PySide6.QtCore import QObject, Signal

OptionValue = str | int | float | bool


class PanelOptions(QObject):
    """``panel.option`` → plain value, evented; unknown keys are kept for later panels."""

    changed = Signal(str)
    """The option with this key changed."""

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._values: dict[str, OptionValue] = {}

    def get(self, key: str, default: OptionValue) -> OptionValue:
        """The value of ``key``, or ``default`` when nothing set it yet."""
        return self._values.get(key, default)

    def set(self, key: str, value: OptionValue) -> None:
        """Record a choice; equal values do nothing (the re-entry guard)."""
        if self._values.get(key) == value and type(self._values.get(key)) is type(value):
            return
        self._values[key] = value
        self.changed.emit(key)

    def values(self) -> dict[str, OptionValue]:
        """Every option set so far, for a saved session."""
        return dict(self._values)

    def apply(self, options: Mapping[str, OptionValue]) -> None:
        """Restore ``values()``; each panel checks its own values when it hears of them."""
        for key, value in options.items():
            self.set(key, value)
