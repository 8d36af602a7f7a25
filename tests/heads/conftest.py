"""The heads' tests load many checkpoints: let transformers' loader threads end after each."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.families.conftest import settle_loader_threads


@pytest.fixture(autouse=True)
def _loader_threads_settled(_no_leaked_threads: None) -> Iterator[None]:
    """Torn down before the suite's leak check (which it depends on), so that check passes."""
    yield
    settle_loader_threads()
