"""The lens and head pooling every attention view of one window shares.

Part of the shared state (``ExplorerState.lens``): a session saves it, every attention view
shows it and any of them can change it.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from contextlib import suppress
from dataclasses import replace
from typing import Any

from PySide6.QtCore import QObject, Signal

from explorer.core.analysis.aggregate import HEAD_POOLS, MEAN
from explorer.core.analysis.blocks import parse_block
from explorer.core.analysis.lens import LensSettings


class LensOptions(QObject):
    """The lens and head pooling every attention view of one window shares."""

    changed = Signal()
    """The block, words, special-token or pooling choice changed."""

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._settings = LensSettings()
        self._head_pool = MEAN
        self._mean_layers = False

    @property
    def settings(self) -> LensSettings:
        """Block, words and hidden special tokens."""
        return self._settings

    @property
    def head_pool(self) -> str:
        """How "all heads" combines them: ``mean`` or ``max``."""
        return self._head_pool

    @property
    def mean_layers(self) -> bool:
        """Average the head choice over all layers instead of showing the selected layer."""
        return self._mean_layers

    def _update(self, **changes: Any) -> None:
        settings = replace(self._settings, **changes)
        if settings != self._settings:
            self._settings = settings
            self.changed.emit()

    def set_block(self, block: str) -> None:
        """Keep only one sentence-pair block (``All`` keeps everything)."""
        parse_block(block)  # refuses unknown names
        self._update(block=block)

    def set_words(self, words: bool) -> None:
        """Merge word pieces into words."""
        self._update(words=bool(words))

    def set_hide_special(self, hide: bool) -> None:
        """Hide special tokens and renormalize the rows."""
        self._update(hide_special=bool(hide))

    def set_head_pool(self, pool: str) -> None:
        """Pool "all heads" by their mean or their maximum."""
        if pool not in HEAD_POOLS:
            raise ValueError(f"Unknown head pooling '{pool}'.")
        if pool != self._head_pool:
            self._head_pool = pool
            self.changed.emit()

    def set_mean_layers(self, mean_layers: bool) -> None:
        """Average over layers (on) or show the selected layer (off)."""
        if bool(mean_layers) != self._mean_layers:
            self._mean_layers = bool(mean_layers)
            self.changed.emit()

    def options(self) -> dict[str, str | int | float | bool]:
        """Everything chosen, as plain values (a saved session keeps them)."""
        return {
            "block": self._settings.block,
            "words": self._settings.words,
            "hide_special": self._settings.hide_special,
            "head_pool": self._head_pool,
            "mean_layers": self._mean_layers,
        }

    def apply_options(self, options: Mapping[str, str | int | float | bool]) -> None:
        """Restore ``options()``; unknown keys and values of the wrong kind are ignored."""
        setters: dict[str, tuple[type, Callable[[Any], None]]] = {
            "block": (str, self.set_block),
            "words": (bool, self.set_words),
            "hide_special": (bool, self.set_hide_special),
            "head_pool": (str, self.set_head_pool),
            "mean_layers": (bool, self.set_mean_layers),
        }
        for key, value in options.items():
            if key in setters and isinstance(value, setters[key][0]):
                with suppress(ValueError):
                    setters[key][1](value)
