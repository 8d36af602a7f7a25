"""PySide6's check on every import: same answers, without inspect.getsource."""

from __future__ import annotations

import builtins
import linecache
import sys

from explorer.gui.worker.pyside_imports import lighten_feature_check


def test_the_lightened_check_gives_the_original_answers(tmp_path, monkeypatch):
    assert lighten_feature_check()
    feature = sys.modules["shibokensupport.feature"]
    check = feature._mod_uses_pyside
    (tmp_path / "explorer_test_uses_qt.py").write_text("from PySide6 import QtCore\n")
    (tmp_path / "explorer_test_plain.py").write_text("import json\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    for name in ("explorer_test_uses_qt", "explorer_test_plain"):
        monkeypatch.delitem(sys.modules, name, raising=False)
        builtins.__import__(name)  # an import statement: PySide6's hook sees it
    # 0: the module may select PySide features; -1: ignore it (what the original decides).
    assert feature.pyside_feature_dict["explorer_test_uses_qt"] == 0
    assert feature.pyside_feature_dict["explorer_test_plain"] == -1
    # The source was read, not kept: the original left every imported file in linecache.
    assert str(tmp_path / "explorer_test_plain.py") not in linecache.cache
    # Modules without a .py file (built-ins, extensions) still get the original check.
    assert check(sys) is False
    # Applying it again wraps nothing twice.
    assert lighten_feature_check()
    assert feature._mod_uses_pyside is check


PAUSED_IMPORTS = """
import builtins, sys
import explorer
import PySide6.QtCore
from explorer.gui.worker.pyside_imports import feature_hook_paused
feature = sys.modules["shibokensupport.feature"]
hook = builtins.__import__
assert hook is not explorer.PYTHON_IMPORT, "PySide6 installs its hook"
with feature_hook_paused():
    assert builtins.__import__ is explorer.PYTHON_IMPORT
    import colorsys  # noqa: F401
assert builtins.__import__ is hook, "the hook is back"
import fractions  # noqa: F401
assert "colorsys" not in feature.pyside_feature_dict, "imported without the hook"
assert "fractions" in feature.pyside_feature_dict, "the hook sees later imports again"
print("ok")
"""


def test_the_worker_imports_without_pysides_hook(tmp_path):
    """In a process that imported explorer first, as the app does, the hook is paused."""
    import subprocess

    script = tmp_path / "paused.py"
    script.write_text(PAUSED_IMPORTS)
    done = subprocess.run(
        [sys.executable, str(script)], capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "ok"


def test_pausing_is_harmless_when_pyside6_came_first(monkeypatch):
    """Had PySide6 been imported before explorer, the original import would be unknown."""
    import explorer
    from explorer.gui.worker.pyside_imports import feature_hook_paused

    hook = builtins.__import__
    monkeypatch.setattr(explorer, "PYTHON_IMPORT", hook)
    with feature_hook_paused():
        assert builtins.__import__ is hook
        import colorsys  # noqa: F401
    assert builtins.__import__ is hook
