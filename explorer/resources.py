"""Find the shipped resources folder: inside the wheel, or at the repository root when editable."""

from __future__ import annotations

import json
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


def load_examples() -> list[dict[str, str | None]]:
    """The Examples menu entries shipped in resources/examples.json."""
    try:
        raw = json.loads(resource_path("examples.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return []
    return [
        {"name": str(e["name"]), "text": str(e["text"]), "pair": e.get("pair")}
        for e in raw
        if isinstance(e, dict) and "name" in e and "text" in e
    ]
