"""The run cannot touch the user's settings: HOME is a temporary one, and a guard fails the run."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from tests.settings_guard import (
    REAL_SETTINGS,
    TEST_HOME,
    changed_since_start,
    real_settings_folder,
)

REPO = Path(__file__).resolve().parents[1]


def test_this_process_and_its_children_have_a_temporary_home():
    assert Path(os.environ["HOME"]) == TEST_HOME
    assert real_settings_folder() != REAL_SETTINGS
    assert TEST_HOME in real_settings_folder().parents
    child = subprocess.run(
        [
            sys.executable,
            "-c",
            "import os; print(os.environ['HOME'], os.environ['XDG_CONFIG_HOME'])",
        ],
        capture_output=True,
        text=True,
        timeout=60,
    )
    home, config = child.stdout.split()
    assert Path(home) == TEST_HOME and Path(config).is_relative_to(TEST_HOME)


def test_the_app_settings_never_reach_the_real_folder(qtbot):
    from explorer.gui.state.settings import Settings

    settings = Settings()
    settings.remember_model("/tmp/some-test-model")
    settings.theme = "dark"
    settings.sync()
    assert changed_since_start() == []


def _inner_run(tmp_path: Path, body: str) -> subprocess.CompletedProcess[str]:
    """Run a one-test pytest session with the guard, as if ``tmp_path/home`` were the user's."""
    fake_home = tmp_path / "home"
    target = fake_home / ".config" / "bert-explorer" / "BERT Attention Explorer.ini"
    target.parent.mkdir(parents=True)
    target.write_text("[model]\nsource=embedded\n")
    (tmp_path / "test_inner.py").write_text(
        "import os\nfrom pathlib import Path\n\n\ndef test_inner():\n"
        f"    target = Path({str(target)!r})\n    {body}\n"
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith("XDG_")}
    env.update(HOME=str(fake_home), PYTHONPATH=str(REPO))
    return subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "-q",
            "-p",
            "tests.settings_guard",
            "-p",
            "no:cacheprovider",
            "--rootdir",
            str(tmp_path),
            str(tmp_path / "test_inner.py"),
        ],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_the_guard_fails_a_run_that_changed_the_real_settings(tmp_path):
    done = _inner_run(tmp_path, "target.write_text('[model]\\nsource=/tmp/pytest-of-x/tiny\\n')")
    assert "1 passed" in done.stdout, done.stdout + done.stderr
    assert done.returncode != 0
    assert "changed the user's real settings" in done.stdout


def test_the_guard_passes_a_run_that_left_them_alone(tmp_path):
    done = _inner_run(tmp_path, "assert target.read_text().startswith('[model]')")
    assert done.returncode == 0, done.stdout + done.stderr


def test_the_guard_fails_a_run_that_only_rewrote_them_unchanged(tmp_path):
    done = _inner_run(
        tmp_path,
        "os.utime(target, ns=(0, 0))",  # same bytes, another mtime: still touched
    )
    assert done.returncode != 0, done.stdout + done.stderr
    assert "BERT Attention Explorer.ini" in done.stdout


def test_the_guard_fails_a_run_that_created_the_settings_folder(tmp_path):
    done = _inner_run(tmp_path, "(target.parent / 'more').mkdir()")
    assert done.returncode != 0, done.stdout + done.stderr
    assert "more" in done.stdout


def test_an_app_started_by_a_test_keeps_its_settings_in_the_temporary_home(tmp_path):
    # The inner test starts a child process that stores the app's settings the app's own
    # way; it inherits the inner run's temporary HOME, so the fake real file stays as it was.
    child = (
        "from explorer.gui.state.settings import Settings; s = Settings(); "
        "s.remember_model('/tmp/pytest-of-x/tiny'); s.sync(); "
        "print(s._store.fileName())"
    )
    body = "\n    ".join(
        [
            "import subprocess, sys",
            f"done = subprocess.run([sys.executable, '-c', {child!r}],"
            " capture_output=True, text=True, timeout=120)",
            "assert done.returncode == 0, done.stderr",
            "written = Path(done.stdout.strip())",
            "assert written.is_file() and not written.is_relative_to(target.parents[2])",
            "assert 'tiny' in written.read_text()",
        ]
    )
    done = _inner_run(tmp_path, body)
    assert "1 passed" in done.stdout, done.stdout + done.stderr
    assert done.returncode == 0, done.stdout + done.stderr
    assert (tmp_path / "home/.config/bert-explorer/BERT Attention Explorer.ini").read_text() == (
        "[model]\nsource=embedded\n"
    )
