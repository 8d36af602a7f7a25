"""BERT Attention Explorer: a desktop window, a CLI and a notebook API for looking inside BERT."""

from __future__ import annotations

import builtins
from typing import TYPE_CHECKING

# Python's own import function, kept before PySide6 replaces it: the model worker imports
# torch and transformers with it (explorer.gui.worker.pyside_imports.feature_hook_paused).
PYTHON_IMPORT = builtins.__import__

if TYPE_CHECKING:
    from explorer.core.results import InferenceResult

__all__ = ["inspect"]
__version__ = "0.1.0"


def inspect(text: str, pair: str | None = None, model: str | None = None) -> InferenceResult:
    """Run one sentence (or pair) through a model and return the GUI's frozen result.

    Imported lazily so that ``import explorer`` stays cheap and never pulls in Qt.
    """
    from explorer.core.api import inspect as _inspect

    return _inspect(text, pair=pair, model=model)
