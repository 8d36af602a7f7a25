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
    """Relative path → SHA-256 of every file below ``folder`` (empty when it does not exist)."""
    if not folder.is_dir():
        return {}
    return {
        str(path.relative_to(folder)): hashlib.sha256(path.read_bytes()).hexdigest()
        for path in sorted(folder.rglob("*"))
        if path.is_file()
    }


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
