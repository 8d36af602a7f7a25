"""Name → on-demand analysis, run by the worker thread and cached per result.

A function receives the LoadedModel (for analyses that need weights; None when run on a saved
result), the InferenceResult and a dict of parameters, and returns a payload made of numpy
arrays, numbers, strings or frozen dataclasses of those (never torch tensors).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from explorer.core.errors import ExplorerError
from explorer.core.results import InferenceResult

AnalysisFunction = Callable[[Any, InferenceResult, Mapping[str, Any]], Any]

ANALYSES: dict[str, AnalysisFunction] = {}
MODEL_LEVEL: set[str] = set()  # analyses that need the model but no result (result is None)


def register(
    name: str, *, needs_result: bool = True
) -> Callable[[AnalysisFunction], AnalysisFunction]:
    """Decorator: make ``name`` available to the GUI and the worker.

    ``needs_result=False`` marks analyses of the model alone (a vocabulary look-up), which
    may run before any sentence has.
    """

    def add(function: AnalysisFunction) -> AnalysisFunction:
        ANALYSES[name] = function
        if not needs_result:
            MODEL_LEVEL.add(name)
        return function

    return add


def needs_result(name: str) -> bool:
    """False for analyses of the model alone."""
    import explorer.core.analysis.builtin  # noqa: F401 - registers the shipped analyses

    return name not in MODEL_LEVEL


class UnknownAnalysisError(ExplorerError):
    """The GUI asked for an analysis no module registered."""


def run_analysis(name: str, loaded: Any, result: InferenceResult, params: Mapping[str, Any]) -> Any:
    """Run one registered analysis."""
    import explorer.core.analysis.builtin  # noqa: F401 - registers the shipped analyses

    try:
        function = ANALYSES[name]
    except KeyError as err:
        raise UnknownAnalysisError(f"There is no analysis called '{name}'.") from err
    return function(loaded, result, params)
