"""Each family's tiny checkpoint is built once per session, its loaded model kept too."""

from __future__ import annotations

import threading
from collections.abc import Callable
from pathlib import Path

import pytest

from explorer.core.loading import LoadedModel, load_model
from explorer.core.sources import ModelSource
from tests.families.builders import FAMILY_BY_NAME


def settle_loader_threads() -> None:
    """transformers loads weights in a thread pool it shuts down without waiting; let it end.

    Otherwise the leak check of whichever test first built or loaded a family sees it.
    """
    for thread in threading.enumerate():
        if (
            thread.name.startswith("ThreadPoolExecutor")
            and thread is not threading.current_thread()
        ):
            thread.join(timeout=30)


@pytest.fixture(scope="session")
def family_dir(tmp_path_factory: pytest.TempPathFactory) -> Callable[[str], Path]:
    """``family_dir("GPT-2")``: that family's saved folder, built on first use."""
    built: dict[str, Path] = {}

    def get(name: str) -> Path:
        if name not in built:
            family = FAMILY_BY_NAME[name]
            built[name] = family.build(tmp_path_factory.mktemp(family.model_type))
            settle_loader_threads()
        return built[name]

    return get


@pytest.fixture(scope="session")
def family_model(family_dir: Callable[[str], Path]) -> Callable[[str], LoadedModel]:
    """``family_model("ALBERT")``: that family loaded through load_model, once."""
    loaded: dict[str, LoadedModel] = {}

    def get(name: str) -> LoadedModel:
        if name not in loaded:
            loaded[name] = load_model(ModelSource.parse(str(family_dir(name))))
            settle_loader_threads()
        return loaded[name]

    return get
