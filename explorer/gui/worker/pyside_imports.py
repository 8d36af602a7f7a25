"""Keep PySide6's import hook out of the worker's 2,600-module model load.

Importing PySide6 replaces ``builtins.__import__`` with a hook for its opt-in
``from __feature__ import ...`` syntax. After each new module, the hook asks whether the
module's source mentions PySide6, through ``inspect.getsource``: that walks ``sys.modules``
and reads the file into ``linecache``, 0.2 ms a module. Loading a model imports about 2,600
modules (torch, transformers, scipy, sympy...), so the check costs a load 0.3-0.6 s of the
GIL (also reported for napari in napari/napari#8584) and keeps every one of those sources
in memory.

``lighten_feature_check`` keeps the same test (does the source file contain "PySide6"?)
but reads the bytes directly. Modules without a plain ``.py`` file still go through the
original check, and nothing changes if a PySide6 release no longer has it.

Even so, the hook still runs Python code on every ``import`` statement (34,000 of them in
a load). ``feature_hook_paused`` lets the worker load the model with Python's own import
function instead, which takes about 0.17 s off a 3.9 s load in a thread after importing
PySide6. Modules imported meanwhile are not registered for ``__feature__``, which this app
never uses.
"""

from __future__ import annotations

import builtins
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from types import ModuleType

import explorer

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


@contextmanager
def feature_hook_paused() -> Iterator[None]:
    """Import with Python's own ``__import__`` in the block, in every thread.

    A no-op when PySide6 was imported before ``explorer`` (its original is then unknown).
    The hook comes back afterwards unless something else replaced the import meanwhile.
    """
    hook, original = builtins.__import__, explorer.PYTHON_IMPORT
    if hook is original or getattr(original, "__name__", None) != "__import__":
        yield
        return
    builtins.__import__ = original
    try:
        yield
    finally:
        if builtins.__import__ is original:
            builtins.__import__ = hook
