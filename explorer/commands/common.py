"""What every headless command does the same way: its output path, its model, its errors."""

from __future__ import annotations

import os
import sys
from argparse import ArgumentParser
from pathlib import Path

from explorer.core.loading import LoadedModel

MAX_NAME_BYTES = 255  # the longest file name ext4, APFS and NTFS accept


def model_argument(parser: ArgumentParser) -> None:
    """``--model``: every command loads its model the same way."""
    parser.add_argument(
        "--model", default="embedded", help="embedded (default), a folder, or a hub id"
    )


def out_argument(parser: ArgumentParser, what: str = "output .npz file") -> None:
    """``--out``: the file a command writes (checked by ``out_problem``)."""
    parser.add_argument("--out", required=True, type=Path, help=what)


def error(message: str) -> int:
    """Print ``error: message`` on stderr; the exit code of a failure the user can fix."""
    print(f"error: {message}", file=sys.stderr)
    return 2


def out_problem(out: Path, inputs: tuple[Path, ...] = ()) -> str | None:
    """Why ``--out`` cannot be written, or None (checked before any model is loaded).

    ``inputs`` are files the command reads: writing over one of them would lose it.
    """
    if str(out) in ("", "."):  # argparse turns an empty --out "" into Path(".")
        return "--out is empty or '.'; give a file name such as result.npz."
    shown = str(out) if len(str(out)) <= 120 else f"{str(out)[:60]}…{str(out)[-40:]}"
    try:
        if out.is_dir():
            return f"--out {shown} is a folder; give a file name."
        if out.exists() and not out.is_file():
            return f"--out {shown} is not a regular file (a device, a pipe …); give a file name."
        if out.parent.exists() and not out.parent.is_dir():
            return f"--out {shown}: {out.parent} is a file, not a folder."
        if not out.parent.is_dir():
            return f"--out {shown}: the folder {out.parent} does not exist."
    except OSError as err:  # a name longer than the file system allows, and the like
        return f"--out {shown} cannot be used: {err.strerror or err}."
    if not os.access(out.parent, os.W_OK | os.X_OK):
        return f"--out {shown}: the folder {out.parent} is not writable."
    for source in inputs:
        try:
            same = out.exists() and source.exists() and out.samefile(source)
        except OSError:
            same = False
        if same:
            return f"--out {shown} is an input file ({source}): writing it would destroy it."
    if out.suffix.lower() != ".npz":  # numpy's own loaders, and the checkpoint's name, expect it
        return f"--out {shown}: the output is an .npz archive; give a name ending in .npz."
    if len(out.name.encode("utf-8", "surrogateescape")) > MAX_NAME_BYTES:
        return f"--out {shown}: the file name is longer than {MAX_NAME_BYTES} bytes."
    return None


def load(spec: str) -> LoadedModel:
    """The model named on the command line (ModelLoadError says why not)."""
    from explorer.core.loading import load_model
    from explorer.core.sources import ModelSource

    return load_model(ModelSource.parse(spec))
