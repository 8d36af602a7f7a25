"""Progress of a long computation, reported to whoever runs it on this thread.

The worker runs an analysis inside ``reporting_progress`` and turns each report into a
signal; a script runs it without and nothing is reported. The computation calls
``report_progress(done, total)`` and knows nothing of either.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager

Reporter = Callable[[int, int], None]
"""(steps done, steps in all)."""

_local = threading.local()


@contextmanager
def reporting_progress(reporter: Reporter) -> Iterator[None]:
    """Progress reported on this thread during the block goes to ``reporter``."""
    previous = getattr(_local, "reporter", None)
    _local.reporter = reporter
    try:
        yield
    finally:
        _local.reporter = previous


def report_progress(done: int, total: int) -> None:
    """Tell this thread's reporter (if any) how far the computation is."""
    reporter = getattr(_local, "reporter", None)
    if reporter is not None:
        reporter(done, total)
