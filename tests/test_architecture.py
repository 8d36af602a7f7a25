"""The layering rules: the core never touches Qt, the window never imports torch up front."""

from __future__ import annotations

import os
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
CORE_MODULES = sorted(
    f"explorer.core.{path.stem}"
    for path in (REPO / "explorer" / "core").glob("*.py")
    if path.stem != "__init__"
)


def _modules_after(code: str) -> set[str]:
    out = subprocess.run(
        [sys.executable, "-c", f"{code}\nimport sys\nprint('\\n'.join(sys.modules))"],
        check=True,
        capture_output=True,
        text=True,
        cwd=REPO,
    )
    return set(out.stdout.split())


def test_core_imports_no_qt():
    imports = "\n".join(f"import {name}" for name in CORE_MODULES)
    loaded = _modules_after(imports + "\nimport explorer\nimport explorer.cli")
    assert CORE_MODULES  # the glob found the package
    qt = {m for m in loaded if m.split(".")[0] in {"PySide6", "pyqtgraph", "shiboken6"}}
    assert not qt, f"explorer.core pulled in Qt: {sorted(qt)[:5]}"
    assert not {m for m in loaded if m.startswith("explorer.gui")}


def test_window_module_imports_neither_torch_nor_transformers():
    loaded = _modules_after("import explorer.gui.app\nimport explorer.gui.windows.main_window")
    assert "PySide6.QtWidgets" in loaded
    assert "torch" not in loaded
    assert "transformers" not in loaded


def test_the_first_window_paints_without_the_plot_library(tmp_path):
    # run_gui's window shows its input bar before the panels; pyqtgraph comes with the panels.
    code = f"""
import os
os.environ["QT_QPA_PLATFORM"] = "offscreen"
from PySide6.QtCore import QSettings
QSettings.setDefaultFormat(QSettings.Format.IniFormat)
QSettings.setPath(QSettings.Format.IniFormat, QSettings.Scope.UserScope, {str(tmp_path)!r})
from explorer.gui.app import make_application
from explorer.gui.windows.main_window import MainWindow
from explorer.gui.worker.model_worker import ModelController
ModelController.request_load = lambda self, source: 0  # this test is about the window alone
app = make_application()
window = MainWindow(text="hello", panels_after_load=True)
window.show()
window.grab()
print("painted")
window.close()
"""
    loaded = _modules_after(code)
    assert "painted" in loaded
    assert "pyqtgraph" not in loaded
    assert "explorer.gui.windows.panel_factory" not in loaded


def test_import_linter_contract_holds():
    lint_imports = Path(sys.executable).with_name("lint-imports")
    result = subprocess.run(
        [str(lint_imports), "--no-cache"], cwd=REPO, capture_output=True, text=True
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert " kept, 0 broken." in result.stdout  # every contract, however many


@pytest.mark.slow
def test_wheel_ships_the_resources(tmp_path):
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "--no-deps",
            "--no-build-isolation",
            "-w",
            str(tmp_path),
            str(REPO),
        ],
        check=True,
        capture_output=True,
    )
    (wheel,) = tmp_path.glob("*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    for resource in ("style.qss", "examples.json", "icons/app.svg"):
        assert f"explorer/resources/{resource}" in names


def test_python_api_works_without_qt_or_a_display(tiny_model_dir, tmp_path):
    # Block every Qt import, as on a machine where Qt is not installed, and drop the display.
    code = f"""
import sys, importlib.abc
class NoQt(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in {{"PySide6", "shiboken6", "pyqtgraph"}}:
            raise ImportError(f"{{name}} is not installed here")
sys.meta_path.insert(0, NoQt())
from explorer import inspect
result = inspect("Sinan loves a beautiful day", model={str(tiny_model_dir)!r})
result.to_npz({str(tmp_path / "api.npz")!r})
print(result.tokens.tolist()[:3], result.attentions.shape)
"""
    env = {k: v for k, v in os.environ.items() if k not in ("DISPLAY", "QT_QPA_PLATFORM")}
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env)
    assert done.returncode == 0, done.stderr[-2000:]
    assert "['[CLS]', 'sin', '##an'] (4, 4, 8, 8)" in done.stdout
    assert (tmp_path / "api.npz").stat().st_size > 0
