"""Make PySide6's check on every later import cheap, for the worker's 2,600-module load.

Importing PySide6 replaces ``builtins.__import__`` with a hook for its opt-in
``from __feature__ import ...`` syntax. After each new module, the hook asks whether the
module's source mentions PySide6, through ``inspect.getsource``: that walks ``sys.modules``
and reads the file into ``linecache``, 0.2 ms a module. Loading a model imports about 2,600
modules (torch, transformers, scipy, sympy...), so the check cost the load 0.3-0.6 s of the
GIL (measured, and reported for napari in napari/napari#8584), and kept every one of those
sources in memory.

``lighten_feature_check`` keeps the same test (does the source file contain "PySide6"?)
but reads the bytes directly. Modules without a plain ``.py`` file still go through the
original check, and nothing changes if a PySide6 release no longer has it.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from types import ModuleType

_FEATURE_MODULE = "shibokensupport.feature"
_CHECK = "_mod_uses_pyside"
_MARK = "explorer_lightened"


def _read_check(original: Callable[[ModuleType], bool]) -> Callable[[ModuleType], bool]:
    def source_mentions_pyside(module: ModuleType) -> bool:
        path = getattr(module, "__file__", None)
        if not isinstance(path, str) or not path.endswith(".py"):
            return original(module)
        try:
            with open(path, "rb") as source:
                return b"PySide6" in source.read()
        except OSError:
            return False  # what the original answers for a source it cannot read

    setattr(source_mentions_pyside, _MARK, True)
    return source_mentions_pyside


def lighten_feature_check() -> bool:
    """Swap in the byte-reading check (once); False if this PySide6 has no such check."""
    feature = sys.modules.get(_FEATURE_MODULE)
    original = getattr(feature, _CHECK, None)
    if feature is None or not callable(original):
        return False
    if not getattr(original, _MARK, False):
        setattr(feature, _CHECK, _read_check(original))
    return True
