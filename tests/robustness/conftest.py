"""Reuse the GUI fixtures (a window on the tiny model)."""

from tests.gui.conftest import window  # noqa: F401 - a fixture, used by name
