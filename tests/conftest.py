"""Shared fixtures: offscreen Qt, offline hub, isolated settings, tiny models, leak checks."""

from __future__ import annotations

import os
import tempfile
import threading
from pathlib import Path

# First of all: a temporary HOME for this process and every subprocess, and a guard that
# fails the run if the user's real settings changed anyway.
from tests.settings_guard import pytest_sessionfinish  # noqa: F401 - a pytest hook, by name

# Before Qt or huggingface_hub are imported anywhere: headless, offline, and an empty HF cache
# so a test never depends on what this machine happened to download.
os.environ["QT_QPA_PLATFORM"] = "offscreen"
os.environ["HF_HUB_OFFLINE"] = "1"
os.environ["TRANSFORMERS_OFFLINE"] = "1"
os.environ["HF_HOME"] = tempfile.mkdtemp(prefix="explorer-hf-home-")
os.environ.pop("HF_HUB_CACHE", None)

import pytest

from explorer.bench.common import TINY_CONFIG
from explorer.bench.common import save_random_bert as _save_random_bert
from explorer.core.loading import LoadedModel, load_model
from explorer.core.sources import ModelSource


def save_random_bert(folder: Path, **config_overrides: object) -> Path:
    """A randomly initialised tiny BERT (4 layers, 4 heads, hidden 32) with the real vocabulary.

    The benchmark's helper does the saving; tests only choose the tiny default sizes.
    """
    return _save_random_bert(folder, **{**TINY_CONFIG, **config_overrides})


@pytest.fixture(scope="session")
def tiny_model_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A 4-layer, 4-head, hidden-32 random BERT folder (fast to load and run)."""
    return save_random_bert(tmp_path_factory.mktemp("tiny-bert"))


@pytest.fixture(scope="session")
def tiny_model(tiny_model_dir: Path) -> LoadedModel:
    """The tiny random BERT, loaded once per session."""
    return load_model(ModelSource.parse(str(tiny_model_dir)))


@pytest.fixture(scope="session")
def embedded_model() -> LoadedModel:
    """The embedded default model (real weights), loaded once per session."""
    return load_model(ModelSource.embedded())


@pytest.fixture(autouse=True)
def _isolated_settings(tmp_path: Path) -> None:
    """Every test writes QSettings into its own folder, never the user's real settings."""
    from PySide6.QtCore import QSettings

    QSettings.setDefaultFormat(QSettings.Format.IniFormat)
    QSettings.setPath(QSettings.Format.IniFormat, QSettings.Scope.UserScope, str(tmp_path))


@pytest.fixture(autouse=True)
def _no_leaked_threads():
    """Fail a test that leaves a worker QThread or a non-daemon Python thread running."""
    before = {t.ident for t in threading.enumerate()}
    yield
    from explorer.gui.worker.model_worker import abandoned_worker_threads, running_worker_threads

    # A window closed mid-forward-pass stops its worker without waiting (the app then exits);
    # here the process goes on, so let that job finish. Any other running thread is a leak.
    for thread in abandoned_worker_threads():
        thread.wait()
    leaked_qthreads = running_worker_threads()
    for thread in leaked_qthreads:  # stop them, or Qt aborts the whole run when they are freed
        thread.quit()
        thread.wait()
    leaked = [
        t for t in threading.enumerate() if t.ident not in before and t.is_alive() and not t.daemon
    ]
    assert not leaked_qthreads, f"worker threads still running: {leaked_qthreads}"
    assert not leaked, f"threads still running: {leaked}"
