"""Keep a test run away from the user's own files, and fail the run if it touched them anyway.

Imported first by ``tests/conftest.py`` (and usable as ``-p tests.settings_guard``). On import
it fingerprints the real settings folder, then points HOME and the XDG folders of this
process at a temporary home: every subprocess a test starts inherits it, so an app started
from a test writes its settings there. At the end of the session the real folder must be
exactly as it was, or the run fails.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import tempfile
from pathlib import Path

import pytest

SETTINGS_FOLDER = "bert-explorer"  # QSettings' organization: ~/.config/bert-explorer/…


def real_settings_folder(environ: os._Environ[str] | dict[str, str] = os.environ) -> Path:
    """Where Qt keeps this app's settings for the user running the tests (ini and native)."""
    config = environ.get("XDG_CONFIG_HOME") or str(Path(environ.get("HOME", "~")) / ".config")
    return Path(config).expanduser() / SETTINGS_FOLDER


def fingerprint(folder: Path) -> dict[str, str]:
    """Relative path → size, mtime and SHA-256 of everything below ``folder`` and itself.

    Empty when the folder does not exist; a folder is listed too, so creating an empty one
    counts as a change, and so does rewriting a file with the same content (its mtime).
    """
    if not folder.is_dir():
        return {}
    prints: dict[str, str] = {}
    for path in [folder, *sorted(folder.rglob("*"))]:
        name = str(path.relative_to(folder))
        if path.is_dir() and not path.is_symlink():
            prints[name] = "folder"
            continue
        stat = path.stat() if path.exists() else path.lstat()  # a dangling link too
        digest = hashlib.sha256(path.read_bytes()).hexdigest() if path.is_file() else "-"
        prints[name] = f"{stat.st_size} bytes, mtime {stat.st_mtime_ns}, sha256 {digest}"
    return prints


def isolate_home() -> Path:
    """Point HOME and the XDG folders at a new temporary home; returns it."""
    home = Path(tempfile.mkdtemp(prefix="explorer-test-home-"))
    os.environ["HOME"] = str(home)
    for name, sub in (
        ("XDG_CONFIG_HOME", ".config"),
        ("XDG_DATA_HOME", ".local/share"),
        ("XDG_CACHE_HOME", ".cache"),
        ("XDG_STATE_HOME", ".local/state"),
    ):
        os.environ[name] = str(home / sub)
    return home


REAL_SETTINGS = real_settings_folder()
_BEFORE = fingerprint(REAL_SETTINGS)
TEST_HOME = isolate_home()


def changed_since_start() -> list[str]:
    """Files of the real settings folder that were added, removed or changed."""
    after = fingerprint(REAL_SETTINGS)
    return sorted(k for k in _BEFORE.keys() | after.keys() if _BEFORE.get(k) != after.get(k))


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    """Fail the whole run when the user's real settings changed during it."""
    changed = changed_since_start()
    shutil.rmtree(TEST_HOME, ignore_errors=True)
    if changed:
        print(
            f"\nThe test run changed the user's real settings in {REAL_SETTINGS}: "
            f"{', '.join(changed)}. Tests must write only below their temporary folders."
        )
        session.exitstatus = pytest.ExitCode.TESTS_FAILED
