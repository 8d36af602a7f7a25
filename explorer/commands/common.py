"""What every headless command does the same way: its output path, its model, its errors."""

from __future__ import annotations

import sys
from pathlib import Path

from explorer.core.loading import LoadedModel


def error(message: str) -> int:
    """Print ``error: message`` on stderr; the exit code of a failure the user can fix."""
    print(f"error: {message}", file=sys.stderr)
    return 2


def out_problem(out: Path) -> str | None:
    """Why ``--out`` cannot be written, or None."""
    if out.is_dir():
        return f"--out {out} is a folder; give a file name."
    if not out.parent.is_dir():
        return f"--out {out}: the folder {out.parent} does not exist."
    return None


def load(spec: str) -> LoadedModel:
    """The model named on the command line (ModelLoadError says why not)."""
    from explorer.core.loading import load_model
    from explorer.core.sources import ModelSource

    return load_model(ModelSource.parse(spec))
