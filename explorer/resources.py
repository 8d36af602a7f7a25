"""Find the shipped resources folder: inside the wheel, or at the repository root when editable."""

from __future__ import annotations

from pathlib import Path

_PACKAGE_DIR = Path(__file__).resolve().parent


def resources_dir() -> Path:
    """The folder holding icons, the stylesheet and example sentences."""
    for candidate in (_PACKAGE_DIR / "resources", _PACKAGE_DIR.parent / "resources"):
        if candidate.is_dir():
            return candidate
    raise FileNotFoundError("The explorer's resources folder is missing; reinstall the package.")


def resource_path(name: str) -> Path:
    """A file inside the resources folder."""
    return resources_dir() / name
