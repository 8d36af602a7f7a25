"""Write a file whole or not at all: a temporary file beside it, renamed into place."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import IO, TypeVar

T = TypeVar("T")


def replace_atomically(path: Path, write: Callable[[IO[bytes]], T]) -> T:
    """Let ``write`` fill a temporary file beside ``path``, then rename it over ``path``.

    A failed write (a full disk, Ctrl-C) leaves the earlier file as it was and no partial one.
    A symbolic link is written through, to its target, not replaced by a file; a device, pipe
    or socket is refused, since renaming over one would replace it (as root, ``/dev/null``).
    """
    if path.is_symlink():
        path = path.resolve()
    if path.exists() and not path.is_file():
        raise OSError(f"{path} is not a regular file (a device, a pipe …); give a file name")
    temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        with temporary.open("wb") as handle:
            written = write(handle)
        os.replace(temporary, path)
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise
    return written
