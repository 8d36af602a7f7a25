"""What the window remembers across restarts, in one place (QSettings, ini format).

Tests point QSettings at a temporary folder (tests/conftest.py), so nothing here ever writes
the user's real settings during a test run.
"""

from __future__ import annotations

from PySide6.QtCore import QSettings

ORGANIZATION = "bert-explorer"
APPLICATION = "BERT Attention Explorer"
MAX_RECENT = 10
FONT_SCALE_RANGE = (0.6, 3.0)


def _settings() -> QSettings:
    return QSettings(
        QSettings.Format.IniFormat, QSettings.Scope.UserScope, ORGANIZATION, APPLICATION
    )


class Settings:
    """Typed accessors; every read tolerates missing or garbled values."""

    def __init__(self) -> None:
        self._store = _settings()

    def _str(self, key: str, default: str = "") -> str:
        value = self._store.value(key, default)
        return value if isinstance(value, str) else default

    # --- model and inputs ---------------------------------------------------------------
    @property
    def model_source(self) -> str:
        """The spec of the last model that loaded ("embedded", a folder or a hub id)."""
        return self._str("model/source", "embedded")

    @model_source.setter
    def model_source(self, spec: str) -> None:
        self._store.setValue("model/source", spec)

    @property
    def recent_models(self) -> list[str]:
        """Folders and hub ids that loaded before, newest first."""
        value = self._store.value("model/recent", [])
        if isinstance(value, str):
            value = [value]
        return [v for v in value if isinstance(v, str) and v][:MAX_RECENT]

    def remember_model(self, spec: str) -> None:
        """Make ``spec`` the model to restore and the newest recent entry."""
        self.model_source = spec
        if spec == "embedded":
            return
        recent = [spec] + [s for s in self.recent_models if s != spec]
        self._store.setValue("model/recent", recent[:MAX_RECENT])

    @property
    def inputs(self) -> tuple[str, str]:
        """The last sentence A and B."""
        return self._str("inputs/text"), self._str("inputs/pair")

    def remember_inputs(self, text: str, pair: str | None) -> None:
        """Store the inputs so a restart shows the same sentence."""
        self._store.setValue("inputs/text", text)
        self._store.setValue("inputs/pair", pair or "")

    @property
    def has_inputs(self) -> bool:
        """True once any inputs were stored."""
        return self._store.contains("inputs/text")

    # --- view ---------------------------------------------------------------------------
    @property
    def font_scale(self) -> float:
        """Lecture-mode font scale, clamped to a sane range."""
        try:
            value = float(self._store.value("view/font_scale", 1.0))
        except (TypeError, ValueError):
            value = 1.0
        low, high = FONT_SCALE_RANGE
        return min(max(value, low), high)

    @font_scale.setter
    def font_scale(self, value: float) -> None:
        self._store.setValue("view/font_scale", float(value))

    @property
    def theme(self) -> str:
        """The theme name, light or dark."""
        value = self._str("view/theme", "light")
        return value if value in ("light", "dark") else "light"

    @theme.setter
    def theme(self, value: str) -> None:
        self._store.setValue("view/theme", value)

    def sync(self) -> None:
        """Flush to disk (on close)."""
        self._store.sync()
